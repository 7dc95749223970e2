"""Re-rating approved time: new frozen bill rates, as one audited action (DOMAIN.md).

Billing decides which entries are unbilled and what their new rates are (it owns the invoice
links, and psa imports no other app); this service owns the write to `TimeEntry`.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from auditlog.cid import get_cid
from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from psa.common.money import quantize_rate
from psa.errors import TimeEntryValidationError
from psa.models import TimeEntry
from psa.services.periods import closed_months
from psa.services.time_rules import period_closed_error

RERATE_SOURCE = "rerate"
BATCH_SIZE = 500


def _closed_by_entity(entries: QuerySet[TimeEntry]) -> dict[int, set[date]]:
    """Closed months per legal entity over the entries' date range (one query per entity)."""
    spans = (entries.order_by().values("project__legal_entity_id")
             .annotate(first=Min("work_date"), last=Max("work_date")))
    return {span["project__legal_entity_id"]: closed_months(
        legal_entity_id=span["project__legal_entity_id"], start=span["first"],
        end=span["last"]) for span in spans}


@transaction.atomic
def time_entries_rerate(*, entries: QuerySet[TimeEntry], actor: User,
                        rates: Mapping[int, Decimal]) -> int:
    """Set a new frozen bill rate on each approved, billable entry of `entries` found in
    `rates` (entry id -> hourly rate); returns how many entries changed.

    The rows are locked; entries in another status, not billable, not in `rates` or already
    at the rate are left alone. Each change gets `rate_source = "rerate"` and an audit-trail
    entry by `actor` with the old and new rate. Raises TimeEntryValidationError for a
    negative rate and PeriodClosedError when an entry to change is dated in a closed month
    (nothing is written then).
    """
    candidates = entries.filter(status=TimeEntry.Status.APPROVED, is_billable=True)
    closed = _closed_by_entity(candidates)
    locked = (candidates.select_for_update(of=("self",)).select_related("project")
              .order_by("pk"))
    changed: list[tuple[TimeEntry, Decimal | None, str]] = []
    for entry in locked.iterator(chunk_size=2000):
        new_rate = rates.get(entry.pk)
        if new_rate is None:
            continue
        new_rate = quantize_rate(new_rate)
        if new_rate == entry.bill_rate:
            continue
        if new_rate < 0:
            raise TimeEntryValidationError(f"A bill rate cannot be negative ({new_rate}).",
                                           attr="rates")
        if entry.work_date.replace(day=1) in closed.get(entry.project.legal_entity_id, ()):
            raise period_closed_error(entry.work_date)
        changed.append((entry, entry.bill_rate, entry.rate_source))
        entry.bill_rate, entry.rate_source = new_rate, RERATE_SOURCE
    if not changed:
        return 0

    now = timezone.now()
    rows = [entry for entry, _, _ in changed]
    for entry in rows:
        entry.updated_at = now
    TimeEntry.objects.bulk_update(rows, ["bill_rate", "rate_source", "updated_at"],
                                  batch_size=BATCH_SIZE)
    # bulk_update sends no signals, so the audit trail is written here, once per entry.
    content_type = ContentType.objects.get_for_model(TimeEntry)
    cid = get_cid()
    LogEntry.objects.bulk_create([
        LogEntry(content_type=content_type, object_pk=str(entry.pk), object_id=entry.pk,
                 object_repr=str(entry), action=LogEntry.Action.UPDATE, actor=actor,
                 actor_email=actor.email or None, timestamp=now, cid=cid,
                 changes={"bill_rate": [str(old_rate), str(entry.bill_rate)],
                          "rate_source": [old_source, RERATE_SOURCE]})
        for entry, old_rate, old_source in changed], batch_size=BATCH_SIZE)
    return len(changed)
