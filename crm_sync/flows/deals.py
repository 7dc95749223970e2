"""What a CRM deal means here: pipeline demand while it is open, a client, contract and staffed
project once won (vendor-neutral: a connector builds `DealFacts` and calls `deal_apply`).

Behaviour by stage:

- a *tentative* stage: one tentative resource request per line item (role, hours spread over
  the deal's expected dates), weighted by the stage's probability; a re-run updates them and
  cancels the requests of removed line items;
- an open stage below the tentative threshold: the deal's requests are cancelled (the demand
  is no longer likely enough to plan for);
- *lost*: the open requests are cancelled and `lost_at` recorded;
- *won*: client, contract, rate card, project (with its template's tasks and milestones) and
  real requests, each created once and linked by external id; later, a changed amount raises
  one pending change order for the difference.

Connection options (`Connection.options`):

- `tentative_stages`: stage ids whose deals are planned for; default: every stage that is
  neither won nor lost with a probability of at least 0.5;
- `won_stages` (default `["closedwon"]`), `lost_stages` (default `["closedlost"]`);
- `pipelines`: `{pipeline id: {...}}` with a `default` entry the others fall back to; keys
  `billing_model` (`tm`), `revenue_method` (`as_delivered`), `template` (a ProjectTemplate
  code; none: one "Delivery" task), `payment_terms_days` (30, for new clients only),
  `duration_weeks` (12: a deal without an end date runs that long);
- `manager_employee_number`: the manager of projects created from deals (required to win);
- `code_prefix` (`CRM`): prefix of the codes of created clients, contracts, projects, cards.

The legal entity is `connection.legal_entity`, else the first one. Deal properties
`psa_billing_model`, `psa_revenue_method`, `psa_start_date`, `psa_end_date` and
`psa_project_template` override the pipeline's defaults for one deal.

Deal terms are the CRM's; of a client only the name is, of a contract its name (its value
changes through change orders), and nothing of a project once created (ARCHITECTURE.md:
system of record). Fields this application owns are set at creation and never overwritten.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from crm_sync.models import Connection, Deal, DealRequest
from crm_sync.ownership import changed_fields, owned_values
from crm_sync.services.refs import ref_lookup, ref_of
from psa import events
from psa.common.errors import DomainError
from psa.common.logging import system_user
from psa.common.money import quantize
from psa.models import (
    ChangeOrder,
    Client,
    Contract,
    ExternalRef,
    LegalEntity,
    Person,
    Project,
    ProjectTemplate,
    RateCard,
    Role,
)
from psa.services import (
    change_order_create,
    client_create,
    client_update,
    contract_create,
    contract_update,
    project_create,
    rate_card_create,
    rate_card_update,
    task_create,
)
from psa.services.templates import project_apply_template
from resourcing.models import ResourceRequest
from resourcing.services import request_cancel, request_create, request_update

logger = logging.getLogger(__name__)

HUNDRED = Decimal("100")
TENTATIVE_THRESHOLD = Decimal("0.5")
PIPELINE_DEFAULTS: dict[str, Any] = {"billing_model": "tm", "revenue_method": "as_delivered",
                                     "template": "", "payment_terms_days": 30,
                                     "duration_weeks": 12}
# What the CRM owns of the rows a won deal creates; everything else is this application's
# (projects entirely, once created: ARCHITECTURE.md gives them to this application).
CLIENT_OWNED = ("name",)
CONTRACT_OWNED = ("name",)


@dataclass(frozen=True)
class CompanyFacts:
    id: str
    name: str
    domain: str = ""


@dataclass(frozen=True)
class LineItemFacts:
    id: str
    name: str
    role_code: str
    hours: Decimal
    rate: Decimal | None = None


@dataclass(frozen=True)
class DealFacts:
    """A deal as the CRM has it now; `probability` is the stage's, from 0 to 1."""

    id: str
    name: str
    pipeline: str
    stage: str
    probability: Decimal
    amount: Decimal
    currency: str
    close_date: date | None
    properties: dict[str, str] = field(default_factory=dict)
    company: CompanyFacts | None = None
    line_items: tuple[LineItemFacts, ...] = ()
    modified_at: datetime | None = None


