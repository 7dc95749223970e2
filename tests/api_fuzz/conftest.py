"""The fuzzing's world: the security walk's firm (own and foreign engagements, every kind of
row), built once per module inside a transaction rolled back at its end."""

from tests.security.conftest import firm  # noqa: F401  (the module-scoped world fixture)
