"""The contract's billing terms page: it shows each section, its forms call the terms,
re-rate and change order services, errors come back beside their fields (or at the top),
and each write checks its own permission."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Installment, RoundingPolicy
from psa.models import ChangeOrder, Contract, RateCard, TimeEntry
from tests.billing.factories import InvoiceFactory
from tests.psa.factories import (
    ChangeOrderFactory,
    ContractFactory,
    PersonFactory,
    ProjectFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
BM = Contract.BillingModel


def url(contract):
    return reverse("billing:contract-terms", args=[contract.pk])


def fixed(value="10000.00"):
    return ContractFactory(code="FIX-001", billing_model=BM.FIXED_INSTALLMENTS,
                           value_amount=D(value), start_date=date(2026, 1, 31))


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance.user)
    return client


@pytest.fixture
def rerate_world():
    """A contract card saying 150.00 for consultants, one approved unbilled March entry at
    150.00; a correction then makes it 175.00 from 1 March (as in test_rerate)."""
    consultant = RoleFactory(code="CONS", name="Consultant")
    standard = RateCardFactory(standard=True, code="STD-USD")
    RateCardLineFactory(rate_card=standard, role=consultant, hourly_rate=D("150.0000"))
    card = RateCardFactory(kind=RateCard.Kind.CONTRACT)
    RateCardLineFactory(rate_card=card, role=consultant, hourly_rate=D("150.0000"),
                        effective_from=date(2026, 1, 1))
    contract = ContractFactory(code="TM-001", rate_card=card)
    task = TaskFactory(project=ProjectFactory(contract=contract))
    entry = TimeEntryFactory(task=task, person=PersonFactory(role=consultant),
                             work_date=date(2026, 3, 2), hours=D("8.00"), approved=True,
                             bill_rate=D("150.0000"), rate_source="contract_card")
    return {"contract": contract, "card": card, "role": consultant, "entry": entry}


class TestPage:
    def test_finance_sees_every_section(self, finance_client):
        contract = fixed()
        contract.client.payment_terms_days = 45
        contract.client.consolidated_invoicing = True
        contract.client.save()
        ChangeOrderFactory(contract=contract, reference="CO-7")
        response = finance_client.get(url(contract))
        assert response.status_code == 200
        html = response.content.decode()
        for text in ("Fixed fee by installments", "10,000.00", "Net 45 days",
                     "Yes: one invoice per client", 'id="installments"', 'id="rounding"',
                     "No rounding policy", 'id="rerate"', "Preview re-rate",
                     'id="change-orders"', "CO-7", "Approve CO-7", "Reject CO-7"):
            assert text in html, text

    def test_installments_section_only_for_installment_contracts(self, finance_client):
        response = finance_client.get(url(ContractFactory()))
        assert response.status_code == 200
        assert 'id="installments"' not in response.content.decode()

    def test_consultant_is_refused(self, client, consultant):
        client.force_login(consultant.user)
        contract = fixed()
        assert client.get(url(contract)).status_code == 403
        response = client.post(url(contract), {"action": "installments",
                                                "installments-count": "3"})
        assert response.status_code == 403
        assert not Installment.objects.exists()

    def test_unknown_contract_is_404(self, finance_client):
        assert finance_client.get(
            reverse("billing:contract-terms", args=[999999])).status_code == 404

    def test_links_from_workbench_and_invoice(self, finance_client, rerate_world):
        contract = rerate_world["contract"]
        bench = finance_client.get(reverse("billing:workbench"), {"cut_off": "2026-03-31"})
        assert url(contract) in bench.content.decode()
        invoice = InvoiceFactory(contract=contract, client=contract.client,
                                 legal_entity=contract.legal_entity)
        response = finance_client.get(reverse("billing:invoice-detail", args=[invoice.pk]))
        assert url(contract) in response.content.decode()


class TestInstallments:
    def test_generate_adds_up_to_the_value(self, finance_client):
        contract = fixed()
        response = finance_client.post(url(contract), {"action": "installments",
                                                       "installments-count": "3"},
                                       follow=True)
        assert response.status_code == 200
        amounts = list(Installment.objects.filter(contract=contract)
                       .order_by("sequence").values_list("amount", flat=True))
        assert amounts == [D("3333.33"), D("3333.33"), D("3333.34")]
        assert sum(amounts) == contract.value_amount
        html = response.content.decode()
        assert "Generated 3 monthly installments" in html
        assert "10,000.00 USD" in html or f"10,000.00 {contract.currency}" in html

    def test_bad_count_is_shown_beside_the_field(self, finance_client):
        contract = fixed()
        response = finance_client.post(url(contract), {"action": "installments",
                                                       "installments-count": "0"})
        assert response.status_code == 400
        html = response.content.decode()
        assert 'id="id_installments-count_error"' in html
        assert not Installment.objects.filter(contract=contract).exists()

    def test_service_error_beside_the_field(self, finance_client):
        contract = ContractFactory()  # T&M: the service refuses; the form has no such field
        response = finance_client.post(url(contract), {"action": "installments",
                                                       "installments-count": "3"})
        assert response.status_code == 400
        html = response.content.decode()
        assert "is not billed by installments" in html
        assert html.index("is not billed by installments") < html.index('id="summary"')


class TestRounding:
    def test_set_the_contracts_policy(self, finance_client):
        contract = fixed()
        response = finance_client.post(url(contract), {
            "action": "rounding", "rounding-increment_minutes": "15",
            "rounding-method": "nearest", "rounding-scope": "person_day_project"}, follow=True)
        assert response.status_code == 200
        policy = RoundingPolicy.objects.get(contract=contract)
        assert (policy.increment_minutes, policy.method, policy.scope) == (
            15, "nearest", "person_day_project")
        assert "this contract's policy" in response.content.decode()

    def test_bad_increment_is_shown_beside_the_field(self, finance_client):
        contract = fixed()
        response = finance_client.post(url(contract), {
            "action": "rounding", "rounding-increment_minutes": "10",
            "rounding-method": "up", "rounding-scope": "entry"})
        assert response.status_code == 400
        assert 'id="id_rounding-increment_minutes_error"' in response.content.decode()
        assert not RoundingPolicy.objects.exists()


class TestRerate:
    def test_preview_shows_the_corrected_rate_and_apply_changes_the_entry(
            self, finance_client, rerate_world):
        contract, entry = rerate_world["contract"], rerate_world["entry"]
        page = finance_client.get(url(contract), {"preview": "1"}).content.decode()
        assert "Entries that change: 0" in page

        RateCardLineFactory(rate_card=rerate_world["card"], role=rerate_world["role"],
                            hourly_rate=D("175.0000"), effective_from=date(2026, 3, 1))
        page = finance_client.get(url(contract), {"preview": "1"}).content.decode()
        assert "Entries that change: 1" in page
        assert "175.00" in page and "1,400.00" in page  # 8 h x 175.00
        assert "Apply re-rate" in page

        refused = finance_client.post(url(contract), {"action": "rerate"})
        assert refused.status_code == 400
        assert 'id="id_rerate-confirm_error"' in refused.content.decode()
        entry.refresh_from_db()
        assert entry.bill_rate == D("150.0000")

        done = finance_client.post(url(contract), {"action": "rerate", "rerate-confirm": "on"},
                                   follow=True)
        assert "Re-rated 1 time entry" in done.content.decode()
        entry.refresh_from_db()
        assert entry.bill_rate == D("175.0000")


class TestChangeOrders:
    def test_approve_with_an_optional_reason(self, finance_client):
        contract = fixed()
        order = ChangeOrderFactory(contract=contract, value_change_amount=D("500.00"))
        response = finance_client.post(url(contract), {
            "action": "approve", "change_order": order.pk,
            f"co{order.pk}-approve-reason": "Signed"}, follow=True)
        assert response.status_code == 200
        order.refresh_from_db()
        contract.refresh_from_db()
        assert order.status == ChangeOrder.Status.APPROVED
        assert order.decision_reason == "Signed"
        assert contract.value_amount == D("10500.00")

    def test_reject_needs_a_reason(self, finance_client):
        contract = fixed()
        order = ChangeOrderFactory(contract=contract)
        response = finance_client.post(url(contract), {
            "action": "reject", "change_order": order.pk, f"co{order.pk}-reject-reason": ""})
        assert response.status_code == 400
        html = response.content.decode()
        assert f'id="id_co{order.pk}-reject-reason_error"' in html
        assert "Say why the change order is rejected." in html
        order.refresh_from_db()
        assert order.status == ChangeOrder.Status.PENDING

        finance_client.post(url(contract), {
            "action": "reject", "change_order": order.pk,
            f"co{order.pk}-reject-reason": "Out of scope"})
        order.refresh_from_db()
        assert order.status == ChangeOrder.Status.REJECTED
        assert order.decision_reason == "Out of scope"

    def test_self_approval_is_said_at_the_top(self, finance_client, finance):
        contract = fixed()
        order = ChangeOrderFactory(contract=contract, created_by=finance.user)
        response = finance_client.post(url(contract), {"action": "approve",
                                                       "change_order": order.pk})
        assert response.status_code == 403  # SelfApprovalError's status
        html = response.content.decode()
        top = html.index('class="messages" role="alert"')
        assert top < html.index('id="summary"')
        assert "someone else must decide it" in html[top:html.index('id="summary"')]
        order.refresh_from_db()
        assert order.status == ChangeOrder.Status.PENDING

    def test_change_order_of_another_contract_is_404(self, finance_client):
        contract = fixed()
        other = ChangeOrderFactory()
        response = finance_client.post(url(contract), {"action": "approve",
                                                       "change_order": other.pk})
        assert response.status_code == 404
        other.refresh_from_db()
        assert other.status == ChangeOrder.Status.PENDING


class TestProjectManager:
    @pytest.fixture
    def pm_world(self, client, project_manager, rerate_world):
        contract = rerate_world["contract"]
        contract.billing_model = BM.FIXED_INSTALLMENTS
        contract.save()
        ProjectFactory(contract=contract, manager=project_manager)
        client.force_login(project_manager.user)
        return client, contract

    def test_sees_the_page_of_a_managed_contract_without_forms(self, pm_world):
        client, contract = pm_world
        response = client.get(url(contract))
        assert response.status_code == 200
        html = response.content.decode()
        assert 'name="action"' not in html
        assert client.get(url(ContractFactory())).status_code == 404

    def test_every_post_is_refused(self, pm_world):
        client, contract = pm_world
        order = ChangeOrderFactory(contract=contract)
        posts = [
            {"action": "installments", "installments-count": "3"},
            {"action": "rounding", "rounding-increment_minutes": "15",
             "rounding-method": "up", "rounding-scope": "entry"},
            {"action": "rerate", "rerate-confirm": "on"},
            {"action": "approve", "change_order": order.pk},
            {"action": "reject", "change_order": order.pk,
             f"co{order.pk}-reject-reason": "No"},
        ]
        for data in posts:
            assert client.post(url(contract), data).status_code == 403, data["action"]
        assert not Installment.objects.exists()
        assert not RoundingPolicy.objects.exists()
        order.refresh_from_db()
        assert order.status == ChangeOrder.Status.PENDING
        assert TimeEntry.objects.get().bill_rate == D("150.0000")