@dataclass(frozen=True)
class DealOptions:
    tentative_stages: frozenset[str] | None
    won_stages: frozenset[str]
    lost_stages: frozenset[str]
    pipelines: dict[str, dict[str, Any]]
    manager_employee_number: str
    code_prefix: str

    @classmethod
    def of(cls, connection: Connection) -> DealOptions:
        options = connection.options or {}
        tentative = options.get("tentative_stages")
        return cls(tentative_stages=frozenset(tentative) if tentative is not None else None,
                   won_stages=frozenset(options.get("won_stages") or ["closedwon"]),
                   lost_stages=frozenset(options.get("lost_stages") or ["closedlost"]),
                   pipelines=options.get("pipelines") or {},
                   manager_employee_number=str(options.get("manager_employee_number", "")),
                   code_prefix=str(options.get("code_prefix") or "CRM"))

    def pipeline(self, pipeline_id: str) -> dict[str, Any]:
        return {**PIPELINE_DEFAULTS, **self.pipelines.get("default", {}),
                **self.pipelines.get(pipeline_id, {})}

    def phase(self, facts: DealFacts) -> str:
        if facts.stage in self.won_stages:
            return "won"
        if facts.stage in self.lost_stages:
            return "lost"
        if self.tentative_stages is not None:
            return "tentative" if facts.stage in self.tentative_stages else "open"
        return "tentative" if facts.probability >= TENTATIVE_THRESHOLD else "open"


@dataclass
class _Run:
    """One application of a deal's facts: what it needs at hand, and what it did."""

    connection: Connection
    deal: Deal
    facts: DealFacts
    options: DealOptions
    actor: User
    done: list[str] = field(default_factory=list)


def deal_apply(*, connection: Connection, facts: DealFacts) -> str:
    """Bring our rows in line with the deal; returns what was done (for the inbound log).

    Idempotent: runs under the deal's row lock, re-reads nothing remote, creates each row once
    (found again by external id), and skips facts older than those last applied. Events the
    services publish carry the deal's correlation id. Raises DomainError or ValidationError
    when a won deal cannot become a project (the error is kept on the deal, too).
    """
    deal, _ = Deal.objects.get_or_create(
        connection=connection, external_id=facts.id,
        defaults={"name": facts.name[:200], "correlation_id": uuid.uuid4().hex})
    try:
        with events.correlation(deal.correlation_id):
            return _apply(connection, deal.pk, facts)
    except Exception as exc:
        Deal.objects.filter(pk=deal.pk).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise


@transaction.atomic
def _apply(connection: Connection, deal_id: int, facts: DealFacts) -> str:
    deal = Deal.objects.select_for_update(of=("self",)).get(pk=deal_id)
    if facts.modified_at and deal.remote_modified_at and \
            facts.modified_at < deal.remote_modified_at:
        return (f"ignored: deal {facts.id} as of {facts.modified_at.isoformat()} is older than "
                f"the version applied ({deal.remote_modified_at.isoformat()})")
    options = DealOptions.of(connection)
    run = _Run(connection, deal, facts, options, system_user())
    phase = options.phase(facts)
    _record(deal, facts)
    if phase == "won":
        _win(run)
    elif deal.is_won:
        run.done.append(f"moved to {facts.stage} after it was won; the project stays")
    elif phase == "lost":
        _cancel_requests(run, keep=set())
        deal.lost_at = deal.lost_at or timezone.now()
    else:
        deal.lost_at = None
        if phase == "tentative":
            _tentative(run)
        else:
            _cancel_requests(run, keep=set())
    deal.last_error = ""
    deal.save()
    return f"deal {facts.id} {phase}: " + ("; ".join(run.done) or "nothing to change")


