"""The demo seed, phase by phase: firm, people, clients, then contracts in batches.

Audit logging is switched off for the run (`disable_auditlog`): the rows are synthetic, the
bulk inserts would not be audited anyway (bulk_create sends no signals), and a log entry per
seeded row would double the run time for no reader. The run still happens inside
`acting_as(None)`, so anything that does record an entry attributes it to the system user.
"""

from collections.abc import Callable
from typing import Final

from auditlog.context import disable_auditlog
from django.contrib.auth.models import User
from django.db import transaction

from psa import models
from psa.common.logging import acting_as
from psa.demo import build_org, build_sales, build_work, time_and_expenses
from psa.demo.bulk import chunked
from psa.demo.people import DEMO_LOGINS, employee_number, plan_people
from psa.demo.sales import contract_code, plan_clients, plan_contract
from psa.demo.scope import DemoScope, Pools
from psa.demo.tables import month_start
from psa.demo.work import plan_overrides, plan_projects

CONTRACT_BATCH: Final = 500
DEMO_MANAGED_CONTRACTS: Final = 4  # the `manager` login runs the first active US contracts
COUNTED: Final = (
    models.LegalEntity, models.Period, models.Role, models.Person, models.CostRate,
    models.RateCard, models.RateCardLine, models.RateCardOverride, models.Client,
    models.Contract, models.ChangeOrder, models.Project, models.ProjectMember, models.Task,
    models.Milestone, User, models.ExpensePolicy, models.TimeOff, models.TimeEntry,
    models.Expense,
)

Log = Callable[[str], None]


def model_counts() -> dict[str, int]:
    """Rows per seeded model, for the summary and the idempotency test."""
    return {model._meta.object_name: model.objects.count() for model in COUNTED}


def demo_present(scope: DemoScope) -> bool:
    """Whether a complete seed of this size (and this month's periods) is already stored.

    The last contract is written in the last batch, so its presence means every phase ran.
    """
    return (User.objects.filter(username=DEMO_LOGINS[-1].username).exists()
            and models.Person.objects.filter(
                employee_number=employee_number(scope.people - 1)).exists()
            and models.Contract.objects.filter(code=contract_code(scope.contracts - 1)).exists()
            and models.Project.objects.filter(
                contract__code=contract_code(scope.contracts - 1)).exists()
            and models.Period.objects.filter(month=month_start(scope.as_of)).count() >= 2
            and models.ExchangeRate.objects.filter(month=month_start(scope.as_of)).exists()
            and models.Person.objects.count() >= scope.people
            and models.Client.objects.count() >= scope.clients
            and models.Contract.objects.count() >= scope.contracts
            and models.TimeEntry.objects.exists())


def seed_demo(*, scope: DemoScope, password: str, log: Log, force: bool = False) -> bool:
    """Create the demo firm for `scope`; returns False when it was already present.

    Idempotent: every row is found by its natural key, so a repeat creates and changes nothing.
    `force` skips the quick presence check and walks every phase anyway.
    """
    with acting_as(None), disable_auditlog():
        if not force and demo_present(scope):
            return False
        people = plan_people(seed=scope.seed, total=scope.people, as_of=scope.as_of)
        pools = Pools.from_people(people)
        with transaction.atomic():
            entity_ids = build_org.ensure_entities()
            build_org.ensure_periods(entity_ids, first=scope.window_start, last=scope.as_of)
            build_org.ensure_exchange_rates(first=scope.window_start, last=scope.as_of)
            role_ids = build_org.ensure_roles()
            build_org.ensure_standard_cards(role_ids, window_start=scope.window_start,
                                            as_of=scope.as_of)
            user_ids = build_org.ensure_users(people, password)
        with transaction.atomic():
            person_ids, created = build_org.ensure_people(
                people, entity_ids=entity_ids, role_ids=role_ids, user_ids=user_ids)
            build_org.ensure_cost_rates(people, person_ids, created)
        log(f"  firm: {len(entity_ids)} entities, {len(people)} people")
        del people

        clients = plan_clients(scope)
        card_from = build_org.rate_dates(scope.window_start, scope.as_of)[0]
        with transaction.atomic():
            client_ids = build_sales.ensure_clients(clients, entity_ids=entity_ids,
                                                    role_ids=role_ids, card_from=card_from)
            build_work.ensure_internal_projects(scope, pools, entity_ids=entity_ids,
                                                person_ids=person_ids, levels=pools.level,
                                                role_ids=role_ids)
        log(f"  clients: {len(clients)}")

        demo_left = DEMO_MANAGED_CONTRACTS
        for indices in chunked(range(scope.contracts), CONTRACT_BATCH):
            batch = []
            for index in indices:
                contract = plan_contract(scope, index, clients)
                demo = demo_left > 0 and contract.entity == "US" and contract.status == "active"
                demo_left -= demo
                projects = plan_projects(scope, contract, pools, demo_managed=demo)
                batch.append((contract, projects, plan_overrides(contract, projects, pools,
                                                                 scope)))
            with transaction.atomic():
                card_ids = build_sales.ensure_contract_cards(
                    [(c, overrides) for c, _, overrides in batch], client_ids=client_ids,
                    role_ids=role_ids, person_ids=person_ids, levels=pools.level)
                contract_ids = build_sales.ensure_contracts(
                    [c for c, _, _ in batch], entity_ids=entity_ids, client_ids=client_ids,
                    card_ids=card_ids, user_ids=user_ids)
                build_work.ensure_projects(
                    [(c, projects) for c, projects, _ in batch], contract_ids=contract_ids,
                    client_ids=client_ids, entity_ids=entity_ids, person_ids=person_ids,
                    levels=pools.level, role_ids=role_ids, user_ids=user_ids)
            log(f"  contracts: {indices[-1] + 1}/{scope.contracts}")
        time_and_expenses.ensure_time_and_expenses(scope, entity_ids=entity_ids, log=log)
    return True
