"""Demo staffing data on top of psa's demo firm (`manage.py seed_demo_staffing`).

Seeds a skills catalogue, people's skills and certifications, resource requests on active
projects and pipeline deals, and assignments of team members over the next 12 weeks.

Deterministic: every random choice comes from a generator seeded with `seed` and the natural
key of the row's parent (a person's employee number, a project's code, a deal's reference), so
the same firm and seed give the same data. Idempotent by natural keys: catalogue rows by name,
people's skills by (person, skill), and children only for parents that have none yet (skills
and certifications per person, requests per project, deals by `deal_ref`, assignments per
person), so a repeat adds nothing. Rows are written with `bulk_create` (no query per row).
"""

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from psa.models import Contract, Person, Project, ProjectMember, RateCard, RateCardLine, Role
from resourcing.models import (
    Assignment,
    Certification,
    PersonSkill,
    RequestSkill,
    ResourceRequest,
    Skill,
    SkillCategory,
)

CATALOGUE: Final = {
    "Cloud": ("AWS", "Azure", "Google Cloud", "Kubernetes", "Terraform", "Cloud Migration"),
    "Data": ("SQL", "Data Engineering", "Power BI", "Machine Learning", "Snowflake",
             "Data Governance"),
    "Security": ("Identity & Access", "Penetration Testing", "ISO 27001", "Cloud Security",
                 "Incident Response", "Risk Assessment"),
    "Strategy": ("Business Case", "Operating Model", "Digital Strategy", "Due Diligence",
                 "Process Design", "Change Management"),
    "Delivery": ("Agile Delivery", "Scrum Mastery", "Programme Management", "PRINCE2",
                 "Testing", "Solution Architecture"),
}
CERTIFICATES: Final = {  # skill -> (certificate, issuer)
    "AWS": ("AWS Solutions Architect - Associate", "Amazon Web Services"),
    "Azure": ("Azure Administrator Associate", "Microsoft"),
    "Google Cloud": ("Professional Cloud Architect", "Google"),
    "Kubernetes": ("Certified Kubernetes Administrator", "CNCF"),
    "Terraform": ("HashiCorp Terraform Associate", "HashiCorp"),
    "Snowflake": ("SnowPro Core", "Snowflake"),
    "Penetration Testing": ("OSCP", "OffSec"),
    "ISO 27001": ("ISO 27001 Lead Implementer", "PECB"),
    "Cloud Security": ("CCSP", "ISC2"),
    "Scrum Mastery": ("Professional Scrum Master I", "Scrum.org"),
    "PRINCE2": ("PRINCE2 Practitioner", "AXELOS"),
    "Programme Management": ("PMP", "PMI"),
}
DEALS: Final = ("Northwind cloud migration", "Contoso data platform", "Fabrikam SOC build",
                "Tailspin operating model", "Adventure Works ERP rollout",
                "Litware zero trust", "Proseware analytics", "Woodgrove digital bank",
                "Alpine Ski House e-commerce", "Coho Winery supply chain",
                "Wingtip Toys BI", "Blue Yonder network refresh")
WEEKS_AHEAD: Final = 12
OVERBOOKED_PEOPLE: Final = 2
HOURS: Final = (Decimal("8.00"), Decimal("16.00"), Decimal("24.00"), Decimal("32.00"),
                Decimal("40.00"))
BATCH: Final = 2000

Log = Callable[[str], None]


