"""Outbound webhook subscriptions: create one (its secret shown once) and delete one.

Both are audited by the audit library (registered in CrmSyncConfig.ready(), secret excluded).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from crm_sync.crypto import encrypt_text
from crm_sync.models import WebhookSubscription
from crm_sync.services.webhook_targets import WebhookTargetRefusedError, webhook_target_check
from psa.common.errors import DomainError

ALL_TYPES = "*"
# Every event type the application publishes (`events.publish("…")`); a test keeps the list in
# step with the code. The hub's own `inbound.received` is internal and never sent out.
EVENT_TYPES: tuple[str, ...] = (
    "assignment.changed", "assignment.created", "assignment.ended",
    "change_order.approved", "change_order.created", "change_order.rejected",
    "client.changed", "client.created",
    "contract.changed", "contract.created", "contract.estimate_changed", "contract.rerated",
    "expense.approved", "expense.rejected", "expense.reopened", "expense.submitted",
    "invoice.approved", "invoice.issued", "invoice.unapproved", "invoice.voided",
    "journal_entry.posted",
    "milestone.accepted", "milestone.completed",
    "payment.recorded",
    "period.closed", "period.reopened",
    "person.changed", "person.created",
    "project.changed", "project.created",
    "resource_request.cancelled", "resource_request.changed", "resource_request.created",
    "time_entry.approved", "time_entry.rejected", "time_entry.reopened",
    "timesheet.submitted",
)
INTERNAL_EVENT_TYPES = frozenset({"inbound.received"})
SECRET_BYTES = 32
URL_MAX_LENGTH = 500


class WebhookSubscriptionInvalidError(DomainError):
    """A subscription's URL or event types are not acceptable (400, beside the field)."""

    code = "invalid"


@dataclass(frozen=True)
class CreatedSubscription:
    """A new subscription and its secret, which is never readable again after this."""

    subscription: WebhookSubscription
    secret: str


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > URL_MAX_LENGTH:
        raise WebhookSubscriptionInvalidError(
            f"The URL is longer than {URL_MAX_LENGTH} characters.", attr="url")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise WebhookSubscriptionInvalidError(
            "Give an absolute http:// or https:// URL.", attr="url") from exc
    parts = urlsplit(url)
    if parts.username or parts.password:
        # They would show in delivery errors; receivers authenticate us by the signature.
        raise WebhookSubscriptionInvalidError(
            "Leave the user name and password out of the URL: receivers check the signature.",
            attr="url")
    try:
        webhook_target_check(url)
    except WebhookTargetRefusedError as exc:
        raise WebhookSubscriptionInvalidError(str(exc), attr="url") from exc
    return url


def _clean_event_types(event_types: Sequence[str]) -> list[str]:
    """The requested types, deduplicated in order; "*" alone when it is among them."""
    if isinstance(event_types, str) or not event_types:
        raise WebhookSubscriptionInvalidError(
            'Name at least one event type, or "*" for all of them.', attr="event_types")
    unknown = sorted({t for t in event_types if t != ALL_TYPES and t not in EVENT_TYPES})
    if unknown:
        raise WebhookSubscriptionInvalidError(
            f"Unknown event type(s): {', '.join(unknown)}. Known types: "
            f"{', '.join(EVENT_TYPES)}, or \"*\" for all.", attr="event_types")
    if ALL_TYPES in event_types:
        return [ALL_TYPES]
    return list(dict.fromkeys(event_types))


@transaction.atomic
def webhook_subscription_create(*, actor: User, url: str, event_types: Sequence[str],
                                description: str = "") -> CreatedSubscription:
    """Create an active subscription with a new random secret, stored encrypted.

    The secret is returned here only: afterwards it can be used to sign, never read back.
    Raises WebhookSubscriptionInvalidError for a URL that is not absolute http(s) or an
    unknown event type.
    """
    secret = secrets.token_urlsafe(SECRET_BYTES)
    subscription = WebhookSubscription(
        url=_clean_url(url), event_types=_clean_event_types(event_types),
        description=(description or "").strip(), secret_encrypted=encrypt_text(secret),
        active=True, created_by=actor if actor and actor.pk else None)
    subscription.full_clean()
    subscription.save()
    return CreatedSubscription(subscription=subscription, secret=secret)


@transaction.atomic
def webhook_subscription_delete(*, actor: User, subscription: WebhookSubscription) -> None:
    """Delete a subscription and its receipts; events not yet sent to it are not sent.

    `actor` is recorded by the audit trail of the request (the middleware's actor).
    """
    subscription.delete()