def _record(deal: Deal, facts: DealFacts) -> None:
    deal.name = facts.name[:200]
    deal.pipeline, deal.stage = facts.pipeline[:64], facts.stage[:64]
    deal.probability = (facts.probability * HUNDRED).quantize(Decimal("0.01"))
    deal.amount, deal.currency = facts.amount, facts.currency[:3]
    deal.close_date = facts.close_date
    deal.company_external_id = facts.company.id if facts.company else ""
    deal.properties = dict(facts.properties)
    if facts.modified_at and (not deal.remote_modified_at
                              or facts.modified_at > deal.remote_modified_at):
        deal.remote_modified_at = facts.modified_at


# --- dates, amounts, lookups ----------------------------------------------------------------


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def _dates(run: _Run) -> tuple[date, date]:
    """The deal's expected service dates (inclusive): its psa_ dates, else from the close."""
    props = run.facts.properties
    start = _date(props.get("psa_start_date")) or run.facts.close_date or timezone.localdate()
    weeks = int(run.options.pipeline(run.facts.pipeline)["duration_weeks"])
    end = _date(props.get("psa_end_date")) or start + timedelta(weeks=weeks, days=-1)
    return start, max(start, end)


def _hours_per_week(hours: Decimal, start: date, end: date) -> Decimal:
    """The line's hours spread evenly over the weekdays, rounded up to a quarter hour."""
    weekdays = sum(1 for n in range((end - start).days + 1)
                   if (start + timedelta(days=n)).weekday() < 5)
    per_week = hours * 5 / max(1, weekdays)
    quarters = (per_week * 4).to_integral_value(rounding=ROUND_CEILING)
    return min(Decimal("168"), max(Decimal("0.25"), quarters / 4))


def _currency(run: _Run) -> str:
    return run.facts.currency or _legal_entity(run.connection).base_currency


def _amount(run: _Run) -> Decimal:
    return quantize(run.facts.amount, _currency(run))


def _legal_entity(connection: Connection) -> LegalEntity:
    entity = connection.legal_entity or LegalEntity.objects.order_by("pk").first()
    if entity is None:
        raise DomainError("There is no legal entity to book won deals in.")
    return entity


def _roles(run: _Run) -> dict[str, Role]:
    codes = {line.role_code for line in run.facts.line_items if line.role_code}
    return {role.code: role for role in Role.objects.filter(code__in=codes)}


def _ref(run: _Run, external_id: str) -> list[dict[str, str]]:
    return [{"system": run.connection.name, "id": external_id}]


def _code(run: _Run, external_id: str, max_length: int) -> str:
    return f"{run.options.code_prefix}-{external_id}"[:max_length]


# --- requests -------------------------------------------------------------------------------


def _sync_requests(run: _Run, base: dict[str, Any], start: date, end: date) -> None:
    """One request per line item with a known role; removed lines' requests are cancelled."""
    roles = _roles(run)
    kept, created, updated, skipped = set(), 0, 0, 0
    for line in run.facts.line_items:
        role = roles.get(line.role_code)
        if role is None or line.hours <= 0:
            skipped += 1
            continue
        kept.add(line.id)
        data = {**base, "role": role, "start_date": start, "end_date": end,
                "hours_per_week": _hours_per_week(line.hours, start, end),
                "bill_rate": line.rate, "currency": base.get("currency", ""),
                "notes": line.name[:500], "deal_name": run.facts.name[:200],
                "deal_ref": run.facts.id[:100]}
        outcome = _request_upsert(run, line.id, data)
        created += outcome == "created"
        updated += outcome == "updated"
    cancelled = _cancel_requests(run, keep=kept, report=False)
    counts = [f"{n} {what}" for n, what in ((created, "created"), (updated, "updated"),
                                            (cancelled, "cancelled")) if n]
    if counts:
        run.done.append(f"requests {', '.join(counts)}")
    if skipped:
        run.done.append(f"{skipped} line item(s) without a known role or hours skipped")


