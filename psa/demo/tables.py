"""Fixed tables of the demo firm: entities, roles, rates, locations, taxes, WBS templates."""

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """One legal entity of the demo firm."""

    code: str
    name: str
    country: str
    currency: str
    time_zone: str
    tax_registration: str
    address: str


ENTITIES: Final = (
    EntitySpec("US", "Northwind Consulting Inc.", "US", "USD", "America/New_York",
               "EIN 84-2719365", "200 Berkeley Street, Floor 12\nBoston, MA 02116\nUnited States"),
    EntitySpec("UK", "Northwind Consulting Ltd", "GB", "GBP", "Europe/London",
               "GB 284 7193 65", "1 Finsbury Avenue\nLondon EC2M 2PF\nUnited Kingdom"),
)
ENTITY_CURRENCY: Final = {spec.code: spec.currency for spec in ENTITIES}
FIRM_DOMAIN: Final = "northwind.example"

# (code, name, level, description)
ROLES: Final = (
    ("ANL", "Analyst", 1, "Research, modelling and delivery support."),
    ("CONS", "Consultant", 2, "Delivers workstreams under supervision."),
    ("SCON", "Senior Consultant", 3, "Leads workstreams and client workshops."),
    ("MGR", "Manager", 4, "Runs engagements: plan, budget, team and client."),
    ("PTR", "Partner", 5, "Owns client relationships and signs engagements."),
)
ROLE_CODE_BY_LEVEL: Final = {level: code for code, _, level, _ in ROLES}

# Standard hourly bill rates by currency and role level; the second card date raises them.
BILL_RATES: Final = {
    "USD": {1: Decimal("125"), 2: Decimal("175"), 3: Decimal("225"), 4: Decimal("275"),
            5: Decimal("375")},
    "GBP": {1: Decimal("95"), 2: Decimal("135"), 3: Decimal("175"), 4: Decimal("215"),
            5: Decimal("295")},
}
RATE_RAISE: Final = Decimal("1.05")
# Typical hourly cost by currency and level (before a person's own spread).
COST_RATES: Final = {
    "USD": {1: 55, 2: 75, 3: 95, 4: 120, 5: 170},
    "GBP": {1: 42, 2: 58, 3: 74, 4: 95, 5: 135},
}
# Blended bill and cost rates for turning project budgets into hours.
BLENDED_RATE: Final = {"USD": Decimal("190"), "GBP": Decimal("150")}
BLENDED_COST: Final = {"USD": Decimal("85"), "GBP": Decimal("65")}
UTILIZATION_TARGET: Final = {1: Decimal("85.00"), 2: Decimal("80.00"), 3: Decimal("75.00"),
                             4: Decimal("60.00"), 5: Decimal("35.00")}

# Where people of each entity sit: (country, city, time zone, weight). Countries are ones the
# `holidays` package knows, so capacity calendars can use them.
LOCATIONS: Final = {
    "US": (("US", "New York", "America/New_York", 5), ("US", "Boston", "America/New_York", 4),
           ("US", "Chicago", "America/Chicago", 3), ("US", "Austin", "America/Chicago", 2),
           ("US", "San Francisco", "America/Los_Angeles", 3),
           ("US", "Atlanta", "America/New_York", 2), ("CA", "Toronto", "America/Toronto", 2)),
    "UK": (("GB", "London", "Europe/London", 6), ("GB", "Manchester", "Europe/London", 2),
           ("GB", "Edinburgh", "Europe/London", 1), ("GB", "Bristol", "Europe/London", 1),
           ("DE", "Berlin", "Europe/Berlin", 1), ("DE", "Munich", "Europe/Berlin", 1)),
}

# Client billing locations: (city, region, postal code, country, tax jurisdiction, tax rate).
CLIENT_LOCATIONS: Final = {
    "US": (("New York", "NY", "10017", "US", "US-NY", Decimal("8.8750")),
           ("Austin", "TX", "78701", "US", "US-TX", Decimal("8.2500")),
           ("Houston", "TX", "77002", "US", "US-TX", Decimal("8.2500")),
           ("Chicago", "IL", "60601", "US", "US-IL", Decimal("10.2500")),
           ("Boston", "MA", "02110", "US", "US-MA", Decimal("6.2500")),
           ("Seattle", "WA", "98101", "US", "US-WA", Decimal("10.2500")),
           ("San Jose", "CA", "95113", "US", "US-CA", Decimal("9.3750")),
           ("Denver", "CO", "80202", "US", "US-CO", Decimal("8.8100"))),
    "UK": (("London", "", "EC2V 7HH", "GB", "GB-VAT", Decimal("20.0000")),
           ("Manchester", "", "M2 3WQ", "GB", "GB-VAT", Decimal("20.0000")),
           ("Leeds", "", "LS1 4DY", "GB", "GB-VAT", Decimal("20.0000")),
           ("Birmingham", "", "B3 2HJ", "GB", "GB-VAT", Decimal("20.0000")),
           ("Glasgow", "", "G2 1DY", "GB", "GB-VAT", Decimal("20.0000"))),
}
PAYMENT_TERMS: Final = (30, 30, 30, 45, 60, 15)

SERVICE_LINES: Final = ("Cloud", "Data", "Strategy", "Security")
# Per service line: (phase name, relative weight, ((leaf name, relative weight, billable), ...)).
WBS_TEMPLATES: Final = {
    "Cloud": (
        ("Discovery", 2, (("Current-state assessment", 3, True), ("Landing zone design", 2, True))),
        ("Migration", 5, (("Wave planning", 1, True), ("Workload migration", 4, True),
                          ("Cutover", 1, True))),
        ("Hypercare", 2, (("Stabilisation", 2, True), ("Knowledge transfer", 1, True))),
    ),
    "Data": (
        ("Discovery", 2, (("Source system analysis", 2, True), ("Data model design", 2, True))),
        ("Build", 5, (("Pipelines", 3, True), ("Dashboards", 2, True),
                      ("Data quality rules", 1, True))),
        ("Rollout", 2, (("User acceptance support", 2, True), ("Training", 1, True))),
    ),
    "Strategy": (
        ("Diagnose", 3, (("Stakeholder interviews", 2, True), ("Market scan", 2, True))),
        ("Design", 4, (("Operating model options", 3, True), ("Business case", 2, True))),
        ("Mobilise", 2, (("Roadmap", 2, True), ("Steering committee pack", 1, True))),
    ),
    "Security": (
        ("Assess", 3, (("Threat modelling", 2, True), ("Controls review", 2, True))),
        ("Remediate", 4, (("Identity hardening", 2, True), ("Vulnerability remediation", 3, True))),
        ("Assure", 2, (("Penetration test support", 1, True), ("Audit evidence", 1, True),
                       ("Pre-sales follow-up", 1, False))),
    ),
}
# Every client project ends with this phase; its review task is not billed.
PM_PHASE: Final = ("Project management", 1, (("Status reporting", 2, True),
                                             ("Internal quality review", 1, False)))
# Internal projects per entity: (code suffix, name, ((leaf name, hours), ...)).
INTERNAL_PROJECTS: Final = (
    ("TRAIN", "Internal · Training", (("Certifications", 400), ("Conferences", 200))),
    ("BENCH", "Internal · Bench", (("Bench time", 2000), ("Internal initiatives", 600))),
)


def month_start(day: date) -> date:
    """The first day of the day's month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's last day."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def split_int(total: int, weights: list[int]) -> list[int]:
    """Split a whole number by weights; the last part takes the residual."""
    weight_sum = sum(weights)
    parts = [total * w // weight_sum for w in weights[:-1]]
    return [*parts, total - sum(parts)]
