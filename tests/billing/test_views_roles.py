"""Every billing page and action for every role: allowed where psa.roles.MATRIX grants the
permission, 403 where it does not, 404 outside a project manager's own contracts, and a
redirect to sign-in for anonymous visitors. Expectations come from the matrix itself."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse

from billing.models import CapHold, HeldItem, Invoice, InvoiceLine, InvoiceRun
from psa import roles
from psa.models import Person
from tests.billing.factories import (
    BilledItemFactory,
    CapHoldFactory,
    HeldItemFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    InvoiceRunFactory,
    with_totals,
)
from tests.psa.factories import ContractFactory, ProjectFactory, person_with_role

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """One role's person and billing rows on a contract whose project that person manages."""

    person: Person
    draft: Invoice
    approved: Invoice
    issued: Invoice
    other: Invoice
    run: InvoiceRun
    held: HeldItem
    cap_hold: CapHold

    @property
    def line(self) -> InvoiceLine:
        return self.draft.lines.first()


def _with_line(invoice: Invoice) -> Invoice:
    BilledItemFactory(line=InvoiceLineFactory(invoice=invoice))
    return with_totals(invoice)


@pytest.fixture
def world_for():
    def make(role: str) -> World:
        person = person_with_role(role)
        contract = ContractFactory()
        ProjectFactory(contract=contract, manager=person)
        return World(
            person=person,
            draft=_with_line(InvoiceFactory(contract=contract)),
            approved=_with_line(InvoiceFactory(contract=contract, approved=True)),
            issued=_with_line(InvoiceFactory(contract=contract, issued=True)),
            other=_with_line(InvoiceFactory()),
            run=InvoiceRunFactory(status=InvoiceRun.Status.COMPLETED),
            held=HeldItemFactory(),
            cap_hold=CapHoldFactory(source_invoice__contract=contract))

    return make


def _signed_in(client, person: Person):
    client.force_login(person.user)
    return client


def allowed(role: str, perm: str) -> bool:
    return roles.scope_of(frozenset({role}), perm) is not None


# (name, url from a World, permission the page needs)
PAGES: list[tuple[str, Callable[[World], str], str]] = [
    ("workbench", lambda w: reverse("billing:workbench"), "billing.view_invoicerun"),
    ("invoice-list", lambda w: reverse("billing:invoice-list"), "billing.view_invoice"),
    ("invoice-export", lambda w: reverse("billing:invoice-export"), "billing.view_invoice"),
    ("invoice-detail", lambda w: w.draft.get_absolute_url(), "billing.view_invoice"),
    ("invoice-pdf", lambda w: reverse("billing:invoice-pdf", args=[w.issued.pk]),
     "billing.view_invoice"),
    ("run-detail", lambda w: w.run.get_absolute_url(), "billing.view_invoicerun"),
    ("run-progress", lambda w: reverse("billing:run-progress", args=[w.run.pk]),
     "billing.view_invoicerun"),
    ("receivables", lambda w: reverse("billing:receivables"), "billing.view_receivables"),
    ("realization", lambda w: reverse("billing:realization"), "billing.view_billing_reports"),
    ("reconciliation", lambda w: reverse("billing:reconciliation"),
     "billing.view_billing_reports"),
]


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("name", "url_of", "perm"), PAGES, ids=[p[0] for p in PAGES])
def test_page_status_follows_the_role_matrix(role, name, url_of, perm, world_for, client):
    world = world_for(role)

    response = _signed_in(client, world.person).get(url_of(world))

    assert response.status_code == (200 if allowed(role, perm) else 403), (role, name)


@pytest.mark.parametrize(("name", "url_of", "perm"), PAGES, ids=[p[0] for p in PAGES])
def test_anonymous_visitors_are_sent_to_sign_in(name, url_of, perm, world_for, client):
    response = client.get(url_of(world_for(roles.FINANCE)))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def _action(invoice_of: Callable[[World], Invoice], action: str, data: dict | None = None,
            ) -> Callable[[World], tuple[str, dict]]:
    def build(world: World) -> tuple[str, dict]:
        invoice = invoice_of(world)
        return reverse("billing:invoice-action", args=[invoice.pk, action]), data or {}

    return build


