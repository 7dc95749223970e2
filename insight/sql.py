"""Database functions the insight measures need and Django does not ship, portable between
SQLite (the embedded run and the default tests) and PostgreSQL (CI and production)."""

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, FloatField, Func
from django.db.models.sql.compiler import SQLCompiler

SECONDS_PER_DAY = 86400.0


class DaysBetween(Func):
    """Fractional days from `earlier` to `later` (datetimes or dates), computed in SQL.

    So `Avg(DaysBetween("issued_at", "approved_at"))` averages a duration in the database
    instead of reading every row. Negative when `later` is before `earlier`; NULL when either
    is NULL. SQLite: the difference of `julianday()`s; PostgreSQL: the interval's epoch seconds
    ÷ 86400 (dates are cast to timestamps first, since date - date is an integer there).
    The result is a float: round it where it is shown.
    """

    arity = 2
    output_field = FloatField()

    def __init__(self, later: Expression | str, earlier: Expression | str,
                 **extra: Any) -> None:
        super().__init__(later, earlier, **extra)

    def _operands(self, compiler: SQLCompiler,
                  connection: BaseDatabaseWrapper) -> tuple[str, str, list[Any]]:
        later_sql, later_params = compiler.compile(self.source_expressions[0])
        earlier_sql, earlier_params = compiler.compile(self.source_expressions[1])
        return later_sql, earlier_sql, [*later_params, *earlier_params]

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
               **extra_context: Any) -> tuple[str, list[Any]]:
        later, earlier, params = self._operands(compiler, connection)
        sql = (f"(CAST(EXTRACT(EPOCH FROM (CAST({later} AS TIMESTAMP WITH TIME ZONE) - "
               f"CAST({earlier} AS TIMESTAMP WITH TIME ZONE))) AS DOUBLE PRECISION) "
               f"/ {SECONDS_PER_DAY})")
        return sql, params

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                  **extra_context: Any) -> tuple[str, list[Any]]:
        later, earlier, params = self._operands(compiler, connection)
        return f"(julianday({later}) - julianday({earlier}))", params
