"""The demo firm's staff as a plan: who works where, in which role, for whom.

Pure and deterministic: the same seed, head count and as-of date give the same people, so a
second run finds every row by its employee number and creates nothing.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from psa.demo import names
from psa.demo.tables import (
    COST_RATES,
    ENTITY_CURRENCY,
    FIRM_DOMAIN,
    LOCATIONS,
    UTILIZATION_TARGET,
    add_months,
    month_start,
)

MIN_PEOPLE: Final = 20


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A demo sign-in: its username, role group, and the person behind it."""

    username: str
    group: str
    first_name: str
    last_name: str
    entity: str
    level: int
    manager: int | None  # index of the person's manager in the plan


# The first people of the plan are the demo logins (index = position), then the UK head.
DEMO_LOGINS: Final = (
    DemoLogin("executive", "executive", "Eleanor", "Whitfield", "US", 5, None),
    DemoLogin("manager", "project_manager", "Marcus", "Reed", "US", 4, 0),
    DemoLogin("consultant", "consultant", "Chloe", "Bennett", "US", 2, 1),
    DemoLogin("resources", "resource_manager", "Rita", "Alvarez", "US", 4, 0),
    DemoLogin("finance", "finance", "Frank", "Osei", "US", 4, 0),
    DemoLogin("admin", "administrator", "Alex", "Kim", "UK", 4, 6),
)
EXECUTIVE, MANAGER, CONSULTANT = 0, 1, 2
UK_HEAD: Final = len(DEMO_LOGINS)
HEADS: Final = {"US": EXECUTIVE, "UK": UK_HEAD}
SERVICE_USERNAME: Final = "erp-bot"


@dataclass(frozen=True, slots=True)
class PersonPlan:
    """One person to create, with the two cost rates they carry."""

    index: int
    employee_number: str
    first_name: str
    last_name: str
    email: str
    entity: str
    level: int
    manager: int | None
    country: str
    city: str
    time_zone: str
    status: str
    hire_date: date
    termination_date: date | None
    weekly_hours: Decimal
    utilization_target: Decimal
    cost_rates: tuple[tuple[date, Decimal], ...]
    login: str | None


def employee_number(index: int) -> str:
    """The natural key of the index-th person."""
    return f"E{index + 1:05d}"


def _tier_sizes(total: int) -> dict[int, int]:
    partners = max(2, round(total * 0.06))
    managers = max(5, round(total * 0.12))
    seniors = max(1, round(total * 0.22))
    consultants = max(2, round(total * 0.30))
    return {5: partners, 4: managers, 3: seniors, 2: consultants,
            1: total - partners - managers - seniors - consultants}


def _hire_date(rng: random.Random, level: int, as_of: date) -> date:
    years_back = {5: (6, 18), 4: (3, 12), 3: (2, 8), 2: (1, 5), 1: (0, 2)}[level]
    days = rng.randint(max(30, years_back[0] * 365), years_back[1] * 365 + 180)
    return as_of - timedelta(days=days)


def _cost_rates(rng: random.Random, currency: str, level: int, hire: date,
                as_of: date) -> tuple[tuple[date, Decimal], ...]:
    base = Decimal(COST_RATES[currency][level] * 100 + rng.randint(-800, 800)) / 100
    older = (base * Decimal("0.95")).quantize(Decimal("0.0001"))
    raise_from = max(date(as_of.year, 1, 1), add_months(month_start(hire), 1))
    return ((hire, older), (raise_from, base.quantize(Decimal("0.0001"))))


