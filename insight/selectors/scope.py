"""What a report looks at: twelve months, a legal entity, a client, a service line, and the
currency amounts are shown in (with the stored rates to get there)."""

from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q

from psa.common.money import ZERO, quantize
from psa.models import Project
from psa.selectors.exchange_rates import RateTable

MONTHS_SHOWN = 12


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return month.replace(day=monthrange(month.year, month.month)[1])


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_ending(last: date, count: int = MONTHS_SHOWN) -> tuple[date, ...]:
    """The first days of the `count` months ending with `last`'s month, oldest first."""
    last = month_start(last)
    return tuple(add_months(last, offset) for offset in range(1 - count, 1))


def months_between(first: date, last: date) -> tuple[date, ...]:
    """The first days of the months from `first`'s through `last`'s, oldest first."""
    first, last = month_start(first), month_start(last)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return tuple(add_months(first, offset) for offset in range(max(count, 0)))


@dataclass(frozen=True)
class Scope:
    """The rows a measure reads and how its amounts are shown.

    `legal_entity_id`, `client_id` and `service_line` narrow the work (contracts, projects and
    what hangs off them; a contract is in a service line when one of its projects is);
    amounts of every currency are converted into `currency` with `rates`, month by month.
    """

    months: tuple[date, ...]
    currency: str
    rates: RateTable
    legal_entity_id: int | None = None
    client_id: int | None = None
    service_line: str = ""

    @property
    def first_day(self) -> date:
        return self.months[0]

    @property
    def last_day(self) -> date:
        return month_end(self.months[-1])

    @property
    def narrows_work(self) -> bool:
        """True when the client or service line filter is set (people measures ignore both)."""
        return bool(self.client_id or self.service_line)

    def _q(self, entity_path: str, client_path: str, line: Q) -> Q:
        """Legal entity and client at their paths, and the service line as `line` says."""
        q = Q()
        if self.legal_entity_id:
            q &= Q(**{f"{entity_path}legal_entity_id": self.legal_entity_id})
        if self.client_id:
            q &= Q(**{f"{client_path}client_id": self.client_id})
        if self.service_line:
            q &= line
        return q

    def contract_q(self, path: str = "") -> Q:
        """The filters as seen from a contract at `path` (e.g. "contract__", "" for Contract);
        a contract is in a service line when one of its projects is."""
        in_line = Project.objects.filter(service_line=self.service_line).values("contract_id")
        return self._q(path, path, Q(**{f"{path}id__in": in_line}))

    def work_q(self, project_path: str = "project__") -> Q:
        """The filters as seen from work on a project at `project_path` (time, expenses,
        milestones): legal entity and client through its contract, the service line of the
        project itself (a contract may span service lines)."""
        contract = f"{project_path}contract__"
        return self._q(contract, contract,
                       Q(**{f"{project_path}service_line": self.service_line}))

    def invoice_q(self, path: str = "") -> Q:
        """The filters as seen from an invoice (or credit note) at `path`: its own legal
        entity and client, and for a service line its contract (a consolidated invoice has
        no contract, so a service line filter leaves it out)."""
        return self._q(path, path, self.contract_q(f"{path}contract__"))

    def project_q(self, path: str = "") -> Q:
        """The filters as seen from a project at `path` (e.g. "project__", "" for Project)."""
        return self._q(path, path, Q(**{f"{path}service_line": self.service_line}))


@dataclass
class MoneyByMonth:
    """Amounts collected per (month, currency), converted to the scope's currency at the end.

    Each currency's sum is converted with that month's rate and the month rounded once, so a
    figure equals the plain SQL sum per currency times its rate.
    """

    scope: Scope
    amounts: dict[tuple[date, str], Decimal] = field(
        default_factory=lambda: defaultdict(lambda: ZERO))

    def add(self, month: date, currency: str, amount: Decimal | None) -> None:
        if amount:
            self.amounts[(month, currency)] += Decimal(amount)

    def month_total(self, month: date) -> Decimal:
        total = ZERO
        for (when, currency), amount in self.amounts.items():
            if when == month:
                converted = self.scope.rates.convert(amount, currency, month)
                if converted is not None:
                    total += converted
        return quantize(total, self.scope.currency)

    def series(self) -> tuple[Decimal, ...]:
        return tuple(self.month_total(month) for month in self.scope.months)
