"""Template context of every page: the open integration alerts banner (base.html).

Only users who may see the sync health page are told; for them it costs one COUNT query, run
only when a template shows the banner (the value is a callable the template calls), so HTMX
fragments pay nothing.
"""

from __future__ import annotations

from django.http import HttpRequest

HEALTH_PERM = "crm_sync.view_synchealth"


def sync_alerts(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(HEALTH_PERM):
        return {}
    from crm_sync.selectors.alerts import open_alert_count

    return {"sync_alert_count": open_alert_count}
