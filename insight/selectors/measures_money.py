"""The money measures of the executive dashboard (issue #8), and the rows behind each figure.

Every measure has one value per month of the scope, oldest first. Money is summed in SQL per
(month, currency), each currency's sum converted into the scope's currency with the month's
stored rate, and the month rounded once (`MoneyByMonth`); a missing rate leaves that
currency out and is listed in `scope.rates.missing_pairs`. The scope's legal entity, client
and service line narrow the contracts (and what hangs off them; work in progress, which
belongs to projects, by its own project's service line). Definitions (DOMAIN.md,
Measures), with m a month and "m's end" its last day:

- backlog counts active contracts only (DOMAIN.md: "for active contracts");
- bookings (m): Σ over contracts signed in m whose status is not draft or cancelled of their
  original value (value_amount - Σ their approved change orders' value_change_amount, since
  approving a change order adds it to value_amount) + Σ approved change orders of such
  contracts effective in m. Contract currency.
- backlog (at m's end): Σ over those contracts signed on or before m's end of their value at
  m (value_amount - approved change orders effective after m's end) - Σ their recognition
  entries of the months up to m.
- revenue (m): Σ recognition entries of m; compared with Σ planned amounts of the revenue
  schedules' lines for m ("Plan").
- wip (at m's end): approved, unbilled billable value: billable time on T&M contracts
  approved by m's end, approved or invoiced now (never written off), not linked by a live
  billed item to an invoice issued on or before m's end, at hours x bill rate (bill
  currency), rounded per contract; billable expenses by the same rule at project amount x
  (1 + the contract's markup), rounded per contract and category; milestones of milestone
  contracts accepted by m's end (or completed, where no acceptance is needed) not on such an
  invoice (milestone currency). See money_wip.py for how this reconciles with billing.
- ar (at m's end): Σ over invoices issued on or before m's end of total - payments received
  by m's end - credit notes issued against them by m's end (billing's receivables).
- dso (at m's end): ar ÷ (subtotal of invoices - subtotal of credit notes issued in the 90
  days ending on m's end) x 90, one decimal; none without such revenue (billing's `dso()`).
- gross_margin (m): (revenue of m - cost of m) ÷ revenue of m, a percent; cost = Σ hours x
  cost rate of time worked in m (approved, invoiced or written off; cost currency) + Σ
  project amount of expenses dated in m in the same states (project currency), on client
  projects. Revenue and cost are converted and rounded separately, then divided.

Each group function runs a fixed number of grouped queries whatever the data size, and so
does each rows function (`ROWS[key](scope, month)`): rows are aggregated per contract or
invoice in SQL, and their total is formed as the figure is, so it equals it.
"""

from collections.abc import Callable
from datetime import date

from insight.selectors.money_bookings import backlog_rows, bookings_and_backlog, bookings_rows
from insight.selectors.money_margin import gross_margin, gross_margin_rows
from insight.selectors.money_receivables import ar_rows, dso_rows, receivables_and_dso
from insight.selectors.money_revenue import revenue_against_forecast, revenue_rows
from insight.selectors.money_wip import wip_rows, work_in_progress
from insight.selectors.scope import Scope
from insight.selectors.types import RowTable

ROWS: dict[str, Callable[[Scope, date], RowTable]] = {
    "bookings": bookings_rows,
    "backlog": backlog_rows,
    "revenue": revenue_rows,
    "wip": wip_rows,
    "ar": ar_rows,
    "dso": dso_rows,
    "gross_margin": gross_margin_rows,
}

__all__ = [
    "ROWS",
    "bookings_and_backlog",
    "gross_margin",
    "receivables_and_dso",
    "revenue_against_forecast",
    "work_in_progress",
]
