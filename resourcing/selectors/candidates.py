"""Candidate ranking for a resource request (DOMAIN.md, Staffing).

Every active person who holds all the request's required skills is scored on six factors, each
a number from 0 to 1 kept on the `Candidate` (with the facts behind it) so the page and the API
can show why someone ranks where they do:

- skills: for each required skill the person's CONFIRMED level against the minimum; the factor
  is the mean of `min(level ÷ minimum, 1)`. A person without a confirmed level in a required
  skill, or without a certification of that skill valid on the request's start date where the
  request requires one, does not match and is EXCLUDED (never listed with a zero). No required
  skills: 1.
- availability: the share of the requested hours the person has free over the requested weeks
  after HARD bookings. Per week (weeks touching start..end, as `resourcing.selectors.capacity`):
  requested = `hours_per_week x request weekdays in the week ÷ 5`, free = `min(requested,
  max(0, capacity - hard allocation))`; availability = Σ free ÷ Σ requested. Soft bookings do
  not count (they are pencilled in).
- role fit: the person's role level equals the request's role level: 1; one level above or
  below: 0.5; otherwise 0.
- cost: the margin at the request's bill rate given the person's cost rate in force on the
  start date, `(rate - cost) ÷ rate`, clamped to 0..1 for the score. `margin` is None (score 0)
  when either rate is missing, the rate is zero or the currencies differ.
- utilization gap: billable utilization over the 4 weeks (28 days) before `today` = approved
  billable hours (approved, invoiced or written off) ÷ capacity; gap = target - actual in
  percentage points, clamped to 0..target; the factor is gap ÷ 100. A person with no capacity
  in that window (a new hire) counts as 0 % utilized.
- location: 1 when the request names no country, the person's country matches, or remote work
  is allowed; otherwise 0.

score = Σ WEIGHTS[factor] x factor value (WEIGHTS sum to 1, so the score is 0..1), rounded to 4
places; ties are broken by the person's name (last name, first name, then id).

Set-based: at most 7 queries whatever the number of people (request skills, people with their
cost rate on the start date, confirmed levels, valid certificates (only when one is required),
time off for the requested weeks and for the utilization window (psa's
`capacity_by_week_for_people`, one each), hard assignments, billable hours). bench/ranking.py:
~240 ms for 2,000.
"""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from psa.models import CostRate, Person, TimeEntry
from psa.selectors.calendar import capacity_by_week_for_people
from resourcing.models import Certification, PersonSkill, RequestSkill, ResourceRequest
from resourcing.selectors.capacity import (
    hours_in_week,
    weekly_allocation,
    weeks_between,
)

WEIGHTS: dict[str, Decimal] = {
    "skills": Decimal("0.30"),
    "availability": Decimal("0.30"),
    "role_fit": Decimal("0.15"),
    "cost": Decimal("0.10"),
    "utilization_gap": Decimal("0.10"),
    "location": Decimal("0.05"),
}
UTILIZATION_WINDOW_DAYS = 28
# Time counts as actual once approved, and stays so when billed or written off.
ACTUAL_STATES = (TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED,
                 TimeEntry.Status.WRITTEN_OFF)
ZERO = Decimal("0")
ONE = Decimal("1")
HUNDRED = Decimal("100")
SHARE = Decimal("0.0001")
HOURS = Decimal("0.01")
PERCENT = Decimal("0.01")


@dataclass(frozen=True)
class SkillMatch:
    """One required skill against the person's confirmed level (and certificate, if needed)."""

    skill_id: int
    skill_name: str
    min_level: int
    level: int
    requires_certification: bool
    certification: str = ""  # the valid certificate's name, where one is required

    @property
    def meets_minimum(self) -> bool:
        return self.level >= self.min_level


