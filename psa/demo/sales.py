"""Clients, contracts and change orders of the demo firm, as plans (pure, deterministic)."""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from psa.demo import names
from psa.demo.scope import DemoScope
from psa.demo.tables import (
    BLENDED_RATE,
    CLIENT_LOCATIONS,
    ENTITY_CURRENCY,
    PAYMENT_TERMS,
    SERVICE_LINES,
    add_months,
)

# The first contracts walk every (billing model, revenue method) pair, so even a tiny demo
# shows them all; later ones draw from the weighted mix below.
COVERAGE: Final = (
    ("tm", "as_delivered"), ("fixed_milestones", "milestone"), ("tm_cap", "as_delivered"),
    ("fixed_installments", "pct_cost"), ("retainer", "ratable"),
    ("fixed_installments", "pct_hours"), ("tm", "as_delivered"),
    ("fixed_milestones", "pct_cost"), ("fixed_installments", "ratable"),
    ("tm_cap", "pct_hours"),
)
MIX: Final = (
    (("tm", "as_delivered"), 30), (("tm_cap", "as_delivered"), 12), (("tm_cap", "pct_hours"), 3),
    (("fixed_milestones", "milestone"), 15), (("fixed_milestones", "pct_cost"), 5),
    (("fixed_installments", "ratable"), 8), (("fixed_installments", "pct_cost"), 6),
    (("fixed_installments", "pct_hours"), 5), (("retainer", "ratable"), 10),
)
FORCED_STATUS: Final = {6: "completed", 10: "draft"}
# (status, ...) of change orders on the first contracts, so each status appears.
FORCED_CHANGE_ORDERS: Final = {0: ("approved",), 2: ("approved", "pending"), 3: ("rejected",)}


@dataclass(frozen=True, slots=True)
class ClientPlan:
    """One client to create."""

    index: int
    code: str
    name: str
    short_name: str
    entity: str
    currency: str
    country: str
    billing_address: str
    tax_rate: Decimal
    tax_jurisdiction: str
    payment_terms_days: int
    contact_name: str
    contact_email: str
    card_discount: Decimal | None  # set for clients with a negotiated card
    consolidated: bool


@dataclass(frozen=True, slots=True)
class ChangeOrderPlan:
    reference: str
    description: str
    value_change: Decimal
    cap_change: Decimal
    hours_change: Decimal
    effective_date: date
    status: str


@dataclass(slots=True)
class ContractPlan:
    """One contract; its projects are planned by `psa.demo.work`."""

    index: int
    code: str
    name: str
    client: ClientPlan
    service_line: str
    billing_model: str
    revenue_method: str
    status: str
    value: Decimal
    cap: Decimal | None
    start: date
    end: date
    signed: date | None
    retainer_amount: Decimal | None
    retainer_hours: Decimal | None
    markup: Decimal
    po_number: str
    card_discount: Decimal | None
    change_orders: list[ChangeOrderPlan] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.client.currency

    @property
    def entity(self) -> str:
        return self.client.entity

    @property
    def card_code(self) -> str:
        return f"CTR-{self.code}"


def client_code(index: int) -> str:
    return f"CL-{index + 1:05d}"


def contract_code(index: int) -> str:
    return f"SOW-{index + 1:05d}"


