"""Who is acting: the request's user, or a named system actor for tasks and commands."""

from collections.abc import Iterator
from contextlib import contextmanager

from auditlog.context import set_actor
from django.contrib.auth.models import User

SYSTEM_USERNAME = "system"


def system_user() -> User:
    """The account background jobs and commands act as in the audit trail."""
    user, _ = User.objects.get_or_create(username=SYSTEM_USERNAME,
                                         defaults={"is_active": False, "first_name": "System"})
    return user


@contextmanager
def acting_as(actor: User | None) -> Iterator[User]:
    """Record audit entries made inside the block as done by `actor` (the system by default)."""
    who = actor or system_user()
    with set_actor(who):
        yield who
