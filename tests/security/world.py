"""One small firm for the route walk: a row behind every `<pk>`, twice.

`own` is an engagement the walk's principals take part in (the project manager manages it, the
consultant is on its team and owns its time and expenses); `foreign` is the same engagement run
by strangers, so an OWN-scope role must get 403 or 404 there. Firm-wide rows (legal entity,
period, runs, connection, subscription, outbox) exist once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from billing.models import InvoiceRun
from crm_sync.models import Connection, InboundMessage, WebhookSubscription
from crm_sync.services.webhook_subscriptions import webhook_subscription_create
from psa import events, roles
from psa.models import (
    ChangeOrder,
    Delivery,
    Expense,
    LegalEntity,
    OutboxEvent,
    Period,
    Person,
    Project,
    RateCard,
    Role,
)
from psa.services.accounts import service_account_create
from psa.services.expenses import expense_create
from revenue.models import JournalEntry, RecognitionRun, RevenueSchedule
from revenue.services.recognition import recognition_run_execute
from revenue.services.schedules import schedule_plan_refresh
from tests.billing.factories import (
    BilledItemFactory,
    CapHoldFactory,
    CreditNoteFactory,
    HeldItemFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    InvoiceRunFactory,
    PaymentFactory,
    with_totals,
)
from tests.psa.factories import (
    ChangeOrderFactory,
    ClientFactory,
    ContractFactory,
    CostRateFactory,
    ExpensePolicyFactory,
    LegalEntityFactory,
    MilestoneFactory,
    PeriodFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)
from tests.resourcing.factories import (
    AssignmentFactory,
    PersonSkillFactory,
    RequestSkillFactory,
    ResourceRequestFactory,
    SkillFactory,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# Figures only finance-like roles may see; distinctive, so a page can be searched for them.
SECRET_COST_RATE = Decimal("93.1700")
SECRET_BUDGET_COST = Decimal("81234.00")
SERVICE_SCOPES = ["psa.view_project", "psa.view_task"]  # far fewer than the service role has
WEEK = date(2026, 3, 9)  # a Monday; the walk runs on 2026-03-18


@dataclass
class Side:
    """The rows of one engagement, each a target of some route's `<pk>`."""

    manager: Person
    member: Person
    client: object
    contract: object
    project: Project
    task: object
    milestone: object
    change_order: ChangeOrder
    time_entry: object  # a draft of the member's
    approved_entry: object
    expense: Expense  # a draft of the member's, with a receipt
    resource_request: object
    assignment: object
    person_skill: object
    invoice: object  # a draft with one line and one billed item
    invoice_line: object
    billed_item: object
    issued_invoice: object
    credit_note: object
    payment: object
    schedule: RevenueSchedule
    held_item: object
    cap_hold: object


@dataclass
class World:
    people: dict[str, Person]  # role -> the principal's person
    own: Side
    foreign: Side
    legal_entity: LegalEntity
    role: Role
    rate_card: RateCard
    skill: object
    period: Period
    invoice_run: InvoiceRun
    recognition_run: RecognitionRun
    journal_entry: JournalEntry
    connection: Connection
    subscription: WebhookSubscription
    event: OutboxEvent
    delivery: Delivery
    inbound_message: InboundMessage
    service_user: User
    service_token: str