def plan_clients(scope: DemoScope) -> list[ClientPlan]:
    """Plan the clients: unique realistic names, entity, address, tax and billing contact."""
    combos = len(names.COMPANY_STEMS) * len(names.INDUSTRIES)
    picks = random.Random(f"{scope.seed}:client-names").sample(range(combos),
                                                               min(combos, scope.clients))
    return [_client(scope, index, picks[index % len(picks)], index // len(picks))
            for index in range(scope.clients)]


def _client(scope: DemoScope, index: int, pick: int, lap: int) -> ClientPlan:
    rng = scope.rng("client", index)
    stem = names.COMPANY_STEMS[pick // len(names.INDUSTRIES)]
    industry = names.INDUSTRIES[pick % len(names.INDUSTRIES)]
    short = f"{stem} {industry}" + (f" {lap + 1}" if lap else "")
    entity = "US" if rng.random() < 0.6 else "UK"
    currency = ENTITY_CURRENCY[entity]
    city, region, postcode, country, jurisdiction, tax_rate = rng.choice(CLIENT_LOCATIONS[entity])
    street = f"{rng.randint(1, 980)} {rng.choice(names.STREETS)}"
    locality = f"{city}, {region} {postcode}" if region else f"{city} {postcode}"
    contact_first, contact_last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    domain = f"{stem}{industry}".lower() + ".example"
    has_card = index in (1, 4) or rng.random() < 0.15
    return ClientPlan(
        index=index, code=client_code(index),
        name=f"{short} {rng.choice(names.COMPANY_SUFFIXES[currency])}", short_name=short,
        entity=entity, currency=currency, country=country,
        billing_address=f"Accounts Payable\n{street}\n{locality}\n"
                        + ("United States" if country == "US" else "United Kingdom"),
        tax_rate=tax_rate, tax_jurisdiction=jurisdiction,
        payment_terms_days=rng.choice(PAYMENT_TERMS),
        contact_name=f"{contact_first} {contact_last}",
        contact_email=f"{contact_first}.{contact_last}@{domain}".lower().replace("'", ""),
        card_discount=Decimal(rng.choice((5, 8, 10))) / 100 if has_card else None,
        consolidated=rng.random() < 0.1,
    )


def plan_contract(scope: DemoScope, index: int, clients: list[ClientPlan]) -> ContractPlan:
    """Plan one contract: model, dates consistent with its status, value, change orders."""
    rng = scope.rng("contract", index)
    client = clients[index] if index < len(clients) else rng.choice(clients)
    model, method = (COVERAGE[index] if index < len(COVERAGE)
                     else rng.choices([m for m, _ in MIX], weights=[w for _, w in MIX])[0])
    service_line = rng.choice(SERVICE_LINES)
    duration = rng.choice((3, 4, 6, 6, 9, 12, 12, 18))
    status = FORCED_STATUS.get(index) or rng.choices(("active", "completed", "draft"),
                                                     weights=(72, 18, 10))[0]
    start, end = _dates(scope, rng, status, duration)
    retainer_amount = retainer_hours = cap = None
    if model == "retainer":
        retainer_amount = Decimal(rng.randint(8, 40) * 1000)
        hours = int(retainer_amount / BLENDED_RATE[client.currency]) // 8 * 8
        retainer_hours = Decimal(max(hours, 8))
        value = retainer_amount * duration
    else:
        value = Decimal(rng.randint(6, 100) * 5000)
    if model == "tm_cap":
        cap = value if rng.random() < 0.5 else value * Decimal("1.10")

    plan = ContractPlan(
        index=index, code=contract_code(index),
        name=f"{client.short_name} · {rng.choice(names.ENGAGEMENTS[service_line])}",
        client=client, service_line=service_line, billing_model=model, revenue_method=method,
        status=status, value=value, cap=cap, start=start, end=end,
        signed=None if status == "draft" else start - timedelta(days=rng.randint(5, 30)),
        retainer_amount=retainer_amount, retainer_hours=retainer_hours,
        markup=Decimal(rng.choice((0, 0, 5, 10))),
        po_number=f"PO-{rng.randint(100000, 999999)}" if rng.random() < 0.6 else "",
        card_discount=(Decimal(rng.choice((6, 10, 12))) / 100
                       if index in (2, 9) or rng.random() < 0.1 else None),
    )
    _plan_change_orders(scope, plan, rng)
    return plan


def _dates(scope: DemoScope, rng: random.Random, status: str,
           duration: int) -> tuple[date, date]:
    """Service dates consistent with the status: running over as-of, ended, or not started."""
    if status == "draft":
        start = scope.as_of + timedelta(days=rng.randint(10, 60))
        return start, add_months(start, duration) - timedelta(days=1)
    if status == "completed":
        latest = (scope.as_of - scope.window_start).days - 10
        end = scope.as_of - timedelta(days=rng.randint(10, max(10, latest)))
        return add_months(end, -duration) + timedelta(days=1), end
    start = scope.window_start + timedelta(
        days=rng.randint(0, max(0, (scope.as_of - scope.window_start).days - 14)))
    end = add_months(start, duration) - timedelta(days=1)
    while end < scope.as_of + timedelta(days=14):
        end = add_months(end, 3)
    return start, end


def _plan_change_orders(scope: DemoScope, plan: ContractPlan, rng: random.Random) -> None:
    """Change orders on some running or finished contracts; approved ones update the value."""
    if plan.status == "draft" or plan.billing_model == "retainer":
        return
    statuses = FORCED_CHANGE_ORDERS.get(plan.index)
    if statuses is None:
        if rng.random() >= 0.3:
            return
        statuses = tuple(rng.choices(("approved", "pending", "rejected"), weights=(5, 3, 2),
                                     k=rng.randint(1, 2)))
    decided_until = min(plan.end, scope.as_of)
    for number, status in enumerate(statuses, start=1):
        if status == "pending" and plan.status == "completed":
            status = "approved"  # a finished engagement has nothing left pending
        if status == "pending" and plan.end >= scope.as_of:
            effective = scope.as_of + timedelta(days=rng.randint(0, (plan.end - scope.as_of).days))
        else:
            effective = plan.start + timedelta(
                days=rng.randint(0, max(0, (decided_until - plan.start).days)))
        change = Decimal(rng.randint(2, 12) * 2500)
        if rng.random() < 0.15 and plan.value > change * 2:
            change = -Decimal(rng.randint(1, 4) * 2500)
        cap_change = change if plan.billing_model == "tm_cap" else Decimal(0)
        hours = Decimal(int(change / BLENDED_RATE[plan.currency]))
        plan.change_orders.append(ChangeOrderPlan(
            reference=f"CO-{number:03d}", description=rng.choice(names.CHANGE_REASONS),
            value_change=change, cap_change=cap_change, hours_change=hours,
            effective_date=effective, status=status))
        if status == "approved":
            plan.value += change
            if plan.cap is not None:
                plan.cap += cap_change
