"""The executive dashboard: every measure of DOMAIN.md's table for twelve months, and the rows
behind each figure.

Each measure group runs a fixed number of grouped SQL aggregates whatever the firm's size
(tests/insight/test_dashboard_queries.py counts them); the figures are reproduced by plain SQL
in tests/insight/test_measures_sql.py.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings

from insight.selectors import measures_money, measures_people
from insight.selectors.scope import Scope, months_between, months_ending
from insight.selectors.types import Measure, RowTable
from psa.models import Client, LegalEntity
from psa.selectors.exchange_rates import rate_table

# Groups in the order their tiles are shown; a group returns its measures in that order.
MEASURE_GROUPS: tuple[Callable[[Scope], list[Measure]], ...] = (
    measures_money.bookings_and_backlog,
    measures_people.utilization,
    measures_people.realization_and_bill_rate,
    measures_money.revenue_against_forecast,
    measures_money.work_in_progress,
    measures_money.receivables_and_dso,
    measures_money.gross_margin,
)

# The rows behind each figure: (scope, month) -> the table whose total is the figure.
ROWS: dict[str, Callable[[Scope, date], RowTable]] = {
    **measures_money.ROWS,
    **measures_people.ROWS,
}


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    measures: tuple[Measure, ...]
    legal_entity: LegalEntity | None
    client: Client | None

    @property
    def by_key(self) -> dict[str, Measure]:
        return {measure.key: measure for measure in self.measures}

    @property
    def missing_rates(self) -> list[str]:
        return self.scope.rates.missing_pairs


def display_currency(*, legal_entity: LegalEntity | None, currency: str | None) -> str:
    """The chosen currency, else the legal entity's, else the firm's reporting currency."""
    if currency:
        return currency
    if legal_entity is not None:
        return legal_entity.base_currency
    return settings.REPORTING_CURRENCY


def build_scope(*, end_month: date, legal_entity: LegalEntity | None = None,
                client: Client | None = None, service_line: str = "",
                currency: str | None = None, start_month: date | None = None) -> Scope:
    """The months from `start_month` (default: eleven months before) through `end_month`
    under the filters (one query: the rates)."""
    months = (months_between(start_month, end_month) if start_month
              else months_ending(end_month))
    target = display_currency(legal_entity=legal_entity, currency=currency)
    return Scope(months=months, currency=target,
                 rates=rate_table(target=target, through=months[-1]),
                 legal_entity_id=legal_entity.pk if legal_entity else None,
                 client_id=client.pk if client else None, service_line=service_line)


def dashboard(*, scope: Scope, legal_entity: LegalEntity | None = None,
              client: Client | None = None) -> Dashboard:
    """Every measure of the dashboard for the scope's twelve months."""
    measures: list[Measure] = []
    for group in MEASURE_GROUPS:
        measures.extend(group(scope))
    return Dashboard(scope=scope, measures=tuple(measures), legal_entity=legal_entity,
                     client=client)


def measure_rows(*, key: str, scope: Scope, month: date) -> RowTable:
    """The rows behind measure `key` in `month` (KeyError for an unknown measure)."""
    return ROWS[key](scope, month)
