"""What the integration pages share: their tabs, the badge of each state, and safe redirects."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

HEALTH_PERM = "crm_sync.view_synchealth"
REPLAY_PERM = "psa.replay_delivery"
VIEW_CONNECTION_PERM = "crm_sync.view_connection"
CHANGE_CONNECTION_PERM = "crm_sync.change_connection"

# (label, url name, permission): the section's tabs, as the role may use them.
TABS = (
    ("Sync health", "crm_sync:health", HEALTH_PERM),
    ("Inbound messages", "crm_sync:messages", HEALTH_PERM),
)

# One colour per state across the product (UI.md): the existing badge classes by meaning.
BADGES = {
    "healthy": "badge-approved", "degraded": "badge-held", "failing": "badge-void",
    "disabled": "badge-draft",
    "pending": "badge-pending", "failed": "badge-void", "dead": "badge-void",
    "succeeded": "badge-approved", "running": "badge-run-running",
    "received": "badge-submitted", "processed": "badge-approved", "ignored": "badge-draft",
}


def tabs(request: HttpRequest, current: str) -> list[dict[str, object]]:
    """The tabs the user may open, `current` (a url name) marked as the page shown."""
    return [{"label": label, "url": reverse(name), "current": name == current}
            for label, name, perm in TABS if request.user.has_perm(perm)]


# A failed delivery will be retried by itself (amber); a dead one waits for a person (red).
DELIVERY_BADGES = {**BADGES, "failed": "badge-held"}


def badge(state: str | None, *, delivery: bool = False) -> str:
    return (DELIVERY_BADGES if delivery else BADGES).get(state or "", "badge-draft")


def safe_next(request: HttpRequest, default: str) -> str:
    """The form's `next` URL when it is on this site, else `default`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default
