"""Billing's reactions to other apps' events (ARCHITECTURE.md: reactions go through the outbox).

Handlers are idempotent: the milestone's live billed-item link allows one invoice, so a
re-delivered event drafts nothing new; an invoice's PDF is stored and e-mailed at most once.
"""

from billing.models import Invoice
from psa.models import Milestone, OutboxEvent


def draft_milestone_invoice_on_event(event: OutboxEvent) -> None:
    """`milestone.accepted` (or `milestone.completed` where no acceptance is required):
    draft the milestone's invoice on a fixed-fee-by-milestones contract."""
    from billing.services.drafting import draft_milestone_invoice

    milestone = Milestone.objects.filter(pk=event.payload.get("milestone_id")).first()
    if milestone is None:
        return
    if event.type == "milestone.completed" and milestone.requires_acceptance:
        return
    draft_milestone_invoice(milestone=milestone)


def on_invoice_issued(event: OutboxEvent) -> None:
    """`invoice.issued`: render, store and e-mail the document's PDF.

    Through the outbox rather than a task sent after commit, so a message lost with the broker
    is found by the sweeper and retried, and a failing mail server ends as a dead letter an
    administrator can replay; the delivery itself stores and mails each at most once. On the
    billing queue: rendering is slow, and the default queue carries the ERP and CRM pushes.
    """
    from billing.documents import invoice_document_deliver

    invoice_id = event.payload.get("invoice_id")
    if not Invoice.objects.filter(pk=invoice_id, status__in=Invoice.ISSUED_STATES).exists():
        return  # voided since, or gone: nothing to send
    invoice_document_deliver(invoice_id=invoice_id)


def register() -> None:
    from psa import events

    for event_type in ("milestone.accepted", "milestone.completed"):
        events.subscribe(event_type, "billing.milestone_invoice",
                         draft_milestone_invoice_on_event)
    events.subscribe("invoice.issued", "billing.invoice_document", on_invoice_issued,
                     queue="billing")
