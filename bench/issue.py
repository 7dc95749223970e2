"""Issuing 1,000 approved invoices with their PDFs: invoices per second, PDF render time.

    .venv/bin/python bench/issue.py [--invoices 1000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/issue.py

Builds a throwaway test database (real data is never touched) with one legal entity, 50 clients
(each with a billing contact, so every document is e-mailed) and 1,000 draft invoices of five
lines each (three time lines by project and role, two expense lines), as an invoice run leaves
them. Then, for each invoice in turn, what finance and the worker do: `invoice_approve`,
`invoice_issue` (gapless number under the sequence row's lock, dates, `invoice.issued` into the
outbox) and `invoice_document_deliver` (render the PDF with WeasyPrint, store it, e-mail it
once; run here in-process, as the worker would run the task). PDFs are written to a temporary
MEDIA_ROOT, mail goes to Django's in-memory test outbox, and Celery messages (the delivery task
and outbox deliveries enqueued on commit) go to an in-memory broker, so nothing outside the
throwaway database is touched.

Printed: invoices per second over the whole loop, the median (p90) of each step per invoice,
of which the PDF render (`invoice_pdf_render`, timed inside delivery), and a floor measured in
the same run on 50 of the same invoices: the two raw SQL statements issuing needs at least
(take the next number from the sequence row with `UPDATE … RETURNING`-style locking, set
number, dates and status; rolled back) plus WeasyPrint rendering the invoice's already-rendered
HTML — the part of a PDF no code of ours can avoid. The ratio is per-invoice time over the
floor. No wall-clock assertion. Checked: every invoice is issued with a distinct number in one
gapless series, has a stored PDF and was e-mailed once.
"""

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

# Before Django is set up: PDFs into a scratch folder, Celery messages into memory.
MEDIA = tempfile.TemporaryDirectory(prefix="psa-bench-issue-")
os.environ["MEDIA_ROOT"] = MEDIA.name
os.environ["CELERY_BROKER_URL"] = "memory://"

from datetime import date, timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402

import harness  # noqa: E402  (sets Django up)
from django.core import mail  # noqa: E402
from django.db import connection, transaction  # noqa: E402

ISSUE_DATE = date(2026, 11, 20)
CLIENTS = 50
FLOOR_SAMPLE = 50


