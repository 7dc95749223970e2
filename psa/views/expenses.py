"""Expense pages: the list with totals and export, the create/edit form, receipt download."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from psa.common.errors import DomainError
from psa.common.export import csv_response
from psa.common.permissions import RequiredPermsMixin
from psa.forms_expenses import UNIT_FIELDS, ExpenseFilterForm, ExpenseForm
from psa.models import Expense, Person, Project
from psa.selectors.expenses import (
    EXPENSE_CSV_HEADER,
    expense_csv_rows,
    expense_get,
    expense_page_list,
    expense_policy_hints,
    expense_projects_for,
    expense_totals,
    month_start,
)
from psa.services.expenses import (
    expense_create,
    expense_delete,
    expense_update,
    expenses_submit,
)
from psa.services.receipts import receipts_discarded_on_error
from psa.views.lists import Column, query_without, render_page, sort_headers

RECEIPT_SUFFIX = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def receipt_file_response(expense: Expense) -> FileResponse | None:
    """Stream an expense's receipt with its stored (sniffed) type; None when it has none.

    Images open inline, PDFs download; `nosniff` and a sandboxing CSP keep a browser from
    treating the file as anything else. The caller has checked the user may see the expense.
    """
    content_type = expense.receipt_content_type
    if not expense.receipt or content_type not in RECEIPT_SUFFIX:
        return None
    try:
        handle = expense.receipt.open("rb")
    except FileNotFoundError:
        return None
    response = FileResponse(
        handle, content_type=content_type, as_attachment=content_type == "application/pdf",
        filename=f"receipt-{expense.pk}.{RECEIPT_SUFFIX[content_type]}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


class ExpenseListView(RequiredPermsMixin, View):
    """The expenses the user may see (their own; managers also their projects'), with totals."""

    required_perms = {"get": "psa.view_expense"}
    page_size = 50
    columns = (
        Column("Date", "date"), Column("Person", "person"), Column("Project", "project"),
        Column("Category", "category"), Column("Merchant"), Column("Amount", "amount",
                                                                   numeric=True),
        Column("Status", "status"), Column("Receipt"),
    )

    def get(self, request: HttpRequest, *, export: bool = False) -> HttpResponse:
        form = ExpenseFilterForm(request.GET or None)
        filters = form.filters()
        sort = str(filters.pop("sort", "") or "-date")
        month = month_start(str(filters.get("month", ""))) if filters.get("month") else None
        expenses = expense_page_list(
            actor=request.user, status=str(filters.get("status", "")), month=month,
            category=str(filters.get("category", "")), mine=filters.get("whose") == "mine",
            sort=sort)
        if export or request.GET.get("format") == "csv":
            return csv_response(filename="expenses.csv", header=EXPENSE_CSV_HEADER,
                                rows=expense_csv_rows(expenses))
        page = Paginator(expenses, self.page_size).get_page(request.GET.get("page"))
        context = {
            "title": "Expenses",
            "context_line": "Your expenses (and, for the projects you manage, your team's), "
                            "with their status and totals in each project currency.",
            "form": form,
            "page_obj": page,
            "rows": list(page.object_list),
            "count": page.paginator.count,
            "totals": expense_totals(expenses),
            "is_filtered": bool(filters),
            "headers": sort_headers(request.GET, self.columns, sort),
            "export_url": query_without(request.GET, "page", format="csv"),
            "may_add": request.user.has_perm("psa.add_expense")
            and getattr(request.user, "person", None) is not None,
        }
        return render_page(request, "psa/expense_list.html",
                           "psa/partials/_expense_results.html", context)


def _person_of(request: HttpRequest) -> Person | None:
    return getattr(request.user, "person", None)


def _form_context(request: HttpRequest, form: ExpenseForm, person: Person | None,
                  projects: list[Project], **extra: Any) -> dict[str, Any]:
    hints = expense_policy_hints(legal_entity_ids=[p.legal_entity_id for p in projects])
    policy = {
        "projects": {str(p.pk): {"currency": p.currency, "entity": p.legal_entity_id}
                     for p in projects},
        "policies": [{"entity": h.legal_entity_id, "category": h.category,
                      "receipt_above": str(h.receipt_required_above),
                      "limit": None if h.limit_amount is None else str(h.limit_amount),
                      "unit_rate": None if h.unit_rate is None else str(h.unit_rate)}
                     for h in hints],
        "unit_fields": {str(k): v for k, v in UNIT_FIELDS.items()},
    }
    return {"form": form, "person": person, "policy_data": policy,
            "breadcrumbs": [("Expenses", reverse("expense-list")), (extra.get("title"), None)],
            **extra}


def _show_error(form: ExpenseForm, error: Exception) -> None:
    """Put a domain or model validation error beside its field (or at the top)."""
    if isinstance(error, ValidationError):
        for field, errors in error.message_dict.items() if hasattr(error, "error_dict") \
                else [(None, error.messages)]:
            name = field if field in form.fields else None
            for message in errors:
                form.add_error(name, message)
        return
    attr = getattr(error, "attr", None)
    if attr == "quantity":
        attr = UNIT_FIELDS.get(form.cleaned_data.get("category", ""), None)
    form.add_error(attr if attr in form.fields else None, str(getattr(error, "detail", error)))


def _projects_choices(projects: list[Project]) -> list[tuple[str, str]]:
    return [(str(p.pk), f"{p.code} · {p.name}") for p in projects]


class ExpenseCreateView(RequiredPermsMixin, View):
    """A new expense for the signed-in person: save as draft, or save and submit."""

    required_perms = {"get": "psa.add_expense", "post": "psa.add_expense"}

    def _render(self, request: HttpRequest, form: ExpenseForm, person: Person | None,
                projects: list[Project], status: int = 200) -> HttpResponse:
        context = _form_context(request, form, person, projects, title="New expense",
                                expense=None)
        return render(request, "psa/expense_form.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        person = _person_of(request)
        projects = list(expense_projects_for(person=person))
        initial = {"currency": projects[0].currency if projects else "", "is_billable": True}
        form = ExpenseForm(initial=initial, projects=_projects_choices(projects))
        return self._render(request, form, person, projects)

    def post(self, request: HttpRequest) -> HttpResponse:
        person = _person_of(request)
        projects = list(expense_projects_for(person=person))
        form = ExpenseForm(request.POST, request.FILES, projects=_projects_choices(projects))
        if person is None:
            form.add_error(None, "Your login is not linked to a person, so it has no expenses.")
        if form.is_valid():
            project = next(p for p in projects if p.pk == form.cleaned_data["project"])
            submit = request.POST.get("action") == "submit"
            try:
                with receipts_discarded_on_error(), transaction.atomic():
                    expense = expense_create(actor=request.user, person=person, project=project,
                                             data=form.service_data(),
                                             receipt=form.cleaned_data.get("receipt"))
                    if submit:
                        expenses_submit(actor=request.user, expenses=[expense])
            except (DomainError, ValidationError) as error:
                _show_error(form, error)
            else:
                messages.success(request, "Expense submitted for approval." if submit
                                 else "Expense saved as a draft.")
                return redirect("expense-edit", pk=expense.pk)
        return self._render(request, form, person, projects, status=400)


class ExpenseEditView(RequiredPermsMixin, View):
    """One expense: its form while draft or rejected, read-only after; save, submit, delete."""

    required_perms = {"get": "psa.view_expense", "post": "psa.view_expense"}

    def _expense(self, request: HttpRequest, pk: int) -> Expense:
        try:
            return expense_get(actor=request.user, pk=pk)
        except Expense.DoesNotExist as exc:
            raise Http404("No such expense.") from exc

    def _render(self, request: HttpRequest, expense: Expense, form: ExpenseForm,
                projects: list[Project], status: int = 200) -> HttpResponse:
        user = request.user
        may_change = expense.is_editable and user.has_perm("psa.change_expense", expense)
        context = _form_context(
            request, form, expense.person, projects,
            title=f"Expense #{expense.pk}", expense=expense, may_change=may_change,
            may_submit=expense.is_editable and user.has_perm("psa.submit_expense", expense),
            may_delete=expense.is_editable and user.has_perm("psa.delete_expense", expense))
        return render(request, "psa/expense_form.html", context, status=status)

    def _projects(self, expense: Expense) -> list[Project]:
        projects = list(expense_projects_for(person=expense.person))
        if expense.project_id not in {p.pk for p in projects}:
            projects.insert(0, expense.project)
        return projects

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        expense = self._expense(request, pk)
        projects = self._projects(expense)
        form = ExpenseForm(initial=ExpenseForm.initial_from(expense),
                           projects=_projects_choices(projects))
        return self._render(request, expense, form, projects)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        expense = self._expense(request, pk)
        action = request.POST.get("action", "save")
        perm = {"delete": "psa.delete_expense", "submit": "psa.submit_expense"}.get(
            action, "psa.change_expense")
        if not request.user.has_perm(perm, expense):
            return HttpResponseForbidden("You may not change this expense.")
        projects = self._projects(expense)
        if action == "delete":
            try:
                expense_delete(actor=request.user, expense=expense)
            except DomainError as error:
                messages.error(request, error.detail)
                return redirect("expense-edit", pk=expense.pk)
            messages.success(request, "Expense deleted.")
            return redirect("expense-list")
        form = ExpenseForm(request.POST, request.FILES, projects=_projects_choices(projects))
        if form.is_valid():
            project = next(p for p in projects if p.pk == form.cleaned_data["project"])
            data = {**form.service_data(), "project": project,
                    "receipt_remove": form.cleaned_data.get("receipt_remove", False)}
            try:
                with receipts_discarded_on_error(), transaction.atomic():
                    expense = expense_update(actor=request.user, expense=expense, data=data,
                                             receipt=form.cleaned_data.get("receipt"))
                    if action == "submit":
                        expenses_submit(actor=request.user, expenses=[expense])
            except (DomainError, ValidationError) as error:
                _show_error(form, error)
                expense.refresh_from_db()
            else:
                messages.success(request, "Expense submitted for approval."
                                 if action == "submit" else "Expense saved.")
                return redirect("expense-edit", pk=expense.pk)
        return self._render(request, expense, form, projects, status=400)


class ExpenseReceiptView(RequiredPermsMixin, View):
    """The receipt file, only for those who may see the expense (404 for anyone else)."""

    required_perms = {"get": "psa.view_expense"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            expense = expense_get(actor=request.user, pk=pk)
        except Expense.DoesNotExist as exc:
            raise Http404("No such expense.") from exc
        if not request.user.has_perm("psa.view_expense", expense):
            raise Http404("No such expense.")
        response = receipt_file_response(expense)
        if response is None:
            raise Http404("This expense has no receipt.")
        return response
