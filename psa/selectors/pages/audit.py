"""The audit trail page: log entries with their before and after values."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from auditlog.models import LogEntry
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    QuerySet,
)

from psa.rules import visible

UserLike = User | AnonymousUser
Choice = tuple[str, str]

ZERO = Decimal("0.00")



# --- Audit trail ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditRow:
    entry: LogEntry
    actor_label: str
    model_label: str
    action: str
    is_create: bool
    changes: list[AuditChange]


def audit_list(*, actor: UserLike, content_type: int | None = None,
               actor_id: int | None = None) -> QuerySet[LogEntry]:
    """Audit entries (newest first) the actor may read, filtered by model and by who acted."""
    entries = visible(LogEntry.objects.all(), actor, "psa.view_auditlog")
    if content_type:
        entries = entries.filter(content_type_id=content_type)
    if actor_id:
        entries = entries.filter(actor_id=actor_id)
    return entries.select_related("actor", "content_type").order_by("-timestamp", "-pk")


def audit_filter_options(*, actor: UserLike) -> tuple[list[Choice], list[Choice]]:
    """(models, actors) that occur in the audit trail, for the filter form."""
    entries = visible(LogEntry.objects.all(), actor, "psa.view_auditlog")
    types = ContentType.objects.filter(pk__in=entries.values("content_type_id"))
    actors = User.objects.filter(pk__in=entries.values("actor_id")).order_by("username")
    return ([(str(t.pk), f"{t.app_label}.{t.model}") for t in types.order_by("model")],
            [(str(pk), name) for pk, name in actors.values_list("pk", "username")])


# Bookkeeping columns and auditlog's placeholders for reverse relations ("psa.Task.None")
# say nothing to a reader of the trail.
_AUDIT_SKIPPED_FIELDS = frozenset({"id", "created_at", "updated_at"})
_RELATION_PLACEHOLDER = re.compile(r"^\w+\.\w+\.None$")


def _change_text(value: object) -> str:
    return "—" if value in (None, "None", "") else str(value)


def _audit_changes(changes: dict | None) -> list[AuditChange]:
    rows = []
    for name, values in (changes or {}).items():
        if name in _AUDIT_SKIPPED_FIELDS or not isinstance(values, list | tuple):
            continue
        if len(values) != 2:
            continue
        before, after = (_change_text(v) for v in values)
        if all(v == "—" or _RELATION_PLACEHOLDER.match(v) for v in (before, after)):
            continue
        rows.append(AuditChange(field=name, before=before, after=after))
    return rows


def audit_rows(entries: Iterable[LogEntry]) -> list[AuditRow]:
    """Display rows for audit entries: who, what, and each field's before and after."""
    labels = dict(LogEntry.Action.choices)
    rows = []
    for entry in entries:
        changes = _audit_changes(entry.changes_dict)
        actor = entry.actor
        rows.append(AuditRow(
            entry=entry,
            actor_label=actor.get_username() if actor else (entry.actor_email or "system"),
            model_label=str(entry.content_type.model_class()._meta.verbose_name
                            if entry.content_type.model_class() else entry.content_type.model),
            action=str(labels.get(entry.action, entry.action)),
            is_create=entry.action == LogEntry.Action.CREATE,
            changes=changes,
        ))
    return rows
