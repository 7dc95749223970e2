"""Follow-up work enqueued only once the transaction that asked for it has committed."""

from celery import Task
from django.db import transaction


class AfterCommitSend:
    """`task.apply_async(args, **options)`, run by Django once the transaction has committed.

    A small object rather than `functools.partial`: Django's robust on-commit handler logs the
    callback's `__qualname__`, which a partial lacks, and that AttributeError used to escape
    after the commit as a 500 and skip the transaction's other hooks. It keeps the task and its
    arguments readable, never a closure bound late in a loop.
    """

    def __init__(self, task: Task, args: tuple, options: dict) -> None:
        self.task, self.args, self.options = task, args, options
        self.__qualname__ = f"{task.name}.apply_async"

    def __call__(self) -> None:
        self.task.apply_async(args=self.args, **self.options)


def enqueue_on_commit(task: Task, *args: object, **options: object) -> None:
    """Send `task` after commit, robustly: a broker that is down is logged and the committed
    request still answers (the outbox sweeper re-sends what matters)."""
    transaction.on_commit(AfterCommitSend(task, args, options), robust=True)
