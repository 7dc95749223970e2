"""Reads of expenses: the API list, the expenses page with its totals, the form's choices."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from psa.models import Expense, ExpensePolicy, Person, Project
from psa.rules import UserLike, visible
from psa.selectors.pages.common import order_for

VIEW_PERM = "psa.view_expense"
EXPENSE_CSV_HEADER = ("id", "date", "person", "project", "category", "merchant", "amount",
                      "currency", "exchange_rate", "project_amount", "project_currency",
                      "quantity", "unit_rate", "billable", "over_policy", "status",
                      "has_receipt", "rejection_reason")


def expense_list(*, actor: UserLike) -> QuerySet[Expense]:
    """Expenses the actor may see: their own, their projects' (managers), or all."""
    return (visible(Expense.objects.all(), actor, VIEW_PERM)
            .select_related("person", "project").order_by("-expense_date", "-id"))


def expense_get(*, actor: UserLike, pk: int) -> Expense:
    """One expense within the actor's scope; Expense.DoesNotExist (404) outside it."""
    return expense_list(actor=actor).get(pk=pk)


def month_start(value: str) -> date | None:
    """`YYYY-MM` → the month's first day (None when malformed)."""
    try:
        year, month = (int(part) for part in value.split("-", 1))
        return date(year, month, 1)
    except (TypeError, ValueError):
        return None


EXPENSE_SORTS = {"date": "expense_date", "amount": "project_amount", "status": "status",
                 "category": "category", "person": "person__last_name",
                 "project": "project__code"}


def expense_page_list(*, actor: UserLike, status: str = "", month: date | None = None,
                      mine: bool = False, category: str = "",
                      sort: str = "-date") -> QuerySet[Expense]:
    """The expenses page: the actor's scope, narrowed by status, month, category or "mine"."""
    ordering, _ = order_for(sort, EXPENSE_SORTS, "-date")
    expenses = expense_list(actor=actor).order_by(*ordering)
    if mine:
        expenses = expenses.filter(person__user=actor)
    if status:
        expenses = expenses.filter(status=status)
    if category:
        expenses = expenses.filter(category=category)
    if month is not None:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        expenses = expenses.filter(expense_date__gte=month, expense_date__lt=following)
    return expenses


@dataclass(frozen=True)
class ExpenseTotal:
    """The sum of project-currency amounts in one currency, with the count and billable part."""

    currency: str
    count: int
    amount: Decimal
    billable_amount: Decimal


def expense_totals(expenses: QuerySet[Expense]) -> list[ExpenseTotal]:
    """Totals of a (filtered) list by project currency, summed in SQL."""
    rows = (expenses.order_by().values("project_currency")
            .annotate(count=Count("id"), amount=Sum("project_amount"),
                      billable_amount=Sum("project_amount", filter=Q(is_billable=True)))
            .order_by("project_currency"))
    return [ExpenseTotal(currency=row["project_currency"], count=row["count"],
                         amount=row["amount"] or Decimal("0.00"),
                         billable_amount=row["billable_amount"] or Decimal("0.00"))
            for row in rows]


def expense_csv_rows(expenses: QuerySet[Expense]) -> Iterable[Sequence[object]]:
    """The CSV export's rows, streamed from the database."""
    rows = expenses.values_list(
        "id", "expense_date", "person__first_name", "person__last_name", "project__code",
        "category", "merchant", "amount", "currency", "exchange_rate", "project_amount",
        "project_currency", "quantity", "unit_rate", "is_billable", "is_over_policy", "status",
        "receipt", "rejection_reason")
    for (pk, day, first, last, code, category, merchant, amount, currency, rate, project_amount,
         project_currency, quantity, unit_rate, billable, over, status, receipt,
         reason) in rows.iterator(chunk_size=2000):
        yield (pk, day, f"{first} {last}", code, category, merchant, amount, currency, rate,
               project_amount, project_currency, quantity, unit_rate, billable, over, status,
               bool(receipt), reason)


def expense_projects_for(*, person: Person | None) -> QuerySet[Project]:
    """Projects the person may book expenses on: on the team or managing it, not closed."""
    if person is None:
        return Project.objects.none()
    return (Project.objects.exclude(status=Project.Status.CLOSED)
            .filter(Q(manager=person) | Q(memberships__person=person))
            .select_related("legal_entity").distinct().order_by("code"))


@dataclass(frozen=True)
class PolicyHint:
    """What the form shows about one category on one legal entity (all in project currency)."""

    legal_entity_id: int
    category: str
    receipt_required_above: Decimal
    limit_amount: Decimal | None
    unit_rate: Decimal | None


def expense_policy_hints(*, legal_entity_ids: Iterable[int]) -> list[PolicyHint]:
    """The policies of the given legal entities (for the form's warnings; one query)."""
    return [PolicyHint(legal_entity_id=p.legal_entity_id, category=p.category,
                       receipt_required_above=p.receipt_required_above,
                       limit_amount=p.limit_amount, unit_rate=p.unit_rate)
            for p in ExpensePolicy.objects.filter(legal_entity_id__in=set(legal_entity_ids))]
