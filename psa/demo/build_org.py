"""Writes the firm: entities, periods, roles, standard rate cards, demo users, people, costs."""

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import Group, User

from psa import models, roles
from psa.demo.bulk import ids_by, insert, missing
from psa.demo.people import DEMO_LOGINS, SERVICE_USERNAME, PersonPlan
from psa.demo.tables import (
    BILL_RATES,
    ENTITIES,
    FIRM_DOMAIN,
    RATE_RAISE,
    ROLES,
    add_months,
    month_start,
)


def ensure_entities() -> dict[str, int]:
    """The US and UK entities, {code: id}."""
    ids = {}
    for spec in ENTITIES:
        entity, _ = models.LegalEntity.objects.get_or_create(code=spec.code, defaults={
            "name": spec.name, "country": spec.country, "base_currency": spec.currency,
            "time_zone": spec.time_zone, "invoice_prefix": spec.code,
            "tax_registration": spec.tax_registration, "address": spec.address})
        ids[spec.code] = entity.pk
    return ids


def ensure_periods(entity_ids: dict[str, int], *, first: date, last: date) -> None:
    """An open period per entity for every month from `first` to `last` (inclusive)."""
    months = []
    month = month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    insert(models.Period, (models.Period(legal_entity_id=entity_id, month=month)
                           for entity_id in entity_ids.values() for month in months))


# Monthly average rates into US dollars: a start and a small drift per month, so the converted
# dashboard moves a little as real rates do.
DEMO_RATES_TO_USD = {"GBP": (Decimal("1.2650"), Decimal("0.0030")),
                     "EUR": (Decimal("1.0850"), Decimal("-0.0020"))}


def ensure_exchange_rates(*, first: date, last: date) -> None:
    """A rate into USD per month from `first` to `last` for each demo currency."""
    rows, month, index = [], month_start(first), 0
    while month <= last:
        for currency, (start, drift) in DEMO_RATES_TO_USD.items():
            wobble = drift * (index % 6 - 2)
            rows.append(models.ExchangeRate(from_currency=currency, to_currency="USD",
                                            month=month, rate=start + wobble))
        month, index = add_months(month, 1), index + 1
    insert(models.ExchangeRate, rows)


def ensure_roles() -> dict[int, int]:
    """Analyst … Partner, {level: id}."""
    insert(models.Role, (models.Role(code=code, name=name, level=level, description=text)
                         for code, name, level, text in ROLES))
    by_code = ids_by(models.Role, "code", [code for code, *_ in ROLES])
    return {level: by_code[code] for code, _, level, _ in ROLES}


def rate_dates(window_start: date, as_of: date) -> tuple[date, date]:
    """When the standard cards' older lines and their raise take effect."""
    return date(window_start.year - 1, 1, 1), date(as_of.year, 1, 1)


def ensure_standard_cards(role_ids: dict[int, int], *, window_start: date,
                          as_of: date) -> dict[str, int]:
    """One active standard card per currency with a line per role on two dates."""
    older, newer = rate_dates(window_start, as_of)
    codes = {currency: f"STD-{currency}" for currency in BILL_RATES}
    new = missing(models.RateCard, "code", codes.values())
    insert(models.RateCard, (models.RateCard(code=code, name=f"Standard rates {currency}",
                                             kind=models.RateCard.Kind.STANDARD,
                                             currency=currency)
                             for currency, code in codes.items()))
    card_ids = ids_by(models.RateCard, "code", codes.values())
    insert(models.RateCardLine, (
        models.RateCardLine(rate_card_id=card_ids[code], role_id=role_ids[level],
                            hourly_rate=rate if when == older else rate * RATE_RAISE,
                            effective_from=when)
        for currency, code in codes.items() if code in new
        for level, rate in BILL_RATES[currency].items()
        for when in (older, newer)))
    return {currency: card_ids[code] for currency, code in codes.items()}


def ensure_users(people: list[PersonPlan], password: str) -> dict[str, int]:
    """The demo logins in their role groups, plus the ERP service account, {username: id}.

    Passwords are set only when a user is created, so a second run changes nothing.
    """
    by_login = {person.login: person for person in people if person.login}
    ids = {}
    for login in DEMO_LOGINS:
        person = by_login[login.username]
        user, created = User.objects.get_or_create(username=login.username, defaults={
            "first_name": person.first_name, "last_name": person.last_name,
            "email": f"{login.username}@{FIRM_DOMAIN}",
            "is_staff": login.group == roles.ADMINISTRATOR,
            "is_superuser": login.group == roles.ADMINISTRATOR})
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=login.group)[0])
        ids[login.username] = user.pk
    bot, created = User.objects.get_or_create(username=SERVICE_USERNAME, defaults={
        "first_name": "ERP", "last_name": "integration", "email": f"erp-bot@{FIRM_DOMAIN}"})
    if created:
        bot.set_unusable_password()
        bot.save(update_fields=["password"])
    bot.groups.add(Group.objects.get_or_create(name=roles.SERVICE)[0])
    ids[SERVICE_USERNAME] = bot.pk
    return ids


def ensure_people(people: list[PersonPlan], *, entity_ids: dict[str, int],
                  role_ids: dict[int, int],
                  user_ids: dict[str, int]) -> tuple[dict[int, int], set[int]]:
    """Every planned person, managers before their reports.

    Returns ({plan index: id}, the indices of the people created now).
    """
    ids: dict[int, int] = {}
    created: set[int] = set()
    pending: list[PersonPlan] = []

    def flush() -> None:
        new = missing(models.Person, "employee_number", [p.employee_number for p in pending])
        created.update(p.index for p in pending if p.employee_number in new)
        insert(models.Person, (_person_row(p, entity_ids, role_ids, user_ids, ids)
                               for p in pending))
        found = ids_by(models.Person, "employee_number", [p.employee_number for p in pending])
        ids.update({p.index: found[p.employee_number] for p in pending})
        pending.clear()

    ordered = sorted(people, key=lambda p: (p.manager is not None, -p.level, p.index))
    for person in ordered:
        if person.manager is not None and person.manager not in ids:
            flush()  # the manager is in the pending batch: store it first
        pending.append(person)
        if len(pending) >= 1000:
            flush()
    if pending:
        flush()
    return ids, created


def _person_row(person: PersonPlan, entity_ids: dict[str, int], role_ids: dict[int, int],
                user_ids: dict[str, int], ids: dict[int, int]) -> models.Person:
    return models.Person(
        user_id=user_ids.get(person.login) if person.login else None,
        employee_number=person.employee_number, first_name=person.first_name,
        last_name=person.last_name, email=person.email,
        legal_entity_id=entity_ids[person.entity], role_id=role_ids[person.level],
        manager_id=ids[person.manager] if person.manager is not None else None,
        country=person.country, city=person.city, time_zone=person.time_zone,
        employment_status=person.status, hire_date=person.hire_date,
        termination_date=person.termination_date, weekly_standard_hours=person.weekly_hours,
        utilization_target=person.utilization_target)


def ensure_cost_rates(people: list[PersonPlan], person_ids: dict[int, int],
                      created: set[int]) -> None:
    """Two effective-dated cost rates per new person: the hiring rate and a raise."""
    currency = {spec.code: spec.currency for spec in ENTITIES}
    insert(models.CostRate, (
        models.CostRate(person_id=person_ids[person.index], hourly_cost=cost,
                        currency=currency[person.entity], effective_from=when)
        for person in people if person.index in created for when, cost in person.cost_rates))
