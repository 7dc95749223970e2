"""Workers from an HRIS into people, managers, cost rates, capacity and staffing.

Vendor-neutral: a connector turns its vendor's employee into `WorkerFacts` (and its time-off
requests into `TimeOffFacts`) and calls `worker_apply`; everything here is the same for any
HRIS. The HRIS is the system of record for identity (names, e-mail, employee number), job
title (mapped to our role), manager, location, employment status and dates, and cost rate
(ARCHITECTURE.md); this application owns everything else on a person (weekly standard hours,
utilization target, skills, time zone after creation, the login), and a pull never touches it.

Options (`Connection.options`):

- `role_map`: {job title or department → Role code}; titles are tried before departments,
  case-insensitively. Without an entry, a title equal to a role's name or code maps to it.
- `default_role`: Role code for a new person whose title maps to nothing (an existing
  person then keeps their role). Without it such a person is refused with a sentence.
- `hours_per_year` (default 2080): a salary's hours, to make an hourly cost rate of it
  (cost rate = yearly pay / hours_per_year; hourly pay as is; 4 places, half-up).

`Connection.legal_entity` is the legal entity of new people (else the first legal entity).

Idempotent: a person is found by the connection's external id, else by e-mail (then linked),
else created; a cost-rate row is added only when the rate changed; time off is upserted by
`<request id>@<first day>` external ids. A manager not synced yet is remembered and set when
the manager arrives. A termination date ends the person's bookings after it (which re-opens
the requests they filled, flagged with a note); time after it is refused by the time rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from crm_sync.models import Connection, PendingLink
from crm_sync.ownership import changed_fields, owned_values
from crm_sync.services.refs import ref_link, ref_lookup, ref_of
from psa.common.errors import DomainError
from psa.common.money import quantize_rate
from psa.models import CostRate, ExternalRef, LegalEntity, Person, Role, TimeOff
from psa.services.common import save_validated
from psa.services.people import person_create, person_update
from resourcing.models import Assignment, ResourceRequest
from resourcing.services import assignment_end, request_update

HRIS_OWNED = ("first_name", "last_name", "email", "employee_number", "role", "manager",
              "city", "country", "employment_status", "hire_date", "termination_date")
DEFAULT_HOURS_PER_YEAR = Decimal("2080")
# How many times a pay period fits in a year; "day" assumes 260 working days.
PERIODS_PER_YEAR = {"year": 1, "annual": 1, "quarter": 4, "month": 12, "week": 52,
                    "day": 260}
STATUS_MAP = {"active": Person.EmploymentStatus.ACTIVE, "leave": Person.EmploymentStatus.LEAVE,
              "terminated": Person.EmploymentStatus.TERMINATED}
# A report waiting for a manager who is not synced yet (crm_sync.PendingLink).
PENDING_MANAGER = "manager"
MANAGER_PENDING = object()  # `_manager`'s answer while the manager is not synced yet


@dataclass(frozen=True)
class TimeOffFacts:
    """One time-off request: per day the amount off (in `unit`: "hours" or "days")."""

    external_id: str
    approved: bool
    kind: str = TimeOff.Kind.VACATION
    unit: str = "hours"
    amounts: dict[date, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerFacts:
    """What the HRIS says about one worker; `None` means "not known", never "clear it"
    (except `termination_date` and `manager_external_id`, where None is the HRIS's answer)."""

    external_id: str
    first_name: str
    last_name: str
    email: str
    title: str = ""
    department: str = ""
    city: str = ""
    country: str | None = None  # ISO 3166 alpha-2
    employee_number: str = ""
    status: str = "active"  # active | leave | terminated
    hire_date: date | None = None
    termination_date: date | None = None
    manager_external_id: str | None = None
    pay_amount: Decimal | None = None
    pay_currency: str = ""
    pay_type: str = ""  # salary | hourly | ...
    pay_period: str = ""  # year | month | week | day | hour
    time_off: tuple[TimeOffFacts, ...] | None = None  # None: not read this time
    time_off_window: tuple[date, date] | None = None  # the dates `time_off` covers


@dataclass(frozen=True)
class PeopleOptions:
    role_map: dict[str, str]
    default_role: str | None
    hours_per_year: Decimal

    @classmethod
    def of(cls, connection: Connection) -> PeopleOptions:
        options = connection.options or {}
        role_map = {str(k).strip().lower(): str(v) for k, v in
                    (options.get("role_map") or {}).items()}
        hours = Decimal(str(options.get("hours_per_year") or DEFAULT_HOURS_PER_YEAR))
        if hours <= 0:
            raise DomainError("hours_per_year must be more than 0.", attr="options")
        return cls(role_map=role_map, default_role=options.get("default_role") or None,
                   hours_per_year=hours)


def hourly_cost(facts: WorkerFacts, hours_per_year: Decimal) -> Decimal | None:
    """The hourly cost of the worker's pay, or None when the pay is unknown or not a rate."""
    if facts.pay_amount is None:
        return None
    period = facts.pay_period.lower() or ("hour" if facts.pay_type.lower() == "hourly" else "")
    if period == "hour":
        return quantize_rate(facts.pay_amount)
    per_year = PERIODS_PER_YEAR.get(period)
    if per_year is None:
        return None
    return quantize_rate(facts.pay_amount * per_year / hours_per_year)


def linked_worker_ids(connection: Connection) -> list[str]:
    """External ids of every person the connection's system has a link for."""
    return list(ExternalRef.objects.filter(
        content_type=ContentType.objects.get_for_model(Person), system=connection.name)
        .order_by("external_id").values_list("external_id", flat=True))


def time_off_range(days: int) -> tuple[date, date]:
    """From today to `days` ahead: the dates an HRIS is read for time off."""
    today = timezone.localdate()
    return today, today + timedelta(days=days)


# --- the flow -------------------------------------------------------------------------------


@transaction.atomic
def worker_apply(*, connection: Connection, facts: WorkerFacts, actor: User) -> str:
    """Bring one worker's HRIS facts into this application; returns what happened.

    Raises DomainError when a new person cannot be created (no role, no e-mail, no legal
    entity) or the e-mail belongs to a person linked to another worker of the same system.
    """
    options = PeopleOptions.of(connection)
    person = _find(connection, facts)
    what = f"{connection.name} worker {facts.external_id}"
    values = owned_values(_values(connection, facts, options, person), HRIS_OWNED, what=what)
    notes: list[str] = []
    if person is None:
        person = _create(connection, facts, values, options, actor)
        notes.append("created")
    else:
        changes = changed_fields(person, values)
        if changes:
            person = person_update(person=person, actor=actor, data=changes)
            notes.append(f"changed {', '.join(sorted(changes))}")
    notes += _reports_linked(connection, person, facts.external_id, actor)
    notes += _cost_rate_sync(person, facts, options)
    if facts.time_off is not None:
        notes += _time_off_sync(connection, person, facts.time_off, facts.time_off_window)
    if person.termination_date is not None:
        notes += _employment_end(person, actor)
    return f"{person.full_name} ({what}): {'; '.join(notes) or 'unchanged'}"


@transaction.atomic
def time_off_apply(*, connection: Connection, external_id: str,
                   time_off: tuple[TimeOffFacts, ...], window: tuple[date, date] | None,
                   actor: User) -> str:
    """Bring one linked worker's time off into capacity; ignored when nobody is linked."""
    person = ref_lookup(connection, Person, external_id)
    if person is None:
        return f"ignored: {connection.name} worker {external_id} is not linked to a person"
    person = Person.objects.select_for_update(of=("self",)).get(pk=person.pk)
    notes = _time_off_sync(connection, person, time_off, window)
    return f"{person.full_name}: {'; '.join(notes) or 'time off unchanged'}"


def _find(connection: Connection, facts: WorkerFacts) -> Person | None:
    """The person by external id, else by e-mail (linked now); locked for the change."""
    person = ref_lookup(connection, Person, facts.external_id)
    if person is None and facts.email:
        person = Person.objects.filter(email__iexact=facts.email).first()
        if person is not None:
            other = ref_of(connection, person)
            if other is not None and other != facts.external_id:
                raise DomainError(
                    f"{facts.email} belongs to {person.full_name}, who is already "
                    f"{connection.name} worker {other}, not {facts.external_id}: merge the two "
                    f"workers in the HRIS or correct one e-mail.", attr="email")
            ref_link(connection, person, facts.external_id)
    if person is None:
        return None
    return Person.objects.select_for_update(of=("self",)).get(pk=person.pk)


def _values(connection: Connection, facts: WorkerFacts, options: PeopleOptions,
            person: Person | None) -> dict[str, Any]:
    """The HRIS-owned values of the person; what the HRIS does not say is left out."""
    values: dict[str, Any] = {"first_name": facts.first_name, "last_name": facts.last_name,
                              "city": facts.city[:100],
                              "employment_status": STATUS_MAP.get(
                                  facts.status, Person.EmploymentStatus.ACTIVE)}
    if facts.email:
        values["email"] = facts.email
    if facts.employee_number:
        values["employee_number"] = facts.employee_number[:20]
    if facts.country:
        values["country"] = facts.country.upper()
    if facts.hire_date is not None:
        values["hire_date"] = facts.hire_date
    termination = facts.termination_date
    if termination is None and facts.status == "terminated":
        # Inactive without a date: the day we learn of it is the best date there is.
        termination = (person.termination_date if person is not None else None) \
            or timezone.localdate()
    values["termination_date"] = termination
    role = _role(facts, options)
    if role is not None:
        values["role"] = role
    manager = _manager(connection, facts, person)
    if manager is not MANAGER_PENDING:  # a manager not synced yet leaves the current one
        values["manager"] = manager
    return values


def _role(facts: WorkerFacts, options: PeopleOptions) -> Role | None:
    for key in (facts.title, facts.department):
        code = options.role_map.get(key.strip().lower()) if key else None
        if code is not None:
            role = Role.objects.filter(code=code).first()
            if role is None:
                raise DomainError(f"role_map names the role {code!r}, which does not exist.",
                                  attr="options")
            return role
    if facts.title:
        return (Role.objects.filter(name__iexact=facts.title.strip()).first()
                or Role.objects.filter(code__iexact=facts.title.strip()).first())
    return None


def _manager(connection: Connection, facts: WorkerFacts,
             person: Person | None) -> Person | object | None:
    """The manager's person; one not synced yet is remembered (`_reports_linked`)."""
    pending = PendingLink.objects.filter(connection=connection, kind=PENDING_MANAGER,
                                         source_external_id=facts.external_id)
    if facts.manager_external_id is None:
        pending.delete()
        return None
    manager = ref_lookup(connection, Person, facts.manager_external_id)
    if manager is None:
        PendingLink.objects.update_or_create(
            connection=connection, kind=PENDING_MANAGER, source_external_id=facts.external_id,
            defaults={"target_external_id": facts.manager_external_id})
        return MANAGER_PENDING
    pending.delete()
    if person is not None and manager.pk == person.pk:
        return None
    return manager


def _reports_linked(connection: Connection, manager: Person, external_id: str,
                    actor: User) -> list[str]:
    """Set this person as the manager of the reports that were waiting for them."""
    waiting = PendingLink.objects.filter(connection=connection, kind=PENDING_MANAGER,
                                         target_external_id=external_id)
    linked = 0
    for link in waiting:
        report = ref_lookup(connection, Person, link.source_external_id)
        if report is not None and report.pk != manager.pk:
            person_update(person=report, actor=actor, data={"manager": manager})
            linked += 1
        link.delete()
    return [f"manager of {linked} waiting report(s)"] if linked else []


def _create(connection: Connection, facts: WorkerFacts, values: dict[str, Any],
            options: PeopleOptions, actor: User) -> Person:
    entity = connection.legal_entity or LegalEntity.objects.order_by("pk").first()
    if entity is None:
        raise DomainError("No legal entity exists for new people: create one, or set the "
                          "connection's legal entity.", attr="legal_entity")
    if not facts.email:
        raise DomainError(f"{facts.first_name} {facts.last_name} has no work e-mail in the "
                          f"HRIS; a person needs one.", attr="email")
    if "role" not in values:
        role = Role.objects.filter(code=options.default_role).first() \
            if options.default_role else None
        if role is None:
            raise DomainError(
                f"No role for job title {facts.title!r} (department {facts.department!r}): "
                f"add it to the connection's role_map or set default_role.", attr="role")
        values["role"] = role
    data = {"employee_number": f"HR-{facts.external_id}"[:20], "country": entity.country,
            "hire_date": timezone.localdate(), **values, "legal_entity": entity,
            "time_zone": entity.time_zone}
    return person_create(actor=actor, data=data,
                         external_refs=[{"system": connection.name, "id": facts.external_id}])


def _cost_rate_sync(person: Person, facts: WorkerFacts, options: PeopleOptions) -> list[str]:
    """A new cost-rate row when the HRIS pay gives another rate than the one in force.

    A person's first rate starts on the hire date (so their earlier time has a cost); a
    change starts today. No service writes cost rates yet, so the row is validated here.
    """
    rate = hourly_cost(facts, options.hours_per_year)
    if rate is None:
        return []
    currency = (facts.pay_currency or person.legal_entity.base_currency).upper()
    rates = CostRate.objects.filter(person=person)
    start = max(timezone.localdate(), person.hire_date) if rates.exists() else person.hire_date
    current = rates.filter(effective_from__lte=start).order_by("-effective_from").first()
    if current is not None and current.hourly_cost == rate and current.currency == currency:
        return []
    row = rates.filter(effective_from=start).first() or CostRate(person=person,
                                                                  effective_from=start)
    row.hourly_cost, row.currency = rate, currency
    save_validated(row)
    return [f"cost rate {rate} {currency} from {start.isoformat()}"]


# --- time off -------------------------------------------------------------------------------


def _segments(item: TimeOffFacts, standard_day: Decimal
              ) -> list[tuple[date, date, Decimal | None]]:
    """The request as date ranges of equal hours per day (None = the whole standard day).

    Days with nothing off (weekends, holidays) inside a range are covered by it: capacity is
    zero on them anyway.
    """
    segments: list[list[Any]] = []
    for day, amount in sorted(item.amounts.items()):
        if amount <= 0:
            continue
        hours = amount if item.unit == "hours" else amount * standard_day
        per_day = None if hours >= standard_day or hours > 24 else hours.quantize(Decimal("0.01"))
        if segments and segments[-1][2] == per_day:
            segments[-1][1] = day
        else:
            segments.append([day, day, per_day])
    return [(start, end, per_day) for start, end, per_day in segments]


def _time_off_sync(connection: Connection, person: Person, items: tuple[TimeOffFacts, ...],
                   window: tuple[date, date] | None) -> list[str]:
    """Approved requests become TimeOff rows; ones no longer approved, or gone from the
    window the HRIS was read for, are removed."""
    standard_day = (person.weekly_standard_hours / 5).quantize(Decimal("0.01"))
    wanted: dict[str, tuple[date, date, Decimal | None, str]] = {}
    for item in items:
        if item.approved:
            for start, end, per_day in _segments(item, standard_day):
                wanted[f"{item.external_id}@{start.isoformat()}"] = (start, end, per_day,
                                                                     item.kind)
    seen = {item.external_id for item in items}
    content_type = ContentType.objects.get_for_model(TimeOff)
    refs = ExternalRef.objects.filter(
        content_type=content_type, system=connection.name,
        object_id__in=TimeOff.objects.filter(person=person).values("pk"))
    rows = {row.pk: row for row in TimeOff.objects.filter(person=person)}
    added = updated = removed = 0
    for ref in refs:
        row = rows.get(ref.object_id)
        in_scope = ref.external_id.split("@")[0] in seen or (
            window is not None and row is not None
            and row.start_date <= window[1] and row.end_date >= window[0])
        if ref.external_id in wanted and row is not None:
            start, end, per_day, kind = wanted.pop(ref.external_id)
            values = {"start_date": start, "end_date": end, "hours_per_day": per_day,
                      "kind": kind, "status": TimeOff.Status.APPROVED}
            changes = changed_fields(row, values)
            if changes:
                for name, value in changes.items():
                    setattr(row, name, value)
                save_validated(row, update_fields=list(changes))
                updated += 1
        elif in_scope or row is None:
            if row is not None:
                row.delete()
                removed += 1
            ref.delete()
    for key, (start, end, per_day, kind) in wanted.items():
        row = TimeOff(person=person, kind=kind, status=TimeOff.Status.APPROVED,
                      start_date=start, end_date=end, hours_per_day=per_day)
        save_validated(row)
        ref_link(connection, row, key)
        added += 1
    if not (added or updated or removed):
        return []
    return [f"time off: {added} added, {updated} changed, {removed} removed"]


# --- termination ----------------------------------------------------------------------------


def _employment_end(person: Person, actor: User) -> list[str]:
    """End the person's bookings after their last day; flag the requests they filled.

    `assignment_end` re-computes each linked request's status (a filled request opens again);
    the request also gets a note so the resource manager sees why.
    """
    last_day = person.termination_date
    request_ids = set()
    ended = 0
    for assignment in Assignment.objects.filter(person=person, end_date__gt=last_day) \
            .order_by("pk"):
        if assignment.request_id is not None:
            request_ids.add(assignment.request_id)
        assignment_end(actor=actor, assignment=assignment, end_date=last_day)
        ended += 1
    flagged = 0
    note = (f"{person.full_name} leaves on {last_day.isoformat()} (HRIS): their booking was "
            f"ended on that day; restaff the rest.")
    for request in ResourceRequest.objects.filter(pk__in=request_ids) \
            .exclude(status=ResourceRequest.Status.CANCELLED).order_by("pk"):
        if note not in request.notes:
            request_update(actor=actor, request=request,
                           data={"notes": f"{request.notes}\n{note}".strip()})
            flagged += 1
    if not ended:
        return []
    return [f"{ended} booking(s) ended on {last_day.isoformat()}, {flagged} request(s) "
            f"flagged"]
