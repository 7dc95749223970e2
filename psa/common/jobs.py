"""Follow-up work enqueued only once the transaction that asked for it has committed."""

from functools import partial

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args: object, **options: object) -> None:
    """`task.apply_async(args)` after commit; `partial`, never a lambda in a loop (late binding)."""
    transaction.on_commit(partial(task.apply_async, args=args, **options), robust=True)