def _request_upsert(run: _Run, line_id: str, data: dict[str, Any]) -> str:
    link = (DealRequest.objects.select_related("request")
            .filter(deal=run.deal, line_item_id=line_id).first())
    if link is not None and link.request.status != ResourceRequest.Status.CANCELLED:
        request = link.request
        if all(getattr(request, name) == value for name, value in data.items()):
            return "unchanged"
        request_update(actor=run.actor, request=request, data=data)
        return "updated"
    # A cancelled request cannot be changed: a line that comes back gets a new one.
    request = request_create(actor=run.actor, data=data)
    if link is None:
        DealRequest.objects.create(deal=run.deal, line_item_id=line_id, request=request)
    else:
        link.request = request
        link.save(update_fields=["request"])
    return "created"


def _cancel_requests(run: _Run, *, keep: set[str], report: bool = True) -> int:
    links = (DealRequest.objects.filter(deal=run.deal).exclude(line_item_id__in=keep)
             .exclude(request__status=ResourceRequest.Status.CANCELLED)
             .select_related("request"))
    count = 0
    for link in links:
        request_cancel(actor=run.actor, request=link.request)
        count += 1
    if count and report:
        run.done.append(f"{count} request(s) cancelled")
    return count


def _tentative(run: _Run) -> None:
    start, end = _dates(run)
    probability = (run.facts.probability * HUNDRED).quantize(Decimal("0.01"))
    _sync_requests(run, {"project": None, "is_tentative": True, "probability": probability,
                         "currency": _currency(run)}, start, end)


# --- won --------------------------------------------------------------------------------------


def _win(run: _Run) -> None:
    deal = run.deal
    client = _client(run)
    contract = _contract(run, client)
    first_win = deal.project_id is None
    project = _project(run, contract)
    if first_win:
        # The tentative requests become real ones once; from then on staffing is this
        # application's (a resource manager's edits are never overwritten by the CRM).
        _sync_requests(run, {"project": project, "is_tentative": False,
                             "probability": HUNDRED, "currency": project.currency},
                       project.start_date, project.end_date)
    deal.client, deal.contract, deal.project = client, contract, project
    deal.won_at = deal.won_at or timezone.now()
    deal.project_created_at = deal.project_created_at or timezone.now()
    amount = _amount(run)
    if deal.amount_booked is None:
        deal.amount_booked = amount
    elif amount != deal.amount_booked:
        change_order = _change_order(run, contract, amount - deal.amount_booked)
        deal.amount_booked = amount
        run.done.append(f"change order {change_order.reference} for "
                        f"{change_order.value_change_amount} {contract.currency}")


def _client(run: _Run) -> Client:
    company = run.facts.company
    client = run.deal.client
    if client is None and company is not None:
        client = ref_lookup(run.connection, Client, company.id) or _client_by_domain(
            run, company.domain)
    if client is None and company is None:
        raise DomainError(f"Deal {run.facts.id} has no company: a won deal needs one to "
                          "become a client.", attr="company")
    name = (company.name if company and company.name else run.facts.name)[:200]
    pipeline = run.options.pipeline(run.facts.pipeline)
    entity = _legal_entity(run.connection)
    values = {"name": name, "legal_entity": entity, "currency": _currency(run),
              "payment_terms_days": int(pipeline["payment_terms_days"])}
    if client is None:
        client = client_create(actor=run.actor, external_refs=_ref(run, company.id), data={
            **values, "code": _code(run, company.id, 20), "country": entity.country})
        run.done.append(f"client {client.code} created")
        return client
    changes = changed_fields(client, owned_values(values, CLIENT_OWNED,
                                                  what=f"client {client.code}"))
    refs = _ref(run, company.id) if company and ref_of(run.connection, client) is None else None
    if changes or refs:
        client = client_update(client=client, actor=run.actor, data=changes, external_refs=refs)
        run.done.append(f"client {client.code} updated")
    return client


