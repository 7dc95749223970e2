"""Timesheet reminders and approval digests, sent at most once per person, kind and week.

Run periodically (Celery beat, `psa.reminders_send`). For each legal entity the job looks at
the latest week whose deadline (settings TIMESHEET_DEADLINE_WEEKDAY / _HOUR, in the entity's
time zone) has passed:

- every active person of the entity whose timesheet of that week is incomplete (hours below
  capacity) or unsubmitted (draft or rejected entries) gets a reminder (psa.selectors.
  compliance defines both, so the mails match the time compliance measure);
- every project manager with something waiting for their approval gets a digest of it (the
  same groups the approvals page shows).

A `ReminderLog` row (unique person, kind, week) is written before each mail, so a re-run, a
retry or two overlapping workers never send the same mail twice. People are read in batches.
"""

import logging
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from psa.models import Expense, LegalEntity, Person, Project, ReminderLog, TimeEntry
from psa.selectors.approvals import approval_groups
from psa.selectors.compliance import PersonWeek, employed_between, last_due_week, person_weeks

logger = logging.getLogger(__name__)
Kind = ReminderLog.Kind


@dataclass
class ReminderRun:
    """What one run sent: mails per kind and the week looked at per legal entity."""

    weeks: dict[str, date] = field(default_factory=dict)
    timesheet_reminders: int = 0
    approval_digests: int = 0


def _site_url(path: str) -> str:
    base = getattr(settings, "PSA_BASE_URL", "").rstrip("/")
    return f"{base}{path}"


def _send_once(*, person: Person, kind: str, week_start: date, subject: str,
               body: str) -> bool:
    """Record the reminder, then mail it; False when it was already sent (nothing happens).

    A failed send removes the record again, so the next run retries that person.
    """
    try:
        with transaction.atomic():
            log = ReminderLog.objects.create(person=person, kind=kind, week_start=week_start)
    except IntegrityError:
        return False
    try:
        send_mail(subject, body, None, [person.email])
    except (smtplib.SMTPException, OSError):
        ReminderLog.objects.filter(pk=log.pk).delete()
        logger.exception("reminder mail failed", extra={"person_id": person.pk, "kind": kind,
                                                        "week_start": week_start.isoformat()})
        return False
    return True


def _timesheet_reminder(week: PersonWeek) -> bool:
    person = week.person
    context = {
        "person": person, "week": week, "week_end": week.week_start + timedelta(days=6),
        "deadline": timezone.localtime(week.deadline, week.deadline.tzinfo),
        "url": _site_url(reverse("timesheet") + f"?week={week.week_start:%Y-%m-%d}"),
    }
    subject = (f"Your timesheet for the week of {week.week_start:%d %b %Y} is "
               f"{'incomplete' if week.is_incomplete else 'not submitted'}")
    body = render_to_string("email/timesheet_reminder.txt", context)
    return _send_once(person=person, kind=Kind.TIMESHEET, week_start=week.week_start,
                      subject=subject, body=body)


def _approval_digest(manager: Person, week_start: date) -> bool:
    groups = approval_groups(actor=manager.user)
    if not groups:
        return False
    context = {
        "person": manager, "groups": groups,
        "hours": sum((g.hours for g in groups), start=0),
        "expenses": sum(len(g.expense_ids) for g in groups),
        "url": _site_url(reverse("approval-list")),
    }
    subject = (f"{len(groups)} timesheet week{'s' if len(groups) != 1 else ''} "
               f"{'wait' if len(groups) != 1 else 'waits'} for your approval")
    body = render_to_string("email/approval_digest.txt", context)
    return _send_once(person=manager, kind=Kind.APPROVAL_DIGEST, week_start=week_start,
                      subject=subject, body=body)


def _people_to_remind(entity: LegalEntity, week_start: date) -> Iterator[Person]:
    already = ReminderLog.objects.filter(kind=Kind.TIMESHEET, week_start=week_start)
    people = employed_between(
        Person.objects.filter(legal_entity=entity,
                              employment_status=Person.EmploymentStatus.ACTIVE),
        week_start, week_start + timedelta(days=6))
    return (people.exclude(pk__in=already.values("person_id")).select_related("legal_entity")
            .order_by("pk").iterator(chunk_size=500))


def _managers_with_work_waiting(entity: LegalEntity, week_start: date) -> Iterator[Person]:
    waiting = Project.objects.filter(
        Q(pk__in=TimeEntry.objects.filter(status=TimeEntry.Status.SUBMITTED)
          .values("project_id"))
        | Q(pk__in=Expense.objects.filter(status=Expense.Status.SUBMITTED).values("project_id")))
    already = ReminderLog.objects.filter(kind=Kind.APPROVAL_DIGEST, week_start=week_start)
    return (Person.objects.filter(legal_entity=entity, user__isnull=False,
                                  user__is_active=True,
                                  pk__in=waiting.values("manager_id"))
            .exclude(pk__in=already.values("person_id")).select_related("user")
            .order_by("pk").iterator(chunk_size=500))


def reminders_send(*, now: datetime | None = None) -> ReminderRun:
    """Send the due timesheet reminders and approval digests; idempotent per person and week.

    `now` defaults to the current time (tests pin it with time_machine).
    """
    now = now or timezone.now()
    run = ReminderRun()
    for entity in LegalEntity.objects.filter(is_active=True).order_by("code"):
        week_start = last_due_week(now=now, time_zone=entity.time_zone)
        run.weeks[entity.code] = week_start
        people = _people_to_remind(entity, week_start)
        for week in person_weeks(people=people, start=week_start, end=week_start):
            if week.needs_reminder and _timesheet_reminder(week):
                run.timesheet_reminders += 1
        for manager in _managers_with_work_waiting(entity, week_start):
            if _approval_digest(manager, week_start):
                run.approval_digests += 1
    logger.info("reminders sent", extra={"timesheet": run.timesheet_reminders,
                                         "digests": run.approval_digests})
    return run
