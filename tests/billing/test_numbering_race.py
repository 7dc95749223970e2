"""Ten issues at once get the numbers 1 to 10 of their series: no gap, no duplicate.

Each thread has its own database connection and its own transaction, as ten web requests
would. On PostgreSQL the `NumberSequence` row lock orders them; SQLite (tests' default)
serialises the writers with its IMMEDIATE transactions, which must give the same invariant.
"""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Invoice, NumberSequence
from billing.services.issue import invoice_approve, invoice_issue
from tests.billing.factories import invoice_with_lines
from tests.psa.factories import ClientFactory, UserFactory

THREADS = 10


def issue_concurrently(invoices: list[Invoice], actor) -> list[BaseException]:
    """Issue every invoice from its own thread, all released at the same moment."""
    start = threading.Barrier(len(invoices))
    errors: list[BaseException] = []

    def issue(invoice: Invoice) -> None:
        try:
            start.wait(timeout=30)
            invoice_issue(invoice=invoice, actor=actor, issue_date=date(2026, 3, 31))
        except BaseException as error:  # reported to the test, which fails on it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(invoice,)) for invoice in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an issue never finished"
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_take_numbers_one_to_ten():
    actor = UserFactory(username="race-clerk")
    client = ClientFactory()
    invoices = [invoice_approve(invoice=invoice_with_lines([Decimal("100.00")],
                                                           contract__client=client),
                                actor=actor)
                for _ in range(THREADS)]

    errors = issue_concurrently(invoices, actor)

    assert errors == []
    numbers = sorted(Invoice.objects.filter(pk__in=[i.pk for i in invoices])
                     .values_list("number", flat=True))
    assert numbers == [f"US-2026-{n:06d}" for n in range(1, THREADS + 1)]
    assert NumberSequence.objects.get(legal_entity=client.legal_entity, year=2026,
                                      kind=Invoice.Kind.INVOICE).last_number == THREADS
    assert not Invoice.objects.filter(pk__in=[i.pk for i in invoices]).exclude(
        status=Invoice.Status.ISSUED).exists()
