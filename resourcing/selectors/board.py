"""The staffing board's reads: people down the side, 12 weeks across, booked hours vs capacity.

A fixed number of queries whatever the number of people: the filtered people (count + page, or
one query when filtering by availability), their time off (one query, in
`resourcing.selectors.capacity.weekly_capacity`) and their assignments overlapping the weeks
(one query, `weekly_allocation`: `hours_per_week * overlapping weekdays / 5`, hard and soft
apart).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet

from psa.models import Person
from psa.rules import UserLike, visible
from resourcing.models import Assignment, PersonSkill
from resourcing.selectors.capacity import Allocation, weekly_allocation, weekly_capacity

WEEKS = 12
PAGE_SIZE = 100
ZERO = Decimal("0.00")
HOURS = Decimal("0.01")
FULL_FROM = Decimal("0.90")  # booked ÷ capacity from which a week counts as full


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def board_weeks(start: date, count: int = WEEKS) -> list[date]:
    """`count` Mondays from the week holding `start`."""
    first = monday_of(start)
    return [first + timedelta(weeks=i) for i in range(count)]


@dataclass(frozen=True)
class Cell:
    """One person-week: capacity and booked hours, with the text and state the board shows."""

    week: date
    capacity: Decimal
    hard: Decimal
    soft: Decimal

    @property
    def booked(self) -> Decimal:
        return self.hard + self.soft

    @property
    def free(self) -> Decimal:
        return max(ZERO, self.capacity - self.booked)

    @property
    def state(self) -> str:
        """off (no capacity, nothing booked), under, full or over (booked beyond capacity)."""
        if self.booked > self.capacity:
            return "over"
        if self.capacity == ZERO:
            return "off"
        if self.booked >= self.capacity * FULL_FROM:
            return "full"
        return "under"

    @property
    def state_label(self) -> str:
        return {"off": "no capacity", "under": "under-booked", "full": "full",
                "over": "over-booked"}[self.state]

    @property
    def label(self) -> str:
        """"32 h + 8 soft / 40" (soft part only when there is one)."""
        text = f"{_h(self.hard)} h"
        if self.soft:
            text += f" + {_h(self.soft)} soft"
        return f"{text} / {_h(self.capacity)}"

    def _pct(self, hours: Decimal) -> int:
        scale = max(self.capacity, self.booked)
        return int((hours / scale * 100).quantize(Decimal("1"))) if scale else 0

    @property
    def hard_pct(self) -> int:
        return self._pct(self.hard)

    @property
    def soft_pct(self) -> int:
        return min(100 - self.hard_pct, self._pct(self.soft))


def _h(hours: Decimal) -> str:
    """Hours without trailing zeros: 32, 7.5, 7.25."""
    text = f"{hours.quantize(HOURS):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class BoardRow:
    person: Person
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Board:
    weeks: list[date]
    rows: list[BoardRow]
    page: Page


def team_managers(*, user: UserLike) -> QuerySet[Person]:
    """The people with at least one active report that `user` may see, for the team filter."""
    has_reports = Exists(Person.objects.active().filter(manager=OuterRef("pk")))
    return visible(Person.objects.filter(has_reports), user, "psa.view_person").order_by(
        "last_name", "first_name", "pk")


def board_people(*, role_id: int | None = None, skill_id: int | None = None,
                 min_level: int | None = None, country: str = "",
                 manager_id: int | None = None) -> QuerySet[Person]:
    """Active people matching the board's filters, with their role, in name order; with
    `manager_id`, only that person's direct reports (the team)."""
    people = Person.objects.active().select_related("role")
    if role_id:
        people = people.filter(role_id=role_id)
    if manager_id:
        people = people.filter(manager_id=manager_id)
    if country:
        people = people.filter(country=country.upper())
    if skill_id:
        people = people.filter(Q(pk__in=PersonSkill.objects.filter(
            skill_id=skill_id, level__gte=min_level or 1).values("person_id")))
    return people.order_by("last_name", "first_name", "pk")


def _cells(people: Sequence[Person], weeks: Sequence[date]) -> list[BoardRow]:
    capacity = weekly_capacity(people=people, weeks=weeks)
    allocation = weekly_allocation(person_ids=[p.pk for p in people], start=weeks[0],
                                   end=weeks[-1] + timedelta(days=6))
    rows = []
    for person in people:
        booked = allocation.get(person.pk, {})
        rows.append(BoardRow(person=person, cells=[
            Cell(week=week, capacity=capacity[person.pk][week],
                 hard=booked.get(week, Allocation()).hard,
                 soft=booked.get(week, Allocation()).soft)
            for week in weeks]))
    return rows


def staffing_board(*, start: date, role_id: int | None = None, skill_id: int | None = None,
                   min_level: int | None = None, country: str = "", available: bool = False,
                   manager_id: int | None = None, page_number: object = 1,
                   page_size: int = PAGE_SIZE, week_count: int = WEEKS) -> Board:
    """One page of the board; `manager_id` keeps that person's team (direct reports). With
    `available`, only people with free hours in some week of the range (computed over every
    filtered person, still a fixed number of queries)."""
    weeks = board_weeks(start, week_count)
    people = board_people(role_id=role_id, skill_id=skill_id, min_level=min_level,
                          country=country, manager_id=manager_id)
    if available:
        rows = [row for row in _cells(list(people), weeks)
                if any(cell.free > ZERO for cell in row.cells)]
        page = Paginator(rows, page_size).get_page(page_number)
        return Board(weeks=weeks, rows=list(page.object_list), page=page)
    page = Paginator(people, page_size).get_page(page_number)
    return Board(weeks=weeks, rows=_cells(list(page.object_list), weeks), page=page)


def person_week_assignments(*, person: Person, week: date) -> QuerySet[Assignment]:
    """The assignments of `person` overlapping the Monday-to-Sunday week starting `week`."""
    return (Assignment.objects.filter(person=person, start_date__lte=week + timedelta(days=6),
                                      end_date__gte=week)
            .select_related("project", "role", "request").order_by("start_date", "pk"))
