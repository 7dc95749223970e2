"""Billing's reactions to other apps' events (ARCHITECTURE.md: reactions go through the outbox).

Handlers are idempotent: the milestone's live billed-item link allows one invoice, so a
re-delivered event drafts nothing new.
"""

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


def register() -> None:
    from psa import events

    for event_type in ("milestone.accepted", "milestone.completed"):
        events.subscribe(event_type, "billing.milestone_invoice",
                         draft_milestone_invoice_on_event)
