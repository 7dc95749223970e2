"""The Submit week summary: hours per day and project, and what would be submitted."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum

from psa.models import Person, TimeEntry
from psa.selectors.timesheet.cells import ZERO
from psa.selectors.timesheet.parsing import day_label


@dataclass(frozen=True)
class SummaryLine:
    """Hours of one project per day of the week, for the Submit week summary."""

    project_label: str
    hours: list[Decimal]
    total: Decimal


@dataclass(frozen=True)
class WeekSummary:
    week_start: date
    days: list[date]
    lines: list[SummaryLine]
    day_totals: list[Decimal]
    total: Decimal
    to_submit: int  # drafts and rejected entries that Submit week submits
    to_submit_hours: Decimal
    status_counts: dict[str, int]

    @property
    def day_labels(self) -> list[str]:
        return [day_label(d) for d in self.days]


def timesheet_summary(*, person: Person, week_start: date) -> WeekSummary:
    """Hours per day and project of the person's week, and what Submit week would submit."""
    days = [week_start + timedelta(days=i) for i in range(7)]
    rows = (TimeEntry.objects.filter(person=person, work_date__range=(days[0], days[-1]))
            .values("project__code", "project__name", "work_date", "status")
            .annotate(total=Sum("hours"), count=Count("id"))
            .order_by("project__code"))
    per_project: dict[str, list[Decimal]] = {}
    status_counts: dict[str, int] = defaultdict(int)
    to_submit_hours = ZERO
    for row in rows:
        label = f"{row['project__code']} {row['project__name']}"
        hours = per_project.setdefault(label, [ZERO] * 7)
        hours[(row["work_date"] - week_start).days] += row["total"]
        status_counts[row["status"]] += row["count"]
        if row["status"] in TimeEntry.EDITABLE_STATES:
            to_submit_hours += row["total"]
    lines = [SummaryLine(project_label=label, hours=hours, total=sum(hours, ZERO))
             for label, hours in per_project.items()]
    day_totals = [sum((line.hours[i] for line in lines), ZERO) for i in range(7)]
    return WeekSummary(
        week_start=week_start, days=days, lines=lines, day_totals=day_totals,
        total=sum(day_totals, ZERO),
        to_submit=sum(status_counts.get(s, 0) for s in TimeEntry.EDITABLE_STATES),
        to_submit_hours=to_submit_hours, status_counts=dict(status_counts))