@dataclass
class Created:
    """Rows written per model by one run."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, model: type[Model], rows: list[Model], **options: object) -> list[Model]:
        for start in range(0, len(rows), BATCH):
            model.objects.bulk_create(rows[start:start + BATCH], batch_size=BATCH, **options)
        self.counts[model._meta.object_name] += len(rows)
        return rows

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _rng(seed: int, *key: object) -> random.Random:
    return random.Random(":".join(str(part) for part in (seed, *key)))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def seed_staffing(*, seed: int = 42, as_of: date | None = None,
                  log: Log = lambda _line: None) -> dict[str, int]:
    """Seed the staffing demo (see the module docstring); returns rows created per model."""
    as_of = as_of or timezone.localdate()
    created = Created()
    actor = User.objects.filter(username="resources").first()
    with transaction.atomic():
        skills = _catalogue(created)
        people = list(Person.objects.active().order_by("employee_number").values_list(
            "pk", "employee_number", "role_id", "country", "termination_date"))
        _person_skills(created, seed, people, skills, actor)
        _certifications(created, seed, as_of, people, skills)
        log(f"  skills and certifications: {created.total} rows")
        requests = _requests(created, seed, as_of, skills, actor)
        _deals(created, seed, as_of, skills, actor, len(people))
        _assignments(created, seed, as_of, people, requests, actor)
    log(f"  requests and assignments done: {created.total} rows in all")
    return dict(created.counts)


def _catalogue(created: Created) -> dict[str, int]:
    """Categories and skills by name; returns {skill name: id}."""
    known = set(SkillCategory.objects.values_list("name", flat=True))
    created.add(SkillCategory, [SkillCategory(name=name) for name in CATALOGUE
                                if name not in known], ignore_conflicts=True)
    category_ids = dict(SkillCategory.objects.filter(name__in=CATALOGUE)
                        .values_list("name", "pk"))
    known = set(Skill.objects.values_list("name", flat=True))
    created.add(Skill, [Skill(category_id=category_ids[category], name=name,
                              description=f"{name} ({category.lower()})")
                        for category, names in CATALOGUE.items() for name in names
                        if name not in known], ignore_conflicts=True)
    names = [name for names in CATALOGUE.values() for name in names]
    return dict(Skill.objects.filter(name__in=names).values_list("name", "pk"))


def _person_skills(created: Created, seed: int, people: list[tuple], skills: dict[str, int],
                   actor: User | None) -> None:
    """2 to 5 skills for each person without any, mostly in one home category."""
    holders = set(PersonSkill.objects.values_list("person_id", flat=True).distinct())
    now = timezone.now()
    categories = list(CATALOGUE)
    rows = []
    for pk, number, *_rest in people:
        if pk in holders:
            continue
        rng = _rng(seed, "skills", number)
        home = CATALOGUE[rng.choice(categories)]
        count = rng.randint(2, 5)
        chosen = rng.sample(home, min(count, 3))
        others = [name for name in skills if name not in chosen]
        chosen += rng.sample(others, count - len(chosen))
        for name in chosen:
            level = rng.choices((1, 2, 3, 4, 5), weights=(1, 3, 4, 3, 1))[0]
            confirmed = rng.random() < 0.85
            rows.append(PersonSkill(
                person_id=pk, skill_id=skills[name], level=level,
                status=PersonSkill.Status.CONFIRMED if confirmed else PersonSkill.Status.PROPOSED,
                confirmed_at=now if confirmed else None,
                confirmed_by=actor if confirmed else None))
    created.add(PersonSkill, rows, ignore_conflicts=True)


def _certifications(created: Created, seed: int, as_of: date, people: list[tuple],
                    skills: dict[str, int]) -> None:
    """A certificate for about a third of the holders of a certifiable skill; some expired."""
    holders = set(Certification.objects.values_list("person_id", flat=True).distinct())
    certifiable = {skills[name]: name for name in CERTIFICATES}
    held: dict[int, list[int]] = defaultdict(list)
    for person_id, skill_id in (PersonSkill.objects.filter(skill_id__in=list(certifiable))
                                .order_by("person_id", "skill_id")
                                .values_list("person_id", "skill_id")):
        held[person_id].append(skill_id)
    rows = []
    for pk, number, *_rest in people:
        if pk in holders or not held.get(pk):
            continue
        rng = _rng(seed, "certificates", number)
        if rng.random() >= 0.35:
            continue
        skill_id = rng.choice(held[pk])
        name, issuer = CERTIFICATES[certifiable[skill_id]]
        issued = as_of - timedelta(days=rng.randint(60, 1400))
        expires = issued + timedelta(days=3 * 365)  # some of these are already past
        rows.append(Certification(person_id=pk, name=name, skill_id=skill_id, issuer=issuer,
                                  issued_date=issued, expires_date=expires))
    created.add(Certification, rows)


class _Rates:
    """Bill rates by role from a card's lines in force on a day (one query for every card)."""

    def __init__(self) -> None:
        self.lines: dict[tuple[int, int], list[tuple[date, Decimal]]] = defaultdict(list)
        for card_id, role_id, since, rate in (RateCardLine.objects.order_by("effective_from")
                                             .values_list("rate_card_id", "role_id",
                                                          "effective_from", "hourly_rate")):
            self.lines[(card_id, role_id)].append((since, rate))
        self.standard = dict(RateCard.objects.filter(kind=RateCard.Kind.STANDARD,
                                                     is_active=True)
                             .values_list("currency", "pk"))

    def rate(self, card_id: int | None, role_id: int, on: date) -> Decimal | None:
        in_force = [rate for since, rate in self.lines.get((card_id, role_id), ())
                    if since <= on]
        return in_force[-1] if in_force else None

    def resolve(self, *, card_id: int | None, currency: str, role_id: int,
                on: date) -> Decimal | None:
        """The contract card's rate, else the standard card's in `currency`."""
        return (self.rate(card_id, role_id, on)
                or self.rate(self.standard.get(currency), role_id, on))


