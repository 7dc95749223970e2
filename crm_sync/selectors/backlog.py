"""The business view of the sync: work that should have moved on to the next system but has
not (UI.md, Integrations). Each figure is one aggregate query; each list a plain queryset
that the list pages page through and export.

- deals won in the CRM that have no project yet;
- approved billable time on time-billed contracts (billing.selectors.unbilled's rule) with
  no live billing link, leaving out what finance held back on purpose;
- issued invoices and credit notes the ERP connection has no id for;
- contract, change order and client events a connector has not delivered (open or dead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from billing.models import BilledItem, HeldItem, Invoice
from billing.selectors.unbilled import TIME_BILLED_MODELS
from crm_sync.connectors import CONNECTOR_CLASSES
from crm_sync.models import Connection, Deal
from psa.models import Delivery, ExternalRef, TimeEntry

ZERO_HOURS = Decimal("0.00")
CHANGE_EVENT_PREFIXES = ("contract.", "change_order.", "client.")
BACKLOG_KINDS = ("deals", "time", "invoices", "changes")


def erp_connection() -> Connection | None:
    """The enabled QuickBooks connection (the ERP whose ids invoices get), if any."""
    return (Connection.objects.filter(vendor=Connection.Vendor.QUICKBOOKS, enabled=True)
            .order_by("pk").first())


def connector_subscriber_q() -> Q:
    """Deliveries to a connector's push subscriber (`<vendor>.<event type>`)."""
    q = Q(pk__in=[])
    for vendor in CONNECTOR_CLASSES:
        q |= Q(subscriber__startswith=f"{vendor}.")
    return q


def deals_won_unprojected(*, won_before: datetime | None = None) -> QuerySet[Deal]:
    """Won deals with no project yet, oldest win first."""
    deals = Deal.objects.filter(won_at__isnull=False, project__isnull=True)
    if won_before is not None:
        deals = deals.filter(won_at__lte=won_before)
    return deals.select_related("connection", "client").order_by("won_at", "pk")


def time_approved_unbilled() -> QuerySet[TimeEntry]:
    """Approved billable time on time-billed contracts with no live billing link, not held."""
    live = BilledItem.objects.filter(time_entry=OuterRef("pk"), is_live=True)
    held = HeldItem.objects.filter(time_entry=OuterRef("pk"))
    return (TimeEntry.objects
            .filter(status=TimeEntry.Status.APPROVED, is_billable=True,
                    project__contract__billing_model__in=TIME_BILLED_MODELS)
            .exclude(Exists(live)).exclude(Exists(held))
            .select_related("person", "project")
            .order_by("work_date", "pk"))


def invoices_not_in_erp(*, system: str, issued_before: datetime | None = None
                        ) -> QuerySet[Invoice]:
    """Issued invoices and credit notes that `system` (a connection name) has no id for."""
    refs = ExternalRef.objects.filter(content_type=ContentType.objects.get_for_model(Invoice),
                                      object_id=OuterRef("pk"), system=system)
    invoices = Invoice.objects.filter(status__in=Invoice.ISSUED_STATES).exclude(Exists(refs))
    if issued_before is not None:
        invoices = invoices.filter(issued_at__lte=issued_before)
    return (invoices.select_related("client", "legal_entity")
            .order_by("issued_at", "pk"))


def changes_unpropagated() -> QuerySet[Delivery]:
    """Contract, change order and client events a connector has not delivered (open or dead)."""
    by_type = Q(pk__in=[])
    for prefix in CHANGE_EVENT_PREFIXES:
        by_type |= Q(event__type__startswith=prefix)
    return (Delivery.objects
            .filter(connector_subscriber_q(), by_type,
                    state__in=(*Delivery.OPEN_STATES, Delivery.State.DEAD))
            .select_related("event").order_by("created_at", "pk"))


@dataclass(frozen=True)
class BacklogFigures:
    """The four business figures; `erp_name` is None when no ERP connection is enabled."""

    deals_won_unprojected: int
    unbilled_time_count: int
    unbilled_time_hours: Decimal
    erp_name: str | None
    invoices_not_in_erp: int | None
    changes_unpropagated: int


def backlog_figures(*, erp: Connection | None) -> BacklogFigures:
    """The business view's figures: four aggregate queries whatever the number of rows."""
    time = time_approved_unbilled().order_by().aggregate(count=Count("pk"), hours=Sum("hours"))
    missing = (invoices_not_in_erp(system=erp.name).order_by().count()
               if erp is not None else None)
    return BacklogFigures(
        deals_won_unprojected=deals_won_unprojected().order_by().count(),
        unbilled_time_count=time["count"],
        unbilled_time_hours=time["hours"] or ZERO_HOURS,
        erp_name=erp.name if erp is not None else None,
        invoices_not_in_erp=missing,
        changes_unpropagated=changes_unpropagated().order_by().count(),
    )