# (name, (url, data) from a World, permission, what changed when it was allowed)
ACTIONS: list[tuple[str, Callable[[World], tuple[str, dict]], str,
                    Callable[[World], bool]]] = [
    ("run-start", lambda w: (reverse("billing:run-start"), {"cut_off": "2026-03-31"}),
     "billing.add_invoicerun", lambda w: InvoiceRun.objects.count() == 2),
    ("approve", _action(lambda w: w.draft, "approve"), "billing.approve_invoice",
     lambda w: Invoice.objects.get(pk=w.draft.pk).status == Invoice.Status.APPROVED),
    ("unapprove", _action(lambda w: w.approved, "unapprove"), "billing.approve_invoice",
     lambda w: Invoice.objects.get(pk=w.approved.pk).status == Invoice.Status.DRAFT),
    ("issue", _action(lambda w: w.approved, "issue", {"issue-issue_date": "2026-04-01"}),
     "billing.issue_invoice",
     lambda w: Invoice.objects.get(pk=w.approved.pk).status == Invoice.Status.ISSUED),
    ("void", _action(lambda w: w.draft, "void", {"void-reason": "Duplicate"}),
     "billing.void_invoice",
     lambda w: Invoice.objects.get(pk=w.draft.pk).status == Invoice.Status.VOID),
    ("delete", _action(lambda w: w.draft, "delete"), "billing.delete_invoice",
     lambda w: not Invoice.objects.filter(pk=w.draft.pk).exists()),
    ("notes", _action(lambda w: w.draft, "notes", {"notes-notes": "PO 7"}),
     "billing.change_invoice", lambda w: Invoice.objects.get(pk=w.draft.pk).notes == "PO 7"),
    ("payment", _action(lambda w: w.issued, "payment", {
        "payment-amount": "10.00", "payment-received_date": "2026-04-10"}),
     "billing.add_payment", lambda w: w.issued.payments.exists()),
    ("credit-note", _action(lambda w: w.issued, "credit-note", {"credit-reason": "Rate"}),
     "billing.add_creditnote", lambda w: w.issued.credit_notes.exists()),
    ("line-adjust", lambda w: (
        reverse("billing:line-edit", args=[w.line.pk, "adjust"]),
        {f"line{w.line.pk}-adjustment": "-10.00",
         f"line{w.line.pk}-adjustment_reason": "goodwill"}),
     "billing.change_invoice", lambda w: w.draft.lines.first().adjustment != 0),
    ("item-hold", lambda w: (
        reverse("billing:item-hold", args=[w.draft.items.first().pk]), {}),
     "billing.hold_item", lambda w: HeldItem.objects.count() == 2),
    ("hold-release", lambda w: (reverse("billing:hold-release", args=[w.held.pk]), {}),
     "billing.hold_item", lambda w: not HeldItem.objects.filter(pk=w.held.pk).exists()),
    ("cap-write-off", lambda w: (
        reverse("billing:caphold-write-off", args=[w.cap_hold.pk]),
        {f"hold{w.cap_hold.pk}-reason": "Goodwill"}),
     "billing.resolve_caphold",
     lambda w: CapHold.objects.get(pk=w.cap_hold.pk).status == CapHold.Status.WRITTEN_OFF),
]


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("name", "request_of", "perm", "changed"), ACTIONS,
                         ids=[a[0] for a in ACTIONS])
def test_action_follows_the_role_matrix(role, name, request_of, perm, changed, world_for,
                                        client):
    world = world_for(role)
    url, data = request_of(world)
    if name == "credit-note":
        line = world.issued.lines.first()
        data = {**data, f"credit-line_{line.pk}": "on", f"credit-amount_{line.pk}": "10.00"}

    response = _signed_in(client, world.person).post(url, data)

    if allowed(role, perm):
        assert response.status_code == 302, (role, name, response.content[:2000])
        assert changed(world), (role, name)
    else:
        assert response.status_code == 403, (role, name)
        assert not changed(world), (role, name)


class TestProjectManagerScope:
    def test_sees_only_the_invoices_of_contracts_they_manage(self, world_for, client):
        world = world_for(roles.PROJECT_MANAGER)
        browser = _signed_in(client, world.person)

        listing = browser.get(reverse("billing:invoice-list")).content.decode()
        other = browser.get(world.other.get_absolute_url())

        assert world.draft.get_absolute_url() in listing
        assert world.other.get_absolute_url() not in listing
        assert "4 invoices" in listing  # draft, approved, issued, the cap hold's source
        assert other.status_code == 404

    def test_reads_an_invoice_without_any_action(self, world_for, client):
        world = world_for(roles.PROJECT_MANAGER)

        html = _signed_in(client, world.person).get(
            world.draft.get_absolute_url()).content.decode()

        assert world.line.description in html
        for action in ("approve", "void", "delete", "notes"):
            assert reverse("billing:invoice-action", args=[world.draft.pk, action]) not in html
        assert "Save write-down" not in html and ">Hold back<" not in html


def test_an_executive_reads_the_workbench_without_acting(world_for, client):
    world = world_for(roles.EXECUTIVE)

    html = _signed_in(client, world.person).get(reverse("billing:workbench")).content.decode()

    assert "Recent runs" in html
    assert "Run invoicing" not in html
    assert reverse("billing:hold-release", args=[world.held.pk]) not in html
    assert "Write off" not in html


@pytest.mark.parametrize("role", roles.ROLES)
def test_billing_is_in_the_navigation_of_finance_executives_and_administrators(role, client):
    person = person_with_role(role)

    html = _signed_in(client, person).get(reverse("home")).content.decode()

    nav = html[html.index('id="sidenav"'):html.index("</nav>", html.index('id="sidenav"'))]
    expected = allowed(role, "billing.view_invoicerun")
    assert expected == (role in (roles.FINANCE, roles.EXECUTIVE, roles.ADMINISTRATOR,
                                 roles.SERVICE))
    assert (f'href="{reverse("billing:workbench")}"' in nav) == expected, role

