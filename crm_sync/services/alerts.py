"""Integration alerts: anything stuck longer than SYNC_ALERT_AFTER_MINUTES opens an alert.

`alerts_check` (beat task `crm_sync.alerts_check`) looks for:
- dead deliveries (the outbox gave up: nothing more happens without a person), failed
  deliveries created longer ago than the threshold, and pending ones due for longer than it
  (no worker is taking them: a stopped worker or broker), per state;
- inbound messages still received or failed after the threshold, per connection;
- deals won longer ago than the threshold with no project;
- issued invoices not in the enabled ERP connection after the threshold;
- a connection whose last poll failed.

Each condition has a stable key: one SyncAlert row per key is opened, updated (count, detail)
while the condition holds, resolved when it clears, and reopened if it comes back. Each newly
opened alert is e-mailed once, after the rows are committed; a failed send is retried by the
next check (its `notified_at` stays empty).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from crm_sync.models import InboundMessage, SyncAlert, SyncRun
from crm_sync.selectors.backlog import deals_won_unprojected, erp_connection, invoices_not_in_erp
from crm_sync.selectors.health import alert_threshold, connections_with_last_poll
from psa.models import Delivery
from psa.roles import ADMINISTRATOR

logger = logging.getLogger(__name__)

HEALTH_PATH = "/integrations/"
DETAIL_MAX_ITEMS = 20


@dataclass(frozen=True)
class Finding:
    """One condition that holds now."""

    key: str
    title: str
    count: int
    detail: str


def _breakdown(counts: dict[str, int]) -> str:
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    lines = [f"{name}: {count}" for name, count in items[:DETAIL_MAX_ITEMS]]
    if len(items) > DETAIL_MAX_ITEMS:
        lines.append(f"… and {len(items) - DETAIL_MAX_ITEMS} more")
    return "\n".join(lines)


def _delivery_findings(cutoff: datetime) -> list[Finding]:
    rows = (Delivery.objects
            .filter(Q(state=Delivery.State.DEAD)
                    | Q(state=Delivery.State.FAILED, created_at__lte=cutoff)
                    | Q(state=Delivery.State.PENDING, next_attempt_at__lte=cutoff))
            .order_by().values("state", "subscriber").annotate(n=Count("pk")))
    by_state: dict[str, dict[str, int]] = {}
    for row in rows:
        by_state.setdefault(row["state"], {})[row["subscriber"]] = row["n"]
    findings = []
    if dead := by_state.get(Delivery.State.DEAD):
        findings.append(Finding("deliveries.dead", "Dead deliveries wait for a replay",
                                sum(dead.values()), _breakdown(dead)))
    if failed := by_state.get(Delivery.State.FAILED):
        findings.append(Finding("deliveries.failed", "Deliveries still failing",
                                sum(failed.values()), _breakdown(failed)))
    if waiting := by_state.get(Delivery.State.PENDING):
        findings.append(Finding("deliveries.waiting", "Deliveries not picked up by a worker",
                                sum(waiting.values()), _breakdown(waiting)))
    return findings


def _inbound_findings(cutoff: datetime) -> list[Finding]:
    rows = (InboundMessage.objects
            .filter(state__in=(InboundMessage.State.RECEIVED, InboundMessage.State.FAILED),
                    received_at__lte=cutoff)
            .order_by().values("connection__name", "state").annotate(n=Count("pk")))
    per_connection: dict[str, dict[str, int]] = {}
    for row in rows:
        per_connection.setdefault(row["connection__name"], {})[row["state"]] = row["n"]
    return [Finding(f"inbound.stuck:{name}", f"Inbound changes from {name} not processed",
                    sum(states.values()), _breakdown(states))
            for name, states in sorted(per_connection.items())]


def _business_findings(cutoff: datetime) -> list[Finding]:
    findings = []
    deals = deals_won_unprojected(won_before=cutoff).order_by().count()
    if deals:
        findings.append(Finding("deals.unprojected", "Won deals without a project", deals,
                                f"{deals} deal(s) won before {cutoff:%Y-%m-%d %H:%M} UTC "
                                "have no project."))
    erp = erp_connection()
    if erp is not None:
        missing = invoices_not_in_erp(system=erp.name, issued_before=cutoff).order_by().count()
        if missing:
            findings.append(Finding(
                "invoices.not_in_erp", f"Issued invoices not in {erp.name}", missing,
                f"{missing} invoice(s) or credit note(s) issued before "
                f"{cutoff:%Y-%m-%d %H:%M} UTC have no {erp.name} id."))
    return findings


def _poll_findings(cutoff: datetime) -> list[Finding]:
    """Connections whose polls have failed for longer than the threshold: the last poll
    failed, one failed before the cutoff, and none succeeded since (a single transient failure
    is the next poll's business, not an e-mail)."""
    runs = SyncRun.objects.filter(connection=OuterRef("pk"), flow="poll")
    failing = (connections_with_last_poll()
               .filter(enabled=True, last_poll_status=SyncRun.Status.FAILED)
               .filter(Exists(runs.filter(status=SyncRun.Status.FAILED,
                                          started_at__lte=cutoff)))
               .exclude(Exists(runs.filter(status=SyncRun.Status.SUCCEEDED,
                                           started_at__gte=cutoff))))
    return [Finding(f"poll.failed:{c.name}", f"The last poll of {c.name} failed", 1,
                    (c.last_poll_error or "")[:2000])
            for c in failing]


def alert_findings(*, now: datetime | None = None) -> list[Finding]:
    """Every condition that holds now (a fixed number of aggregate queries)."""
    cutoff = (now or timezone.now()) - alert_threshold()
    return [*_delivery_findings(cutoff), *_inbound_findings(cutoff),
            *_business_findings(cutoff), *_poll_findings(cutoff)]


@transaction.atomic
def _reconcile(findings: list[Finding], now: datetime) -> None:
    """Open, update, reopen and resolve alert rows to match `findings`."""
    keys = {finding.key for finding in findings}
    existing = {alert.key: alert for alert in SyncAlert.objects.select_for_update(of=("self",))
                .filter(Q(key__in=keys) | Q(resolved_at__isnull=True))}
    for finding in findings:
        alert = existing.get(finding.key)
        values = {"title": finding.title[:200], "detail": finding.detail,
                  "count": finding.count}
        if alert is None:
            SyncAlert.objects.update_or_create(key=finding.key, defaults=values)
            logger.warning("Integration alert opened: %s (%s)", finding.key, finding.count)
            continue
        for name, value in values.items():
            setattr(alert, name, value)
        if alert.resolved_at is not None:
            alert.resolved_at, alert.notified_at, alert.opened_at = None, None, now
            logger.warning("Integration alert reopened: %s (%s)", finding.key, finding.count)
        alert.save()
    cleared = [key for key, alert in existing.items()
               if key not in keys and alert.resolved_at is None]
    if cleared:
        SyncAlert.objects.filter(key__in=cleared, resolved_at__isnull=True).update(
            resolved_at=now)
        logger.info("Integration alerts resolved: %s", ", ".join(sorted(cleared)))


def alert_recipients() -> list[str]:
    """SYNC_ALERT_EMAILS, else the active administrators' e-mail addresses."""
    if settings.SYNC_ALERT_EMAILS:
        return list(settings.SYNC_ALERT_EMAILS)
    admins = (User.objects.filter(is_active=True)
              .filter(Q(groups__name=ADMINISTRATOR) | Q(is_superuser=True))
              .exclude(email="").order_by("email").values_list("email", flat=True).distinct())
    return list(admins)


def _message(alert: SyncAlert) -> tuple[str, str]:
    base = settings.PSA_BASE_URL.rstrip("/")
    link = f"{base}{HEALTH_PATH}" if base else HEALTH_PATH
    subject = f"[PSA] Integration alert: {alert.title}"
    body = (f"{alert.title} ({alert.count}).\n\n{alert.detail}\n\n"
            f"Stuck for longer than {settings.SYNC_ALERT_AFTER_MINUTES} minutes. "
            f"Open the sync health page to look and replay: {link}\n")
    return subject, body


def _notify() -> None:
    """E-mail each open alert nobody was told about yet; mark it told once sent."""
    pending = list(SyncAlert.objects.filter(resolved_at__isnull=True, notified_at__isnull=True)
                   .order_by("pk"))
    if not pending:
        return
    recipients = alert_recipients()
    if not recipients:
        logger.warning("%s integration alert(s) open and nobody to e-mail: set "
                       "SYNC_ALERT_EMAILS or give an administrator an e-mail address",
                       len(pending))
        return
    for alert in pending:
        # Claim the alert before sending, so two overlapping checks never both e-mail it.
        claimed = SyncAlert.objects.filter(pk=alert.pk, notified_at__isnull=True).update(
            notified_at=timezone.now())
        if not claimed:
            continue
        subject, body = _message(alert)
        try:
            send_mail(subject, body, None, recipients)
        except Exception:  # the mail server is a remote: keep the alert for the next check
            logger.exception("Could not e-mail integration alert %s", alert.key)
            SyncAlert.objects.filter(pk=alert.pk).update(notified_at=None)


def alerts_check() -> list[SyncAlert]:
    """Bring the alerts in line with what is stuck now, e-mail new ones; returns the open ones.

    Safe to run at any frequency: an alert is opened and e-mailed once per episode.
    """
    now = timezone.now()
    _reconcile(alert_findings(now=now), now)
    _notify()
    return list(SyncAlert.objects.filter(resolved_at__isnull=True).order_by("pk"))