@dataclass(frozen=True)
class Candidate:
    """A person ranked for a request: each factor's value (0..1), its facts, and the score."""

    person_id: int
    name: str
    role_id: int
    role_name: str
    role_level: int
    country: str
    skills: Decimal
    skill_matches: list[SkillMatch]
    availability: Decimal
    requested_hours: Decimal
    free_hours: Decimal
    role_fit: Decimal
    cost_rate: Decimal | None
    cost_currency: str
    margin: Decimal | None
    cost: Decimal
    utilization_target: Decimal
    utilization_actual: Decimal
    utilization_gap: Decimal
    location: Decimal
    score: Decimal
    factors: dict[str, Decimal] = field(default_factory=dict)

    @property
    def utilization_gap_value(self) -> Decimal:
        """The utilization gap factor (0..1), as `utilization_gap` is in percentage points."""
        return self.factors["utilization_gap"]


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(SHARE) if whole else ZERO


def _clamp(value: Decimal) -> Decimal:
    return min(ONE, max(ZERO, value))


_ROW_FIELDS = ("pk", "first_name", "last_name", "country", "hire_date", "termination_date",
               "weekly_standard_hours", "utilization_target", "role_id", "role__name",
               "role__level", "cost_amount", "cost_currency")


class _Row:
    """The facts of one person the ranking needs (a light stand-in for Person)."""

    __slots__ = _ROW_FIELDS

    def __init__(self, *values: object) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def is_employed_on(self, day: date) -> bool:
        """As `Person.is_employed_on`, so psa's calendar can read a row as a person."""
        return self.hire_date <= day and (self.termination_date is None
                                          or day <= self.termination_date)


def _people(request: ResourceRequest, required: list[RequestSkill],
            exclude_ids: Collection[int]):
    """Active people with a confirmed level in every required skill, in one query.

    Required certificates are checked afterwards from the certificates fetched for the factor
    (an EXISTS on certifications makes SQLite scan them by skill for every person).
    """
    start = request.start_date
    people = (Person.objects.active()
              .filter(hire_date__lte=request.end_date)
              .filter(Q(termination_date__isnull=True) | Q(termination_date__gte=start))
              .exclude(pk__in=list(exclude_ids)))
    for item in required:
        people = people.filter(Exists(PersonSkill.objects.filter(
            person=OuterRef("pk"), skill_id=item.skill_id,
            status=PersonSkill.Status.CONFIRMED)))
    return people


def _valid_certificates(on: date):
    return Certification.objects.filter(Q(expires_date__isnull=True) | Q(expires_date__gte=on),
                                        issued_date__lte=on)