def _client_by_domain(run: _Run, domain: str) -> Client | None:
    """A client not yet linked in this system whose billing e-mail is at the company's domain
    (clients have no website field; the billing contact's domain is the closest fact)."""
    domain = domain.strip().lower().removeprefix("https://").removeprefix("http://")
    domain = domain.removeprefix("www.").split("/")[0]
    if not domain:
        return None
    linked = ExternalRef.objects.filter(content_type=ContentType.objects.get_for_model(Client),
                                        system=run.connection.name).values("object_id")
    return (Client.objects.filter(billing_contact_email__iendswith=f"@{domain}")
            .exclude(pk__in=linked).order_by("pk").first())


def _choice(value: str | None, choices: Any, default: str, what: str) -> str:
    if value and value in choices.values:
        return value
    if default not in choices.values:
        raise DomainError(f"The pipeline's {what} {default!r} is not one of "
                          f"{', '.join(choices.values)}.", attr=what)
    return default


def _rate_card(run: _Run, client: Client, currency: str, start: date, *,
               create: bool = True) -> RateCard | None:
    """A contract card from the line items' rates (the first rate of a role wins), else the
    client's card when it is in the deal's currency. Later runs update the deal's card's
    rates (`create=False`: a contract keeps the card it was made with)."""
    roles = _roles(run)
    rates: dict[Role, Decimal] = {}
    for line in run.facts.line_items:
        if line.rate is not None and line.rate >= 0 and line.role_code in roles:
            rates.setdefault(roles[line.role_code], line.rate)
    if not rates:
        card = client.rate_card
        return card if card is not None and card.currency == currency else None
    code = _code(run, f"D{run.facts.id}", 30)
    card = RateCard.objects.filter(code=code).first()
    lines = [{"role": role, "hourly_rate": rate, "effective_from": start}
             for role, rate in rates.items()]
    if card is None:
        if not create:
            return None
        return rate_card_create(actor=run.actor, lines=lines, data={
            "code": code, "name": f"{run.facts.name} rates"[:200],
            "kind": RateCard.Kind.CONTRACT, "currency": currency, "client": client})
    current = {(line.role_id, line.effective_from): line.hourly_rate for line in card.lines.all()}
    changed = [line for line in lines
               if current.get((line["role"].pk, start)) != line["hourly_rate"]]
    if changed:
        rate_card_update(rate_card=card, actor=run.actor, data={}, lines=changed)
    return card


def _contract(run: _Run, client: Client) -> Contract:
    contract = run.deal.contract or ref_lookup(run.connection, Contract, run.facts.id)
    if contract is not None:
        changes = changed_fields(contract, owned_values(
            {"name": run.facts.name[:200]}, CONTRACT_OWNED, what=f"contract {contract.code}"))
        if changes:
            contract = contract_update(contract=contract, actor=run.actor, data=changes)
            run.done.append(f"contract {contract.code} updated")
        # The contract's rates are this application's once it exists: price changes in the
        # CRM after the win go through change orders, never back-dated into the card.
        return contract
    props, pipeline = run.facts.properties, run.options.pipeline(run.facts.pipeline)
    billing_model = _choice(props.get("psa_billing_model"), Contract.BillingModel,
                            pipeline["billing_model"], "billing_model")
    revenue_method = _choice(props.get("psa_revenue_method"), Contract.RevenueMethod,
                             pipeline["revenue_method"], "revenue_method")
    start, end = _dates(run)
    currency, amount = client.currency, _amount(run)
    if run.facts.currency and run.facts.currency != currency:
        # Never book a EUR deal as a USD contract: someone must decide (a client per currency).
        raise DomainError(
            f"Deal {run.facts.id} is in {run.facts.currency} but its client "
            f"{client.code} bills in {currency}.", code="currency_mismatch", attr="currency")
    data = {"code": _code(run, f"D{run.facts.id}", 30), "name": run.facts.name[:200],
            "client": client, "currency": currency, "billing_model": billing_model,
            "revenue_method": revenue_method, "status": Contract.Status.ACTIVE,
            "value_amount": amount, "start_date": start, "end_date": end,
            "signed_date": run.facts.close_date,
            "rate_card": _rate_card(run, client, currency, start)}
    if billing_model == Contract.BillingModel.TIME_AND_MATERIALS_CAP:
        data["cap_amount"] = amount
    if billing_model == Contract.BillingModel.RETAINER:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        data["retainer_amount"] = quantize(amount / months, currency)
    contract = contract_create(actor=run.actor, data=data, external_refs=_ref(run, run.facts.id))
    run.done.append(f"contract {contract.code} created")
    return contract