def seed(count: int) -> list[int]:
    """`count` draft invoices of five lines, with their totals; returns their ids."""
    from django.contrib.auth.models import User

    from billing.models import Invoice, InvoiceLine
    from billing.services.totals import invoice_totals_refresh
    from psa.models import Client, Contract, LegalEntity, Person, Project, Role

    entity = LegalEntity.objects.create(
        code="US", name="Bench Consulting Inc.", country="US", base_currency="USD",
        time_zone="America/New_York", invoice_prefix="US", tax_registration="EIN 12-3456789",
        address="1 Main Street\nBoston, MA 02110")
    roles = Role.objects.bulk_create([Role(code=f"R{n}", name=name, level=n + 1) for n, name in
                                      enumerate(("Analyst", "Consultant", "Senior Consultant"))])
    manager = Person.objects.create(employee_number="M0001", first_name="Mia", last_name="Lead",
                                    email="mia@example.com", legal_entity=entity, role=roles[2],
                                    country="US", hire_date=date(2020, 1, 6))
    clients = Client.objects.bulk_create([
        Client(code=f"C{n:03d}", name=f"Client {n:03d} Holdings Inc.", legal_entity=entity,
               currency="USD", country="US", billing_address=f"{n} Client Road\nNew York, NY",
               tax_rate=Decimal("8.8750"), tax_jurisdiction="US-NY",
               billing_contact_name="Accounts Payable",
               billing_contact_email=f"ap{n}@example.com") for n in range(CLIENTS)])
    contracts = Contract.objects.bulk_create([
        Contract(code=f"K{n:03d}", name=f"Engagement {n}", client=client, legal_entity=entity,
                 currency="USD", billing_model="tm", revenue_method="as_delivered",
                 status="active", value_amount=Decimal("500000.00"),
                 start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                 po_number=f"PO-{n:05d}", expense_markup_percent=Decimal("10"))
        for n, client in enumerate(clients)])
    projects = Project.objects.bulk_create([
        Project(code=f"P{n:03d}", name=f"Platform rebuild {n}", contract=contract,
                client=contract.client, legal_entity=entity, manager=manager, currency="USD",
                start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                budget_hours=Decimal("5000"), budget_cost_amount=Decimal("0"),
                budget_revenue_amount=Decimal("0")) for n, contract in enumerate(contracts)])
    invoices = Invoice.objects.bulk_create([
        Invoice(legal_entity=entity, client=contracts[n % CLIENTS].client,
                contract=contracts[n % CLIENTS], currency="USD", cut_off=date(2026, 10, 31),
                payment_terms_days=30, tax_rate=Decimal("8.8750")) for n in range(count)])
    lines = []
    for n, invoice in enumerate(invoices):
        project, contract = projects[n % CLIENTS], contracts[n % CLIENTS]
        for k, role in enumerate(roles):
            hours, rate = Decimal(20 + (n + k) % 40) + Decimal("0.25") * k, Decimal(150 + 50 * k)
            amount = (hours * rate).quantize(Decimal("0.01"))
            lines.append(InvoiceLine(
                invoice=invoice, sequence=k + 1, kind="time", contract=contract,
                project=project, role=role, quantity=hours, unit_price=rate,
                description=f"{project.name}: {role.name} {hours:.2f} h \u00d7 {rate:.2f}",
                base_amount=amount, amount=amount))
        for k, (category, value) in enumerate((("lodging", "420.00"), ("meals", "86.40"))):
            amount = (Decimal(value) * Decimal("1.1")).quantize(Decimal("0.01"))
            lines.append(InvoiceLine(
                invoice=invoice, sequence=4 + k, kind="expense", contract=contract,
                category=category, description=f"Expenses: {category} {value} \u00d7 1.1",
                base_amount=amount, amount=amount))
    InvoiceLine.objects.bulk_create(lines, batch_size=2000)
    for invoice in invoices:
        invoice_totals_refresh(invoice)
    User.objects.create_user("finance", "finance@example.com", "x")
    return [invoice.pk for invoice in invoices]


def floor(ids: list[int]) -> list[float]:
    """Milliseconds per invoice of the floor (module docstring) for a sample of the drafts."""
    from django.template.loader import render_to_string
    from weasyprint import HTML

    from billing.documents import PDF_TEMPLATE, invoice_document_context
    from billing.models import Invoice
    from psa.models import LegalEntity

    entity = LegalEntity.objects.get(code="US")
    samples = []
    for invoice_id in ids[:FLOOR_SAMPLE]:
        html = render_to_string(PDF_TEMPLATE, invoice_document_context(
            Invoice.objects.get(pk=invoice_id)))  # not timed: template work is ours
        with transaction.atomic():
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO billing_numbersequence (legal_entity_id, year, kind, "
                               "last_number) VALUES (%s, %s, 'invoice', 0) "
                               "ON CONFLICT DO NOTHING", [entity.pk, ISSUE_DATE.year])
                cursor.execute("UPDATE billing_numbersequence SET last_number = last_number + 1 "
                               "WHERE legal_entity_id = %s AND year = %s AND kind = 'invoice'",
                               [entity.pk, ISSUE_DATE.year])
                cursor.execute("SELECT last_number FROM billing_numbersequence "
                               "WHERE legal_entity_id = %s AND year = %s AND kind = 'invoice'",
                               [entity.pk, ISSUE_DATE.year])
                number = cursor.fetchone()[0]
                cursor.execute("UPDATE billing_invoice SET number = %s, status = 'issued', "
                               "issue_date = %s, due_date = %s WHERE id = %s",
                               [f"US-{ISSUE_DATE.year}-{number:06d}",
                                connection.ops.adapt_datefield_value(ISSUE_DATE),
                                connection.ops.adapt_datefield_value(
                                    ISSUE_DATE + timedelta(days=30)), invoice_id])
            HTML(string=html).write_pdf()
            samples.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)
    return samples