def candidates_for_request(*, request: ResourceRequest, exclude_ids: Collection[int] = (),
                           limit: int = 50, today: date | None = None) -> list[Candidate]:
    """The best `limit` candidates for `request`, best first (see the module docstring)."""
    today = today or timezone.localdate()
    required = list(RequestSkill.objects.filter(request=request).select_related("skill")
                    .order_by("skill__name"))
    people_qs = _people(request, required, exclude_ids)
    cost = CostRate.objects.filter(person=OuterRef("pk"), effective_from__lte=request.start_date
                                   ).order_by("-effective_from")
    # Plain rows, not model instances: 2,000 deferred Person objects cost more than the SQL.
    people = [_Row(*row) for row in people_qs.order_by().annotate(
        cost_amount=Subquery(cost.values("hourly_cost")[:1]),
        cost_currency=Subquery(cost.values("currency")[:1])).values_list(*_ROW_FIELDS)]
    if not people:
        return []
    by_id = {person.pk: person for person in people}
    # The follow-up queries filter on active people by a join, not on 2,000 ids or a repeat of
    # the people query (SQLite re-runs a correlated IN subquery per row); strays are dropped.
    active = {"person__employment_status": Person.EmploymentStatus.ACTIVE}

    levels: dict[int, dict[int, int]] = defaultdict(dict)
    for person_id, skill_id, level in (PersonSkill.objects.filter(
            skill_id__in=[r.skill_id for r in required], status=PersonSkill.Status.CONFIRMED,
            **active).order_by().values_list("person_id", "skill_id", "level")):
        levels[person_id][skill_id] = level
    certified: dict[tuple[int, int], str] = {}
    certified_skills = [r.skill_id for r in required if r.requires_certification]
    if certified_skills:
        for person_id, skill_id, name in (_valid_certificates(request.start_date).filter(
                skill_id__in=certified_skills, **active).order_by("name")
                .values_list("person_id", "skill_id", "name")):
            certified.setdefault((person_id, skill_id), name)

    weeks = weeks_between(request.start_date, request.end_date)
    requested = {week: hours_in_week(request.hours_per_week, week, request.start_date,
                                     request.end_date) for week in weeks}
    requested_total = sum(requested.values(), ZERO)
    window_start = today - timedelta(days=UTILIZATION_WINDOW_DAYS)
    window_end = today - timedelta(days=1)
    capacity = capacity_by_week_for_people(people=people, weeks=weeks)
    window_capacity = {pid: sum(per_week.values(), ZERO) for pid, per_week in
                       capacity_by_week_for_people(
                           people=people, weeks=weeks_between(window_start, window_end),
                           start=window_start, end=window_end).items()}
    allocation = weekly_allocation(person_ids=list(by_id), start=request.start_date,
                                   end=request.end_date)
    billable = dict(TimeEntry.objects.filter(
        is_billable=True, status__in=ACTUAL_STATES, work_date__gte=window_start,
        work_date__lte=window_end, **active).order_by()
        .values("person_id").annotate(hours=Sum("hours")).values_list("person_id", "hours"))

    role_level = request.role.level
    candidates = []
    for person in people:
        if any((person.pk, skill_id) not in certified for skill_id in certified_skills):
            continue  # a required certificate missing or not valid on the start date
        matches = [SkillMatch(skill_id=r.skill_id, skill_name=r.skill.name,
                              min_level=r.min_level, level=levels[person.pk][r.skill_id],
                              requires_certification=r.requires_certification,
                              certification=certified.get((person.pk, r.skill_id), ""))
                   for r in required]
        skills = (_share(sum((min(ONE, Decimal(m.level) / m.min_level) for m in matches), ZERO),
                         Decimal(len(matches))) if matches else ONE)

        weeks_free = ZERO
        for week in weeks:
            free = capacity[person.pk][week] - allocation[person.pk][week].hard
            weeks_free += min(requested[week], max(ZERO, free))
        availability = _share(weeks_free, requested_total)

        distance = abs(person.role__level - role_level)
        role_fit = ONE if distance == 0 else Decimal("0.5") if distance == 1 else ZERO

        margin = None
        if (person.cost_amount is not None and request.bill_rate
                and person.cost_currency == request.currency):
            margin = ((request.bill_rate - person.cost_amount) / request.bill_rate).quantize(SHARE)
        cost = _clamp(margin) if margin is not None else ZERO

        hours = billable.get(person.pk) or ZERO
        window = window_capacity.get(person.pk, ZERO)
        actual = (hours / window * HUNDRED).quantize(PERCENT) if window else ZERO
        gap = min(person.utilization_target, max(ZERO, person.utilization_target - actual))
        utilization = (gap / HUNDRED).quantize(SHARE)

        location = ONE if (not request.country or request.remote_ok
                           or person.country == request.country) else ZERO

        factors = {"skills": skills, "availability": availability, "role_fit": role_fit,
                   "cost": cost, "utilization_gap": utilization, "location": location}
        score = sum((WEIGHTS[name] * value for name, value in factors.items()), ZERO)
        candidates.append(((-score, person.last_name, person.first_name, person.pk), Candidate(
            person_id=person.pk, name=person.full_name, role_id=person.role_id,
            role_name=person.role__name, role_level=person.role__level, country=person.country,
            skills=skills, skill_matches=matches, availability=availability,
            requested_hours=requested_total.quantize(HOURS), free_hours=weeks_free.quantize(HOURS),
            role_fit=role_fit, cost_rate=person.cost_amount,
            cost_currency=person.cost_currency or "", margin=margin, cost=cost,
            utilization_target=person.utilization_target, utilization_actual=actual,
            utilization_gap=gap.quantize(PERCENT), location=location,
            score=score.quantize(SHARE), factors=factors)))
    candidates.sort(key=lambda pair: pair[0])
    return [candidate for _, candidate in candidates[:max(0, limit)]]