def _required_skills(rng: random.Random, skills: dict[str, int]) -> list[tuple[int, int, bool]]:
    names = rng.sample(sorted(skills), rng.randint(1, 3))
    return [(skills[name], rng.randint(2, 4),
             name in CERTIFICATES and rng.random() < 0.1) for name in names]


def _requests(created: Created, seed: int, as_of: date, skills: dict[str, int],
              actor: User | None) -> dict[int, list[ResourceRequest]]:
    """One or two requests on about half the active client projects that have none yet.

    Returns the new requests by project, for the assignment phase to fill some partially.
    """
    monday = _monday(as_of)
    horizon = monday + timedelta(weeks=WEEKS_AHEAD)
    with_requests = set(ResourceRequest.objects.filter(project__isnull=False)
                        .values_list("project_id", flat=True).distinct())
    contract_cards = dict(Contract.objects.values_list("pk", "rate_card_id"))
    roles = list(Role.objects.order_by("level", "pk").values_list("pk", flat=True))
    rates = _Rates()
    planned: list[tuple[ResourceRequest, list[tuple[int, int, bool]]]] = []
    for project in (Project.objects.active().filter(is_internal=False, end_date__gte=monday,
                                                    start_date__lte=horizon)
                    .order_by("code").only("pk", "code", "contract_id", "currency",
                                           "end_date")):
        rng = _rng(seed, "requests", project.code)
        if project.pk in with_requests or rng.random() >= 0.5 or not roles:
            continue
        for _ in range(rng.randint(1, 2)):
            role_id = rng.choice(roles)
            start = monday + timedelta(weeks=rng.randint(0, 6))
            end = start + timedelta(weeks=rng.randint(4, 10), days=-3)
            request = ResourceRequest(
                project_id=project.pk, role_id=role_id, hours_per_week=rng.choice(HOURS[2:]),
                start_date=start, end_date=end, country=rng.choice(("US", "GB", "")),
                remote_ok=rng.random() < 0.6,
                priority=rng.choice(list(ResourceRequest.Priority.values)),
                bill_rate=rates.resolve(card_id=contract_cards.get(project.contract_id),
                                        currency=project.currency, role_id=role_id, on=start),
                currency=project.currency, requested_by=actor,
                notes="Demo request: staff from the team or the bench.")
            planned.append((request, _required_skills(rng, skills)))
    created.add(ResourceRequest, [request for request, _ in planned])
    created.add(RequestSkill, [RequestSkill(request_id=request.pk, skill_id=skill_id,
                                            min_level=level, requires_certification=cert)
                               for request, needs in planned for skill_id, level, cert in needs])
    by_project: dict[int, list[ResourceRequest]] = defaultdict(list)
    for request, _ in planned:
        by_project[request.project_id].append(request)
    return by_project


