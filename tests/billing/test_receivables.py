"""AR aging and DSO on constructed invoices, checked against plain SQL and by hand."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Invoice
from billing.selectors.receivables import BUCKETS, AgingRow, ar_aging, dso
from psa.common.money import CurrencyMismatch
from tests.billing.factories import CreditNoteFactory, InvoiceFactory
from tests.psa.factories import ClientFactory, ContractFactory, LegalEntityFactory

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = date(2026, 6, 30)
TAX = D("0.0825")


def issued(client, total, due_date, *, paid="0.00", issue_date=date(2026, 3, 1),
           currency=None, status=None, **kwargs) -> Invoice:
    total = D(total)
    contract = ContractFactory(client=client, currency=currency or client.currency)
    if status is None:
        status = Invoice.Status.PARTIALLY_PAID if D(paid) else Invoice.Status.ISSUED
    kwargs.setdefault("subtotal", total)
    return InvoiceFactory(contract=contract, issued=True, status=status, total=total,
                          amount_paid=D(paid), issue_date=issue_date, due_date=due_date,
                          **kwargs)


def credit(invoice, total, issue_date, **kwargs) -> Invoice:
    return CreditNoteFactory(credited_invoice=invoice, issued=True, total=D(total),
                             subtotal=D(total), issue_date=issue_date, due_date=issue_date,
                             **kwargs)


@pytest.fixture
def book():
    """Invoices on every side of every bucket boundary on 30 June 2026."""
    acme = ClientFactory(name="Acme")
    beta = ClientFactory(name="Beta")
    issued(acme, "1000.00", date(2026, 7, 15))                    # current
    issued(acme, "500.00", AS_OF)                                 # due today: current
    issued(acme, "300.00", date(2026, 6, 29), paid="100.00")      # 1 day: 200.00
    issued(acme, "250.00", date(2026, 5, 31))                     # 30 days
    fifth = issued(acme, "400.00", date(2026, 5, 30))             # 31 days, 150.00 credited
    credit(fifth, "150.00", date(2026, 6, 15))
    issued(acme, "600.00", date(2026, 5, 1))                      # 60 days
    issued(acme, "700.00", date(2026, 4, 30))                     # 61 days
    issued(acme, "800.00", date(2026, 4, 1))                      # 90 days
    ninth = issued(acme, "900.00", date(2026, 3, 31))             # 91 days
    credit(ninth, "900.00", date(2026, 7, 5))                     # after as_of: not yet
    CreditNoteFactory(credited_invoice=ninth, total=D("900.00"))  # a draft: never
    issued(acme, "50.00", date(2026, 5, 1), paid="50.00", status=Invoice.Status.PAID)
    InvoiceFactory(contract=ContractFactory(client=acme), total=D("77.00"),
                   due_date=date(2026, 5, 1))                     # a draft
    issued(acme, "66.00", date(2026, 7, 31), issue_date=date(2026, 7, 1))  # issued later
    issued(beta, "1234.56", date(2026, 6, 10))                    # 20 days
    issued(beta, "99.99", date(2026, 1, 15), currency="EUR")      # 166 days, in euros
    return acme, beta


def aging_by_sql(as_of: date) -> list[tuple]:
    """The same aging by plain SQL: (client, currency, current, 1-30, 31-60, 61-90, 90+,
    total) per client and currency."""
    statuses = ("issued", "partially_paid", "paid")
    day = timedelta(days=1)
    sql = """
        SELECT b.client_id, b.currency,
               SUM(CASE WHEN b.due_date >= %s THEN b.balance ELSE 0 END),
               SUM(CASE WHEN b.due_date BETWEEN %s AND %s THEN b.balance ELSE 0 END),
               SUM(CASE WHEN b.due_date BETWEEN %s AND %s THEN b.balance ELSE 0 END),
               SUM(CASE WHEN b.due_date BETWEEN %s AND %s THEN b.balance ELSE 0 END),
               SUM(CASE WHEN b.due_date < %s THEN b.balance ELSE 0 END),
               SUM(b.balance)
        FROM (
            SELECT i.client_id, i.currency, i.due_date,
                   i.total - i.amount_paid - COALESCE((
                       SELECT SUM(cn.total) FROM billing_invoice cn
                       WHERE cn.credited_invoice_id = i.id AND cn.kind = 'credit_note'
                         AND cn.status IN (%s, %s, %s) AND cn.issue_date <= %s), 0) AS balance
            FROM billing_invoice i
            WHERE i.kind = 'invoice' AND i.status IN (%s, %s, %s) AND i.issue_date <= %s
        ) b
        WHERE b.balance <> 0
        GROUP BY b.client_id, b.currency
        ORDER BY b.client_id, b.currency
    """
    params = [as_of, as_of - 30 * day, as_of - day, as_of - 60 * day, as_of - 31 * day,
              as_of - 90 * day, as_of - 61 * day, as_of - 90 * day,
              *statuses, as_of, *statuses, as_of]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    cents = D("0.01")
    return [(client, currency, *(D(str(value)).quantize(cents) for value in amounts))
            for client, currency, *amounts in rows]


def as_tuples(rows: list[AgingRow]) -> list[tuple]:
    return sorted((row.client_id, row.currency, *(getattr(row, b) for b in BUCKETS), row.total)
                  for row in rows if not row.is_total)


class TestArAging:
    def test_buckets_match_plain_sql(self, book):
        rows = ar_aging(as_of=AS_OF)

        assert as_tuples(rows) == aging_by_sql(AS_OF)

    def test_buckets_by_hand(self, book):
        acme, _ = book

        rows = {(row.client_name, row.currency): row for row in ar_aging(as_of=AS_OF)}

        assert list(rows) == [("Acme", "USD"), ("Beta", "EUR"), ("Beta", "USD"),
                              ("Total", "EUR"), ("Total", "USD")]
        acme_row = rows["Acme", "USD"]
        assert [getattr(acme_row, b) for b in BUCKETS] == [
            D("1500.00"), D("450.00"), D("850.00"), D("1500.00"), D("900.00")]
        assert acme_row.total == D("5200.00") and acme_row.client_id == acme.pk
        assert rows["Beta", "USD"].days_1_30 == D("1234.56")
        assert rows["Beta", "EUR"].days_over_90 == D("99.99")
        usd = rows["Total", "USD"]
        assert usd.is_total and usd.days_1_30 == D("1684.56") and usd.total == D("6434.56")
        assert rows["Total", "EUR"].total == D("99.99")

    def test_a_later_date_ages_the_same_invoices(self, book):
        later = date(2026, 9, 30)

        assert as_tuples(ar_aging(as_of=later)) == aging_by_sql(later)

    def test_scope_by_legal_entity_and_actor(self, book, finance, project_manager):
        uk = LegalEntityFactory(code="UK", name="Northwind UK Ltd", country="GB",
                                base_currency="GBP")
        issued(ClientFactory(name="Albion", legal_entity=uk), "10.00", AS_OF)

        assert {row.client_name for row in ar_aging(as_of=AS_OF)} >= {"Albion", "Acme"}
        assert {row.client_name for row in ar_aging(as_of=AS_OF, legal_entity=uk)} == {
            "Albion", "Total"}
        assert ar_aging(as_of=AS_OF, actor=finance.user) == ar_aging(as_of=AS_OF)
        assert ar_aging(as_of=AS_OF, actor=project_manager.user) == []

    @pytest.mark.parametrize("clients", [3, 30])
    def test_one_query_whatever_the_number_of_clients(self, clients, django_assert_num_queries):
        for n in range(clients):
            issued(ClientFactory(), "100.00", date(2026, 6, 1 + n % 28))

        with django_assert_num_queries(1):
            rows = ar_aging(as_of=AS_OF)

        assert len(rows) == clients + 1


class TestDso:
    @pytest.fixture
    def sales(self):
        client = ClientFactory()
        issued(client, "5412.50", AS_OF, issue_date=date(2026, 4, 1), subtotal=D("5000.00"))
        issued(client, "6495.00", AS_OF, issue_date=date(2026, 4, 2), subtotal=D("6000.00"),
               paid="6495.00", status=Invoice.Status.PAID)
        last = issued(client, "3247.50", AS_OF, issue_date=AS_OF, subtotal=D("3000.00"))
        CreditNoteFactory(credited_invoice=last, issued=True, issue_date=AS_OF,
                          subtotal=D("1000.00"), total=D("1082.50"))
        issued(client, "999.00", AS_OF, issue_date=date(2026, 7, 1), subtotal=D("999.00"))
        return client

    def test_dso_of_a_constructed_case(self, sales):
        # receivable 5,412.50 + 0 + (3,247.50 - 1,082.50) = 7,577.50; revenue of 2 April to
        # 30 June: 6,000.00 + 3,000.00 - 1,000.00 = 8,000.00; 7,577.50 / 8,000.00 x 90 = 85.2
        assert dso(as_of=AS_OF) == D("85.2")
        assert dso(as_of=AS_OF, legal_entity=sales.legal_entity) == D("85.2")

    def test_no_revenue_in_the_window_gives_none(self, sales):
        assert dso(as_of=date(2026, 3, 31)) is None

    def test_currencies_are_never_added(self, sales):
        issued(sales, "100.00", AS_OF, issue_date=AS_OF, subtotal=D("100.00"), currency="EUR")

        with pytest.raises(CurrencyMismatch):
            dso(as_of=AS_OF)
        assert dso(as_of=AS_OF, legal_entity=sales.legal_entity) == D("85.2")
        assert dso(as_of=AS_OF, currency="EUR") == D("90.0")
