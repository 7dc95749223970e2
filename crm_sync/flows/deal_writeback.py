"""What the CRM learns back about a won deal: its project's state and its contract's billing.

Each function answers the properties to write to the deal that created the project or
contract, or None when the row did not come from a deal of this connection (then nothing is
sent). The values are recomputed from the database every time, so writing them is naturally
idempotent: a retried or repeated event writes the same values again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from billing.models import Invoice
from crm_sync.models import Connection, Deal
from psa.common.money import column_sum
from psa.models import Project, TimeEntry

# The deal properties this application owns in the CRM; inbound changes of only these are
# our own writes coming back, never news.
PROJECT_PROPERTIES = ("psa_project_id", "psa_project_code", "psa_project_status",
                      "psa_project_health")
BILLING_PROPERTIES = ("psa_invoiced_total", "psa_paid_total", "psa_invoice_status")
WRITEBACK_PROPERTIES = frozenset(PROJECT_PROPERTIES + BILLING_PROPERTIES)
# Time that counts against the budget: approved, and what approval led to.
CONSUMED_STATES = (TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED,
                   TimeEntry.Status.WRITTEN_OFF)


@dataclass(frozen=True)
class DealWrite:
    """Properties to set on one CRM deal."""

    deal_external_id: str
    properties: dict[str, str]


def project_writeback(*, connection: Connection, project_id: int) -> DealWrite | None:
    """The project's id, code, status and health for the deal that created it.

    Health is "at_risk" once the approved hours exceed the budget hours, else "on_track".
    """
    deal = (Deal.objects.filter(connection=connection, project_id=project_id)
            .select_related("project").first())
    if deal is None:
        return None
    project: Project = deal.project
    approved = column_sum(
        TimeEntry.objects.filter(project=project, status__in=CONSUMED_STATES)
        .aggregate(hours=Sum("hours"))["hours"])
    health = "at_risk" if approved > project.budget_hours else "on_track"
    return DealWrite(deal.external_id, {
        "psa_project_id": str(project.pk), "psa_project_code": project.code,
        "psa_project_status": project.status, "psa_project_health": health})


def billing_writeback(*, connection: Connection, contract_id: int) -> DealWrite | None:
    """Invoiced (issued invoices less issued credit notes) and paid totals of the deal's
    contract, with a status: "not_invoiced", "open", "partially_paid", "paid" or
    "credited" (everything invoiced was credited)."""
    deal = Deal.objects.filter(connection=connection, contract_id=contract_id).first()
    if deal is None:
        return None
    sums = (Invoice.objects.filter(contract_id=contract_id, status__in=Invoice.ISSUED_STATES)
            .aggregate(invoiced=Sum("total", filter=Q(kind=Invoice.Kind.INVOICE)),
                       credited=Sum("total", filter=Q(kind=Invoice.Kind.CREDIT_NOTE)),
                       paid=Sum("amount_paid", filter=Q(kind=Invoice.Kind.INVOICE))))
    invoiced, credited, paid = (column_sum(sums[key]) for key in ("invoiced", "credited",
                                                                    "paid"))
    net = invoiced - credited
    return DealWrite(deal.external_id, {
        "psa_invoiced_total": str(net), "psa_paid_total": str(paid),
        "psa_invoice_status": _status(invoiced, net, paid)})


def _status(invoiced: Decimal, net: Decimal, paid: Decimal) -> str:
    if invoiced <= 0:
        return "not_invoiced"
    if net <= 0:
        return "credited"
    if paid >= net:
        return "paid"
    return "partially_paid" if paid > 0 else "open"


def contract_of_invoice(invoice_id: int | None) -> int | None:
    """The contract an invoice (or credit note) bills; None for a consolidated invoice."""
    if invoice_id is None:
        return None
    return (Invoice.objects.filter(pk=invoice_id).values_list("contract_id", flat=True)
            .first())