def issue_all(ids: list[int]) -> tuple[float, dict[str, list[float]]]:
    """Approve, issue and deliver every invoice; (seconds, per-step milliseconds)."""
    from django.contrib.auth.models import User

    import billing.documents as documents
    from billing.models import Invoice
    from billing.services.issue import invoice_approve, invoice_issue

    actor = User.objects.get(username="finance")
    steps: dict[str, list[float]] = {"approve": [], "issue": [], "deliver": [], "render": []}
    render = documents.invoice_pdf_render

    def timed_render(*, invoice):  # the module-level name delivery calls
        started = time.perf_counter()
        try:
            return render(invoice=invoice)
        finally:
            steps["render"].append((time.perf_counter() - started) * 1000)

    documents.invoice_pdf_render = timed_render
    started = time.perf_counter()
    try:
        for invoice_id in ids:
            invoice = Invoice(pk=invoice_id)
            mark = time.perf_counter()
            invoice = invoice_approve(invoice=invoice, actor=actor)
            steps["approve"].append((time.perf_counter() - mark) * 1000)
            mark = time.perf_counter()
            invoice_issue(invoice=invoice, actor=actor, issue_date=ISSUE_DATE)
            steps["issue"].append((time.perf_counter() - mark) * 1000)
            mark = time.perf_counter()
            documents.invoice_document_deliver(invoice_id=invoice_id)
            steps["deliver"].append((time.perf_counter() - mark) * 1000)
            if len(mail.outbox) > 100:
                mail.outbox.clear()  # keep memory flat; the e-mail flag is checked below
    finally:
        documents.invoice_pdf_render = render
    return time.perf_counter() - started, steps


def verify(ids: list[int]) -> list[str]:
    from billing.models import Invoice

    problems = []
    invoices = Invoice.objects.filter(pk__in=ids)
    numbers = sorted(invoices.values_list("number", flat=True))
    expected = [f"US-{ISSUE_DATE.year}-{n:06d}" for n in range(1, len(ids) + 1)]
    if numbers != expected:
        problems.append("numbers are not one gapless series")
    if invoices.exclude(status="issued").exists():
        problems.append("not every invoice is issued")
    if invoices.filter(pdf="").exists():
        problems.append("an issued invoice has no stored PDF")
    if invoices.filter(emailed_at__isnull=True).exists():
        problems.append("an issued invoice was not e-mailed")
    return problems


def _median_p90(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f} ({statistics.quantiles(values, n=10)[-1]:6.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # WeasyPrint logs every layout step; kombu warns once

    with harness.throwaway_database(), MEDIA:
        ids = seed(args.invoices)
        floor_ms = floor(ids)
        seconds, steps = issue_all(ids)
        problems = verify(ids)

    per_invoice = seconds * 1000 / len(ids)
    floor_median = statistics.median(floor_ms)
    print(f"{connection.vendor}, {len(ids):,} approved-and-issued invoices of 5 lines, "
          f"with PDF and e-mail")
    print(f"  whole loop            {seconds:>8.1f} s  = {len(ids) / seconds:.1f} invoices/s, "
          f"{per_invoice:.1f} ms per invoice")
    print("  per invoice, ms       median (p90)")
    for step in ("approve", "issue", "deliver", "render"):
        label = "  of which PDF render" if step == "render" else f"  {step}"
        print(f"{label:<22}{_median_p90(steps[step])}")
    print(f"  floor (SQL + WeasyPrint on ready HTML) {floor_median:.1f} ms median of "
          f"{len(floor_ms)}; ratio {per_invoice / floor_median:.2f} x")
    for problem in problems:
        print(f"  CHECK FAILED: {problem}")
    if problems:
        sys.exit(1)
    print("  checks: every invoice issued in one gapless series, PDF stored, e-mailed once")


if __name__ == "__main__":
    main()
