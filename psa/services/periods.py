"""Period locks: nothing may be created, changed or deleted dated in a closed month."""

from datetime import date

from psa.common.errors import PeriodClosedError
from psa.models import Period


def period_ensure_open(*, legal_entity_id: int, on: date) -> None:
    """Raise PeriodClosedError when the month of `on` is closed for the legal entity.

    A month with no Period row is open: periods are created as the calendar reaches them.
    """
    month = on.replace(day=1)
    if Period.objects.filter(legal_entity_id=legal_entity_id, month=month,
                             status=Period.Status.CLOSED).exists():
        raise PeriodClosedError(
            f"{on:%B %Y} is closed for this legal entity: nothing dated in it can be created, "
            f"changed or deleted. Ask finance to reopen the period if a correction is needed.",
            attr="date")


def closed_months(*, legal_entity_id: int, start: date, end: date) -> set[date]:
    """The first days of the closed months between `start` and `end` (one query)."""
    return set(Period.objects.filter(
        legal_entity_id=legal_entity_id, status=Period.Status.CLOSED,
        month__gte=start.replace(day=1), month__lte=end).values_list("month", flat=True))
