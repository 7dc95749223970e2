"""Billing's API against the role matrix: who lists what, and who may change it."""

from datetime import date
from decimal import Decimal

import pytest

from billing.api.urls import router
from billing.models import Invoice, InvoiceRun, Payment
from billing.services.credit_notes import credit_note_create
from billing.services.issue import invoice_approve, invoice_issue
from billing.services.payments import payment_record
from billing.services.runs import invoice_run_execute
from psa import roles
from psa.rules import visible
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
LIST_ENDPOINTS = [(prefix, viewset) for prefix, viewset, _ in router.registry]


def billed_contract(manager=None):
    """A contract with 8 approved hours, its project managed by `manager` (or someone)."""
    contract = ContractFactory(client=ClientFactory(tax_rate=D("8.2500"),
                                                    tax_jurisdiction="US-NY"))
    project = ProjectFactory(contract=contract, **({"manager": manager} if manager else {}))
    TimeEntryFactory(task=TaskFactory(project=project), person=PersonFactory(), approved=True,
                     work_date=date(2026, 3, 10))
    return contract


def issue_and_credit(invoice: Invoice, clerk) -> Invoice:
    invoice = invoice_approve(invoice=invoice, actor=clerk)
    invoice = invoice_issue(invoice=invoice, actor=clerk, issue_date=date(2026, 4, 1))
    credit_note_create(invoice=invoice, actor=clerk, reason="Disputed",
                       lines=[(invoice.lines.get(), D("10.00"))])
    return invoice


@pytest.fixture
def world():
    """For a person in `role`: a draft invoice on a contract it manages, an issued one on
    another it manages and one on someone else's contract (each credited, the last paid in
    part), and the run that drafted them."""

    def build(role):
        person = PersonFactory(user=UserFactory(role=role))
        own, own_billed, other = (billed_contract(manager=person),
                                  billed_contract(manager=person), billed_contract())
        run = InvoiceRun.objects.create(cut_off=date(2026, 3, 31))
        invoice_run_execute(run_id=run.pk, inline=True)
        clerk = UserFactory(role=roles.FINANCE)
        issue_and_credit(Invoice.objects.get(contract=own_billed), clerk)
        invoice = issue_and_credit(Invoice.objects.get(contract=other), clerk)
        payment_record(invoice=invoice, actor=clerk, amount=D("100.00"),
                       received_date=date(2026, 4, 2))
        return person, Invoice.objects.get(contract=own), invoice

    return build


def test_every_billing_list_is_registered():
    assert {prefix for prefix, _ in LIST_ENDPOINTS} == {
        "invoice-runs", "invoices", "credit-notes", "payments"}


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("prefix", "viewset"), LIST_ENDPOINTS, ids=[p for p, _ in LIST_ENDPOINTS])
def test_list_follows_the_matrix(role, prefix, viewset, world, token_client):
    person, _, _ = world(role)
    perm = viewset.required_perms["list"]
    granted = roles.scope_of(frozenset({role}), perm)

    response = token_client(person.user).get(f"/api/v1/{prefix}/", {"page_size": 500})

    if granted is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    returned = {row["id"] for row in response.json()["results"]}
    model = viewset.output_serializer.Meta.model
    rows = model.objects.all()
    if getattr(viewset, "kind", None):
        rows = rows.filter(kind=viewset.kind)
    expected = set(visible(rows, person.user, perm).values_list("pk", flat=True))
    assert returned == expected
    assert returned, f"{role} should see some {prefix}"
    if granted == roles.OWN:
        assert rows.exclude(pk__in=returned).exists(), "others' rows are hidden"
    else:
        assert returned == set(rows.values_list("pk", flat=True))


def test_consultant_is_refused_every_billing_list(consultant, token_client):
    api = token_client(consultant.user)
    for prefix, _ in LIST_ENDPOINTS:
        assert api.get(f"/api/v1/{prefix}/").status_code == 403, prefix


def test_project_manager_sees_only_its_contracts_invoices(world, token_client):
    person, own, other = world(roles.PROJECT_MANAGER)
    api = token_client(person.user)

    listed = {row["id"] for row in api.get("/api/v1/invoices/").json()["results"]}

    assert own.pk in listed and other.pk not in listed
    assert listed == set(Invoice.objects.filter(
        contract__projects__manager=person).values_list("pk", flat=True))
    assert api.get(f"/api/v1/invoices/{own.pk}/").status_code == 200
    assert api.get(f"/api/v1/invoices/{other.pk}/").status_code == 404
    assert api.get(f"/api/v1/invoices/{other.pk}/pdf/").status_code == 404
    assert api.post(f"/api/v1/invoices/{own.pk}/approve/").status_code == 403
    assert api.get("/api/v1/payments/").status_code == 403
    assert Invoice.objects.get(pk=own.pk).status == Invoice.Status.DRAFT


def test_finance_sees_every_invoice_and_may_act(world, token_client):
    person, own, _ = world(roles.FINANCE)
    api = token_client(person.user)

    listed = {row["id"] for row in api.get("/api/v1/invoices/").json()["results"]}

    assert listed == set(Invoice.objects.values_list("pk", flat=True))
    assert api.post(f"/api/v1/invoices/{own.pk}/approve/").json()["status"] == "approved"


def test_executive_reads_but_may_not_change(world, token_client):
    person, own, other = world(roles.EXECUTIVE)
    api = token_client(person.user)

    assert api.get("/api/v1/invoices/").status_code == 200
    assert api.get("/api/v1/invoice-runs/").status_code == 200
    assert api.get("/api/v1/payments/").status_code == 200
    refused = [
        api.post(f"/api/v1/invoices/{own.pk}/approve/"),
        api.post(f"/api/v1/invoices/{own.pk}/void/", {"reason": "x"}, format="json"),
        api.patch(f"/api/v1/invoices/{own.pk}/", {"notes": "x"}, format="json"),
        api.delete(f"/api/v1/invoices/{own.pk}/"),
        api.post("/api/v1/invoice-runs/", {"cut_off": "2026-03-31"}, format="json"),
        api.post("/api/v1/payments/", {"invoice": other.pk, "amount": "1.00",
                                       "received_date": "2026-04-03"}, format="json"),
        api.post("/api/v1/credit-notes/", {"invoice": other.pk, "reason": "x"}, format="json"),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert Invoice.objects.get(pk=own.pk).status == Invoice.Status.DRAFT
    assert Payment.objects.count() == 1


def test_only_finance_and_administrators_void(world, token_client):
    person, own, _ = world(roles.FINANCE)
    service = UserFactory(role=roles.SERVICE)

    refused = token_client(service).post(f"/api/v1/invoices/{own.pk}/void/",
                                         {"reason": "x"}, format="json")
    voided = token_client(person.user).post(f"/api/v1/invoices/{own.pk}/void/",
                                            {"reason": "Duplicate"}, format="json")

    assert refused.status_code == 403
    assert voided.json()["status"] == "void"