def _deals(created: Created, seed: int, as_of: date, skills: dict[str, int],
           actor: User | None, head_count: int) -> None:
    """Tentative pipeline requests for deals (by `deal_ref`), probabilities 20 to 80 %."""
    count = max(len(DEALS), head_count // 40)
    refs = [f"DEMO-DEAL-{n + 1:04d}" for n in range(count)]
    known = set(ResourceRequest.objects.filter(deal_ref__in=refs)
                .values_list("deal_ref", flat=True))
    roles = list(Role.objects.order_by("level", "pk").values_list("pk", flat=True))
    if not roles:
        return
    rates = _Rates()
    monday = _monday(as_of)
    planned = []
    for n, ref in enumerate(refs):
        if ref in known:
            continue
        rng = _rng(seed, "deal", ref)
        role_id = rng.choice(roles)
        currency = rng.choice(("USD", "GBP"))
        start = monday + timedelta(weeks=rng.randint(2, 10))
        deal = DEALS[n % len(DEALS)] + ("" if n < len(DEALS) else f" (phase {n // len(DEALS) + 1})")
        request = ResourceRequest(
            deal_name=deal, deal_ref=ref, is_tentative=True,
            probability=Decimal(rng.choice(range(20, 81, 10))), role_id=role_id,
            hours_per_week=rng.choice(HOURS[1:]), start_date=start,
            end_date=start + timedelta(weeks=rng.randint(6, 16), days=-3),
            country="GB" if currency == "GBP" else "US", remote_ok=rng.random() < 0.5,
            bill_rate=rates.resolve(card_id=None, currency=currency, role_id=role_id, on=start),
            currency=currency, requested_by=actor, notes="Pipeline demand from the CRM.")
        planned.append((request, _required_skills(rng, skills)))
    created.add(ResourceRequest, [request for request, _ in planned])
    created.add(RequestSkill, [RequestSkill(request_id=request.pk, skill_id=skill_id,
                                            min_level=level, requires_certification=cert)
                               for request, needs in planned for skill_id, level, cert in needs])


def _assignments(created: Created, seed: int, as_of: date, people: list[tuple],
                 requests: dict[int, list[ResourceRequest]], actor: User | None) -> None:
    """Book team members without assignments on up to two of their active projects.

    Mostly hard, some soft, at most 32 hours a week in all; the first OVERBOOKED_PEOPLE get a
    second hard booking that takes them over 40 hours (confirmed, as a booker would). A booking
    on a project with a new request fills half of it: the request becomes partially filled.
    """
    monday = _monday(as_of)
    last_friday = monday + timedelta(weeks=WEEKS_AHEAD, days=-3)
    booked = set(Assignment.objects.values_list("person_id", flat=True).distinct())
    eligible = {pk: (role_id, termination) for pk, _n, role_id, _c, termination in people
                if pk not in booked and (termination is None or termination > last_friday)}
    memberships: dict[int, list[int]] = defaultdict(list)
    codes = {}
    for person_id, project_id, code in (ProjectMember.objects.filter(
            project__status=Project.Status.ACTIVE, project__end_date__gte=last_friday,
            project__start_date__lte=monday)
            .order_by("person_id", "project__code").values_list("person_id", "project_id",
                                                                "project__code")):
        if person_id in eligible:
            memberships[person_id].append(project_id)
            codes[project_id] = code
    numbers = {pk: number for pk, number, *_rest in people}
    rows: list[Assignment] = []
    filled: list[ResourceRequest] = []
    overbooked = 0
    for person_id in sorted(memberships, key=numbers.__getitem__):
        rng = _rng(seed, "assignments", numbers[person_id])
        role_id = eligible[person_id][0]
        projects = rng.sample(memberships[person_id], min(2, len(memberships[person_id])))
        over = overbooked < OVERBOOKED_PEOPLE and len(projects) == 2
        hours = ((Decimal("32.00"), Decimal("24.00")) if over else
                 rng.choice(((Decimal("32.00"), Decimal("0")), (Decimal("24.00"), Decimal("8.00")),
                             (Decimal("16.00"), Decimal("16.00")),
                             (Decimal("20.00"), Decimal("8.00")))))
        overbooked += over
        for project_id, per_week in zip(projects, hours, strict=False):
            if not per_week:
                continue
            start, end = monday, last_friday
            request = None
            open_requests = [r for r in requests.get(project_id, ()) if r not in filled]
            if open_requests and not over and rng.random() < 0.5:
                request = open_requests[0]
                filled.append(request)
                start, end = request.start_date, request.end_date
                per_week = (request.hours_per_week / 2).quantize(Decimal("0.01"))
            elif not over and rng.random() < 0.4:
                start = monday + timedelta(weeks=rng.randint(0, 3))
            hard = over or rng.random() < 0.8
            rows.append(Assignment(
                person_id=person_id, project_id=project_id, role_id=role_id, request=request,
                start_date=start, end_date=end, hours_per_week=per_week,
                booking=Assignment.Booking.HARD if hard else Assignment.Booking.SOFT,
                overbooking_confirmed=over and project_id == projects[-1], created_by=actor))
    created.add(Assignment, rows)
    if filled:
        ResourceRequest.objects.filter(pk__in=[r.pk for r in filled]).update(
            status=ResourceRequest.Status.PARTIALLY_FILLED)


def staffing_counts() -> dict[str, int]:
    """Rows per staffing model, for the summary and the idempotency test."""
    models: Iterable[type[Model]] = (SkillCategory, Skill, PersonSkill, Certification,
                                     ResourceRequest, RequestSkill, Assignment)
    return {model._meta.object_name: model.objects.count() for model in models}