def _side(entity: LegalEntity, role: Role, manager: Person, member: Person,
          label: str) -> Side:
    client = ClientFactory(legal_entity=entity, name=f"{label} client")
    contract = ContractFactory(client=client, name=f"{label} engagement",
                               revenue_method="ratable")
    project = ProjectFactory(contract=contract, manager=manager, name=f"{label} project",
                             budget_cost_amount=SECRET_BUDGET_COST)
    ProjectMemberFactory(project=project, person=member)
    task = TaskFactory(project=project, name=f"{label} task")
    milestone = MilestoneFactory(project=project, name=f"{label} milestone")
    change_order = ChangeOrderFactory(contract=contract)
    time_entry = TimeEntryFactory(person=member, task=task, work_date=date(2026, 3, 10))
    approved = TimeEntryFactory(person=member, task=task, work_date=date(2026, 3, 11),
                                approved=True, cost_rate=SECRET_COST_RATE)
    expense = expense_create(
        actor=member.user, person=member, project=project,
        data={"expense_date": date(2026, 3, 10), "category": "meals", "merchant": "Cafe",
              "amount": Decimal("18.40")},
        receipt=SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf"))
    request = ResourceRequestFactory(project=project, role=role)
    cloud = SkillFactory(name="Cloud architecture")
    RequestSkillFactory(request=request, skill=cloud)
    assignment = AssignmentFactory(person=member, project=project)
    person_skill = PersonSkillFactory(person=member, skill=cloud, level=4)  # a candidate
    invoice = InvoiceFactory(contract=contract)
    line = InvoiceLineFactory(invoice=invoice, project=project)
    billed = BilledItemFactory(line=line, time_entry__person=member)
    with_totals(invoice)
    issued = InvoiceFactory(contract=contract, issued=True)
    InvoiceLineFactory(invoice=issued, project=project)
    with_totals(issued)
    issued.pdf.save(f"{issued.number}.pdf", ContentFile(PDF))  # as the delivery task stores it
    credit_note = CreditNoteFactory(credited_invoice=issued)
    payment = PaymentFactory(invoice=issued)
    schedule = schedule_plan_refresh(contract=contract)
    held = HeldItemFactory(time_entry=TimeEntryFactory(person=member, task=task, approved=True,
                                                       work_date=date(2026, 3, 12)))
    cap_hold = CapHoldFactory(source_invoice=invoice)
    return Side(manager=manager, member=member, client=client, contract=contract,
                project=project, task=task, milestone=milestone, change_order=change_order,
                time_entry=time_entry, approved_entry=approved, expense=expense,
                resource_request=request, assignment=assignment, person_skill=person_skill,
                invoice=invoice, invoice_line=line, billed_item=billed, issued_invoice=issued,
                credit_note=credit_note, payment=payment, schedule=schedule, held_item=held,
                cap_hold=cap_hold)


def build_world() -> World:
    """Every row the walk needs; call inside a transaction that is rolled back afterwards."""
    entity = LegalEntityFactory(code="US")
    role = RoleFactory()
    rate_card = RateCardFactory(standard=True)
    RateCardLineFactory(rate_card=rate_card, role=role)
    for category in ("meals", "lodging"):
        ExpensePolicyFactory(legal_entity=entity, category=category,
                             receipt_required_above=Decimal("25.00"))
    people = {name: PersonFactory(user=UserFactory(role=name, username=name), legal_entity=entity,
                                  role=role, first_name=name.replace("_", " ").title())
              for name in roles.ROLES if name != roles.SERVICE}
    admin_user = people[roles.ADMINISTRATOR].user
    admin_user.is_staff = True  # as the demo's administrators (psa/demo/build_org.py)
    admin_user.save(update_fields=["is_staff"])
    for person in people.values():
        CostRateFactory(person=person, hourly_cost=SECRET_COST_RATE)
    own = _side(entity, role, people[roles.PROJECT_MANAGER], people[roles.CONSULTANT], "Own")
    strangers = [PersonFactory(legal_entity=entity, role=role) for _ in range(2)]
    for person in strangers:
        CostRateFactory(person=person, hourly_cost=SECRET_COST_RATE)
    foreign = _side(entity, role, strangers[0], strangers[1], "Foreign")

    period = PeriodFactory(legal_entity=entity, month=date(2026, 1, 1))
    invoice_run = InvoiceRunFactory(legal_entity=entity)
    run = RecognitionRun.objects.create(legal_entity=entity, period=date(2026, 1, 1))
    run = recognition_run_execute(run_id=run.pk)
    journal_entry = JournalEntry.objects.order_by("pk").first()
    connection = Connection(name="hubspot", vendor="hubspot", kind="crm",
                            base_url="http://127.0.0.1:9/", options={})
    connection.set_credentials({"client_secret": "s3cret", "access_token": "t0ken"})
    connection.save()
    message = InboundMessage.objects.create(connection=connection, event_id="evt-1",
                                            topic="deal.propertyChange", object_id="1",
                                            payload={}, headers={})
    subscription = webhook_subscription_create(
        actor=admin_user, url="https://hooks.example.com/psa",
        event_types=["project.created"]).subscription
    with transaction.atomic():
        event = events.publish("project.created", aggregate=own.project)
    delivery = Delivery.objects.filter(event=event).order_by("pk")[0]  # a dead one, to replay
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.DEAD)
    service_user, _, raw = service_account_create(username="erp-bot", scopes=SERVICE_SCOPES,
                                                  token_label="walk")
    return World(people=people, own=own, foreign=foreign, legal_entity=entity, role=role,
                 rate_card=rate_card, skill=own.person_skill.skill, period=period,
                 invoice_run=invoice_run, recognition_run=run, journal_entry=journal_entry,
                 connection=connection, subscription=subscription, event=event,
                 delivery=delivery, inbound_message=message, service_user=service_user,
                 service_token=raw)
