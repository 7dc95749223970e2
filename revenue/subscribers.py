"""Revenue's reactions to other apps' events (ARCHITECTURE.md: reactions go through the outbox).

- `invoice.issued` (invoices and credit notes): post the document's journal entries
  (revenue/services/invoice_journals.py). Idempotent: one entry per source key, so a
  re-delivered event posts nothing.
- `contract.created`, `contract.changed`, `change_order.approved`: refresh the contract's
  planned schedule (revenue/services/schedules.py). Idempotent: the refresh rewrites the plan
  from the contract as it stands.

Each handler is thin: it reads the id from the payload and calls one service, imported inside
the handler (STYLE.md §12) so that loading the app registers the handlers without importing
the services' dependencies.
"""

from psa.models import Contract, OutboxEvent

SCHEDULE_EVENTS = ("contract.created", "contract.changed", "change_order.approved")


def on_invoice_issued(event: OutboxEvent) -> None:
    """`invoice.issued`: post the invoice's (or credit note's) journal entries."""
    from revenue.services.invoice_journals import invoice_journal_post

    invoice_id = event.payload.get("invoice_id")
    if invoice_id is None:
        return
    invoice_journal_post(invoice_id=int(invoice_id))


def on_contract_changed(event: OutboxEvent) -> None:
    """A contract was created or changed, or a change order approved: refresh its plan."""
    from revenue.services.schedules import schedule_plan_refresh

    contract = Contract.objects.filter(pk=event.payload.get("contract_id")).first()
    if contract is None:
        return
    schedule_plan_refresh(contract=contract)


def register() -> None:
    """Subscribe revenue's handlers (called from RevenueConfig.ready)."""
    from psa import events

    events.subscribe("invoice.issued", "revenue.invoice_journal", on_invoice_issued)
    for event_type in SCHEDULE_EVENTS:
        events.subscribe(event_type, "revenue.schedule_plan", on_contract_changed)
