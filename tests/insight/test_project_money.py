"""The project financials' revenue, billed and unbilled figures that insight gives psa: a
contract's money shared among its projects so the parts add up."""

from datetime import date
from decimal import Decimal

import pytest

from insight.selectors.project_money import project_money_for
from psa.selectors.projects import project_financials
from revenue.models import RecognitionEntry, RecognitionRun
from tests.billing.factories import CreditNoteFactory, InvoiceFactory, InvoiceLineFactory
from tests.psa.factories import ContractFactory, ProjectFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _recognise(contract, amount: str) -> None:
    run = RecognitionRun.objects.create(legal_entity=contract.legal_entity,
                                        period=date(2026, 3, 1))
    RecognitionEntry.objects.create(run=run, contract=contract, month=run.period,
                                    amount=D(amount), currency=contract.currency,
                                    cumulative_amount=D(amount))


def _line(invoice, project, amount: str, kind: str = "time"):
    return InvoiceLineFactory(invoice=invoice, project=project, kind=kind, quantity=None,
                              unit_price=None, base_amount=D(amount))


def test_revenue_without_cost_is_shared_evenly_and_adds_up():
    contract = ContractFactory()
    projects = [ProjectFactory(contract=contract) for _ in range(3)]
    _recognise(contract, "100.00")
    parts = [project_money_for(p).revenue_amount for p in projects]
    assert parts == [D("33.33"), D("33.33"), D("33.34")]
    assert sum(parts) == D("100.00")


def test_unnamed_lines_follow_the_named_ones_and_credit_notes_take_off():
    contract = ContractFactory()
    first, second = ProjectFactory(contract=contract), ProjectFactory(contract=contract)
    invoice = InvoiceFactory(contract=contract, issued=True)
    _line(invoice, first, "1000.00")
    _line(invoice, second, "500.00")
    _line(invoice, None, "300.00", kind="expense")  # no project on the line
    draft = InvoiceFactory(contract=contract)  # drafts are not billed
    _line(draft, first, "9999.00")
    note = CreditNoteFactory(credited_invoice=invoice, issued=True)
    _line(note, first, "100.00")
    # The unnamed 300.00 follows the named lines' net amounts, 900 : 500.
    first_billed = project_money_for(first).billed_amount
    second_billed = project_money_for(second).billed_amount
    assert first_billed == D("900.00") + D("192.86")
    assert second_billed == D("500.00") + D("107.14")
    assert first_billed + second_billed == D("1700.00")  # 1,000 + 500 + 300 - 100


def test_a_single_project_takes_all_of_its_contract_and_the_financials_show_it():
    project = ProjectFactory()
    _line(InvoiceFactory(contract=project.contract, issued=True), None, "1200.00",
          kind="installment")
    _recognise(project.contract, "800.00")
    financials = project_financials(project=project)
    assert financials.billed_amount == D("1200.00")
    assert financials.revenue_amount == D("800.00")
    assert financials.margin_amount == D("800.00")  # no cost yet