def plan_people(*, seed: int, total: int, as_of: date) -> list[PersonPlan]:
    """Plan `total` people: demo logins first, then a shuffled pyramid under two partners.

    Managers always sit at a higher level in the same entity, so inserting by level, highest
    first, finds every manager already stored.
    """
    if total < MIN_PEOPLE:
        raise ValueError(f"The demo needs at least {MIN_PEOPLE} people.")
    rng = random.Random(f"{seed}:people")
    sizes = _tier_sizes(total)
    heads = [(login.entity, login.level, login.manager) for login in DEMO_LOGINS]
    heads.append(("UK", 5, None))
    for _, level, _ in heads:
        sizes[level] -= 1
    rest = [level for level, count in sizes.items() for _ in range(count)]
    rng.shuffle(rest)

    slots: list[tuple[str, int, int | None]] = list(heads)
    by_entity_level: dict[tuple[str, int], list[int]] = {}
    for index, (entity, level, _) in enumerate(heads):
        by_entity_level.setdefault((entity, level), []).append(index)
    for level in rest:
        index = len(slots)
        entity = "US" if rng.random() < 0.6 else "UK"
        manager = _pick_manager(rng, by_entity_level, entity, level)
        slots.append((entity, level, manager))
        by_entity_level.setdefault((entity, level), []).append(index)

    demo_count = len(heads)
    analysts = [i for i, slot in enumerate(slots) if slot[1] == 1 and i >= demo_count]
    consultants = [i for i, slot in enumerate(slots) if slot[1] == 2 and i >= demo_count]
    terminated = set(rng.sample(analysts, min(len(analysts), max(2, total // 50))))
    on_leave = set(rng.sample(consultants, min(len(consultants), max(1, total // 100))))
    part_time = {i for i in range(demo_count, total) if rng.random() < 0.05}

    used_emails: set[str] = set()
    return [_person(seed, index, slot, as_of, used_emails,
                    status="terminated" if index in terminated
                    else "leave" if index in on_leave else "active",
                    part_time=index in part_time)
            for index, slot in enumerate(slots)]


def _pick_manager(rng: random.Random, by_entity_level: dict[tuple[str, int], list[int]],
                  entity: str, level: int) -> int:
    """A manager one level up in the entity, else the nearest level above that has people."""
    for above in range(level + 1, 6):
        pool = by_entity_level.get((entity, above))
        if pool:
            return rng.choice(pool)
    return HEADS[entity]


def _person(seed: int, index: int, slot: tuple[str, int, int | None], as_of: date,
            used_emails: set[str], *, status: str, part_time: bool) -> PersonPlan:
    entity, level, manager = slot
    rng = random.Random(f"{seed}:person:{index}")
    login = DEMO_LOGINS[index] if index < len(DEMO_LOGINS) else None
    first = login.first_name if login else rng.choice(names.FIRST_NAMES)
    last = login.last_name if login else rng.choice(names.LAST_NAMES)
    local = f"{first}.{last}".lower().replace("'", "")
    email, n = f"{local}@{FIRM_DOMAIN}", 1
    while email in used_emails:
        n += 1
        email = f"{local}{n}@{FIRM_DOMAIN}"
    used_emails.add(email)

    locations = LOCATIONS[entity]
    country, city, zone, _ = (locations[0] if login or index == UK_HEAD
                              else rng.choices(locations, weights=[w[3] for w in locations])[0])
    hire = _hire_date(rng, level, as_of)
    termination = None
    if status == "terminated":
        hire = as_of - timedelta(days=rng.randint(400, 900))
        termination = as_of - timedelta(days=rng.randint(15, 150))
    currency = ENTITY_CURRENCY[entity]
    weekly = Decimal(rng.choice((24, 32))) if part_time else Decimal(40)
    return PersonPlan(
        index=index, employee_number=employee_number(index), first_name=first, last_name=last,
        email=email, entity=entity, level=level, manager=manager, country=country, city=city,
        time_zone=zone, status=status, hire_date=hire, termination_date=termination,
        weekly_hours=weekly.quantize(Decimal("0.01")),
        utilization_target=UTILIZATION_TARGET[level],
        cost_rates=_cost_rates(rng, currency, level, hire, as_of),
        login=login.username if login else None,
    )