def _manager(run: _Run) -> Person:
    number = run.options.manager_employee_number
    manager = Person.objects.filter(employee_number=number).first() if number else None
    if manager is None:
        raise DomainError(f"Set the {run.connection.name} connection's option "
                          "manager_employee_number to an existing person: won deals need a "
                          "project manager.", attr="manager_employee_number")
    return manager


def _template(run: _Run) -> ProjectTemplate | None:
    """The deal's own template if it names a known one, else the pipeline's (which must
    exist when it is set)."""
    own = run.facts.properties.get("psa_project_template", "")
    template = ProjectTemplate.objects.filter(code=own).first() if own else None
    if template is not None:
        return template
    code = run.options.pipeline(run.facts.pipeline)["template"]
    if not code:
        return None
    template = ProjectTemplate.objects.filter(code=code).first()
    if template is None:
        raise DomainError(f"The pipeline's project template {code!r} does not exist.",
                          attr="template")
    return template


def _project(run: _Run, contract: Contract) -> Project:
    project = run.deal.project or ref_lookup(run.connection, Project, run.facts.id)
    if project is None:
        hours = sum((line.hours for line in run.facts.line_items), Decimal("0"))
        project = project_create(actor=run.actor, external_refs=_ref(run, run.facts.id), data={
            "code": _code(run, f"D{run.facts.id}", 30), "name": run.facts.name[:200],
            "contract": contract, "manager": _manager(run), "status": Project.Status.ACTIVE,
            "start_date": contract.start_date, "end_date": contract.end_date,
            "budget_hours": hours, "budget_revenue_amount": contract.value_amount})
        run.done.append(f"project {project.code} created")
    template = _template(run)
    if template is not None:
        project_apply_template(project=project, template=template,
                               milestone_value=contract.value_amount)
    elif not project.tasks.exists():
        task_create(actor=run.actor, data={"project": project, "wbs_code": "1",
                                           "name": "Delivery",
                                           "budget_hours": project.budget_hours})
    return project


def _change_order(run: _Run, contract: Contract, difference: Decimal) -> ChangeOrder:
    """A pending change order for an amount changed in the CRM after the deal was won."""
    taken = set(ChangeOrder.objects.filter(contract=contract, reference__startswith="CRM-")
                .values_list("reference", flat=True))
    number = len(taken) + 1
    while f"CRM-{number}" in taken:
        number += 1
    is_capped = contract.billing_model == Contract.BillingModel.TIME_AND_MATERIALS_CAP
    return change_order_create(actor=run.actor, data={
        "contract": contract, "reference": f"CRM-{number}",
        "description": (f"The deal's amount changed in the CRM by {difference} "
                        f"{contract.currency} to {_amount(run)}."),
        "value_change_amount": difference,
        "cap_change_amount": difference if is_capped else Decimal("0"),
        "budget_hours_change": Decimal("0"),
        "effective_date": timezone.localdate()})
