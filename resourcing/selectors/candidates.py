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

Set-based: 6 queries whatever the number of people (request skills; people with their cost
rate, confirmed levels and valid certificates; time off for the requested weeks and for the
utilization window, one each; hard assignments; billable hours). bench/ranking.py: ~140 ms
for 2,000.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, FilteredRelation, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from psa.common.money import column_sum
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
_FIXED = len(_ROW_FIELDS)


class _Row:
    """The facts of one person the ranking needs (a light stand-in for Person): the fields
    above, then the confirmed level of each required skill and the valid certificate's name
    of each skill that needs one, in the request's order."""

    __slots__ = (*_ROW_FIELDS, "levels", "certificates")

    def __init__(self, values: tuple, skills: int) -> None:
        (self.pk, self.first_name, self.last_name, self.country, self.hire_date,
         self.termination_date, self.weekly_standard_hours, self.utilization_target,
         self.role_id, self.role__name, self.role__level, self.cost_amount,
         self.cost_currency) = values[:_FIXED]
        self.levels = values[_FIXED:_FIXED + skills]
        self.certificates = values[_FIXED + skills:]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def is_employed_on(self, day: date) -> bool:
        """As `Person.is_employed_on`, so psa's calendar can read a row as a person."""
        return self.hire_date <= day and (self.termination_date is None
                                          or day <= self.termination_date)


def _people(request: ResourceRequest, required: list[RequestSkill],
            exclude_ids: Collection[int]) -> list[_Row]:
    """Active people with a confirmed level in every required skill (and a valid certificate
    where one is required), with their cost rate on the start date: one query.

    Each level comes from a join on the person's skill of that kind (one row at most: a person
    holds a skill once); each required certificate's name from a correlated subquery kept out
    of the WHERE clause (PostgreSQL would run it twice), people without one dropped here.
    """
    start = request.start_date
    people = (Person.objects.active()
              .filter(hire_date__lte=request.end_date)
              .filter(Q(termination_date__isnull=True) | Q(termination_date__gte=start))
              .exclude(pk__in=list(exclude_ids)).order_by())
    cost = CostRate.objects.filter(person=OuterRef("pk"), effective_from__lte=start
                                   ).order_by("-effective_from")
    people = people.annotate(cost_amount=Subquery(cost.values("hourly_cost")[:1]),
                             cost_currency=Subquery(cost.values("currency")[:1]))
    levels, certificates = [], []
    for n, item in enumerate(required):
        held = f"held_{n}"
        people = people.annotate(**{held: FilteredRelation("skills", condition=Q(
            skills__skill_id=item.skill_id, skills__status=PersonSkill.Status.CONFIRMED))}
        ).filter(**{f"{held}__isnull": False}).annotate(**{f"level_{n}": F(f"{held}__level")})
        levels.append(f"level_{n}")
        if item.requires_certification:
            people = people.annotate(**{f"certificate_{n}": Subquery(
                _valid_certificates(start).filter(person=OuterRef("pk"), skill_id=item.skill_id)
                .order_by("name").values("name")[:1])})
            certificates.append(f"certificate_{n}")
    required_certificates = [bool(item.requires_certification) for item in required]
    result = []
    for values in people.values_list(*_ROW_FIELDS, *levels, *certificates):
        row = _Row(values, len(required))
        if not all(row.certificates):
            continue  # a required certificate missing or not valid on the start date
        found = iter(row.certificates)
        row.certificates = tuple(next(found) if needed else ""
                                 for needed in required_certificates)
        result.append(row)
    return result


def _valid_certificates(on: date):
    return Certification.objects.filter(Q(expires_date__isnull=True) | Q(expires_date__gte=on),
                                        issued_date__lte=on)


def candidates_for_request(*, request: ResourceRequest, exclude_ids: Collection[int] = (),
                           limit: int = 50, today: date | None = None,
                           min_availability: Decimal | None = None) -> list[Candidate]:
    """The best `limit` candidates for `request`, best first (see the module docstring);
    with `min_availability` (a share, 0..1) only people at least that available count.

    Every person is scored first with plain arithmetic; the explained `Candidate` (skill
    matches, hours, margin...) is built for the best `limit` only.
    """
    today = today or timezone.localdate()
    required = list(RequestSkill.objects.filter(request=request).select_related("skill")
                    .order_by("skill__name"))
    people = _people(request, required, exclude_ids)
    if not people:
        return []

    weeks = weeks_between(request.start_date, request.end_date)
    requested = [hours_in_week(request.hours_per_week, week, request.start_date,
                               request.end_date) for week in weeks]
    requested_total = sum(requested, ZERO)
    window_start = today - timedelta(days=UTILIZATION_WINDOW_DAYS)
    window_end = today - timedelta(days=1)
    capacity = capacity_by_week_for_people(people=people, weeks=weeks)
    window_capacity = {pid: sum(per_week.values(), ZERO) for pid, per_week in
                       capacity_by_week_for_people(
                           people=people, weeks=weeks_between(window_start, window_end),
                           start=window_start, end=window_end).items()}
    allocation = weekly_allocation(person_ids=[person.pk for person in people],
                                   start=request.start_date, end=request.end_date)
    billable = dict(TimeEntry.objects.filter(
        is_billable=True, status__in=ACTUAL_STATES, work_date__gte=window_start,
        work_date__lte=window_end, person__employment_status=Person.EmploymentStatus.ACTIVE)
        .order_by().values("person_id").annotate(hours=Sum("hours"))
        .values_list("person_id", "hours"))

    context = _Context(request=request, required=required, requested_total=requested_total)
    scored = []
    # Capacity and allocation mappings are shared by people with the same calendar and no
    # booking, so free hours are computed once per pair of mappings (both alive all along).
    free_by_pair: dict[tuple[int, int], Decimal] = {}
    for person in people:
        per_week_capacity, per_week_allocation = capacity[person.pk], allocation[person.pk]
        pair = (id(per_week_capacity), id(per_week_allocation))
        free = free_by_pair.get(pair)
        if free is None:
            free = free_by_pair[pair] = sum(
                (min(hours, max(ZERO, per_week_capacity[week] - per_week_allocation[week].hard))
                 for week, hours in zip(weeks, requested, strict=True)), ZERO)
        hours = column_sum(billable.get(person.pk))
        window = window_capacity.get(person.pk, ZERO)
        actual = (hours / window * HUNDRED).quantize(PERCENT) if window else ZERO
        factors = context.factors(person, free, actual)
        if min_availability is not None and factors["availability"] < min_availability:
            continue
        score = context.score(factors)
        scored.append(((-score, person.last_name, person.first_name, person.pk),
                       person, free, actual, factors, score))
    scored.sort(key=lambda item: item[0])
    return [context.candidate(person, free, actual, factors, score)
            for _, person, free, actual, factors, score in scored[:max(0, limit)]]


