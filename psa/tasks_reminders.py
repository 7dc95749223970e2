"""Celery entry points of the timesheet reminders (imported by psa/tasks.py for discovery).

Beat runs `psa.reminders_send` hourly; the service itself decides which week is due per
legal entity and sends each mail at most once (ReminderLog), so extra runs are harmless.
"""

from celery import shared_task


@shared_task(name="psa.reminders_send", acks_late=True, ignore_result=True)
def reminders_send_task() -> None:
    """Send due timesheet reminders and approval digests (safe to run any number of times)."""
    from psa.common.logging import acting_as
    from psa.services.reminders import reminders_send

    with acting_as(None):
        reminders_send()