@dataclass(frozen=True)
class _Context:
    """What scoring needs of the request, computed once. Most factors depend on a few facts
    that thousands of people share (levels, role level, cost rate, country), so each value is
    computed once per distinct fact and reused."""

    request: ResourceRequest
    required: list[RequestSkill]
    requested_total: Decimal
    _memo: dict[tuple, Decimal] = field(default_factory=dict)

    def margin(self, person: _Row) -> Decimal | None:
        rate = self.request.bill_rate
        if person.cost_amount is None or not rate or person.cost_currency != self.request.currency:
            return None
        return ((rate - person.cost_amount) / rate).quantize(SHARE)

    def _skills(self, levels: tuple[int, ...]) -> Decimal:
        if not self.required:
            return ONE
        return _share(sum((min(ONE, Decimal(level) / item.min_level)
                           for level, item in zip(levels, self.required, strict=True)), ZERO),
                      Decimal(len(self.required)))

    def _role_fit(self, level: int) -> Decimal:
        distance = abs(level - self.request.role.level)
        return ONE if distance == 0 else Decimal("0.5") if distance == 1 else ZERO

    def _cost(self, person: _Row) -> Decimal:
        margin = self.margin(person)
        return _clamp(margin) if margin is not None else ZERO

    def _location(self, country: str) -> Decimal:
        request = self.request
        return ONE if (not request.country or request.remote_ok
                       or country == request.country) else ZERO

    def _utilization_gap(self, target: Decimal, actual: Decimal) -> Decimal:
        return (min(target, max(ZERO, target - actual)) / HUNDRED).quantize(SHARE)

    def _once(self, key: tuple, compute, *args) -> Decimal:
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = compute(*args)
        return value

    def factors(self, person: _Row, free: Decimal, actual: Decimal) -> dict[str, Decimal]:
        """Each factor's value (0..1) for `person` with `free` hours and `actual` utilization."""
        once = self._once
        return {
            "skills": once(("skills", person.levels), self._skills, person.levels),
            "availability": once(("availability", free), _share, free, self.requested_total),
            "role_fit": once(("role_fit", person.role__level), self._role_fit,
                             person.role__level),
            "cost": once(("cost", person.cost_amount, person.cost_currency), self._cost, person),
            "utilization_gap": once(("gap", person.utilization_target, actual),
                                    self._utilization_gap, person.utilization_target, actual),
            "location": once(("location", person.country), self._location, person.country),
        }

    def score(self, factors: dict[str, Decimal]) -> Decimal:
        """Σ weight x factor value (see WEIGHTS)."""
        key = ("score", *factors.values())
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = sum((WEIGHTS[name] * value
                                           for name, value in factors.items()), ZERO)
        return value

    def candidate(self, person: _Row, free: Decimal, actual: Decimal,
                  factors: dict[str, Decimal], score: Decimal) -> Candidate:
        """The explained candidate: the factors with the facts behind them."""
        matches = [SkillMatch(skill_id=item.skill_id, skill_name=item.skill.name,
                              min_level=item.min_level, level=level,
                              requires_certification=item.requires_certification,
                              certification=certificate or "")
                   for level, certificate, item in zip(person.levels, person.certificates,
                                                       self.required, strict=True)]
        target = person.utilization_target
        margin = self.margin(person)
        return Candidate(
            person_id=person.pk, name=person.full_name, role_id=person.role_id,
            role_name=person.role__name, role_level=person.role__level, country=person.country,
            skills=factors["skills"], skill_matches=matches,
            availability=factors["availability"],
            requested_hours=self.requested_total.quantize(HOURS), free_hours=free.quantize(HOURS),
            role_fit=factors["role_fit"], cost_rate=person.cost_amount,
            cost_currency=person.cost_currency or "", margin=margin, cost=factors["cost"],
            utilization_target=target, utilization_actual=actual,
            utilization_gap=min(target, max(ZERO, target - actual)).quantize(PERCENT),
            location=factors["location"], score=score.quantize(SHARE), factors=factors)
