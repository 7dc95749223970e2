"""The approvals page: what waits for the signed-in approver, and bulk approve/reject."""

import re
from datetime import date

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from psa.errors import DomainError
from psa.selectors.approvals import ApprovalGroup, approval_groups
from psa.services.approvals import ApprovalOutcome, approvals_approve, approvals_reject

APPROVE_PERMS = ("psa.approve_timeentry", "psa.approve_expense")
TOKEN = re.compile(r"^([te]):([0-9]{1,12})$")


class ApproverRequiredMixin(AccessMixin):
    """Signed in, and allowed to approve time or expenses (the role matrix decides)."""

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not any(request.user.has_perm(perm) for perm in APPROVE_PERMS):
            self.raise_exception = True
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)


def parse_selection(values: list[str]) -> tuple[list[int], list[int], set[str]]:
    """Time entry ids, expense ids and the raw tokens from `t:12 e:7`-style form values."""
    entries: list[int] = []
    expenses: list[int] = []
    tokens: set[str] = set()
    for value in values:
        for token in value.split():
            match = TOKEN.match(token)
            if not match:
                continue
            tokens.add(token)
            (entries if match.group(1) == "t" else expenses).append(int(match.group(2)))
    return list(dict.fromkeys(entries)), list(dict.fromkeys(expenses)), tokens


def group_tokens(group: ApprovalGroup) -> str:
    return " ".join([*(f"t:{pk}" for pk in group.time_entry_ids),
                     *(f"e:{pk}" for pk in group.expense_ids)])


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _waiting_line(groups: list) -> str:
    """"3 weeks waiting · 96.50 h · 2 expenses", leaving out what is not there."""
    if not groups:
        return "Nothing waits for your approval."
    hours = sum((g.hours for g in groups), start=0)
    expenses = sum(len(g.expense_ids) for g in groups)
    parts = [f"{_plural(len(groups), 'week')} waiting"]
    if hours:
        parts.append(f"{hours:.2f} h")
    if expenses:
        parts.append(_plural(expenses, "expense"))
    return " · ".join(parts)


def outcome_sentence(outcome: ApprovalOutcome, verb: str) -> str:
    parts = []
    if outcome.time_entries:
        count = len(outcome.time_entries)
        parts.append(f"{count} time {'entry' if count == 1 else 'entries'}")
    if outcome.expenses:
        parts.append(_plural(len(outcome.expenses), "expense"))
    return f"{verb} {' and '.join(parts)}."


class ApprovalListView(ApproverRequiredMixin, View):
    """Groups by person and week with totals and flags; POST approves or rejects in bulk."""

    template_name = "psa/approvals.html"

    def render_page(self, request: HttpRequest, *, error: DomainError | None = None,
                    selected: set[str] | None = None, reason: str = "",
                    status: int = 200) -> HttpResponse:
        groups = approval_groups(actor=request.user)
        selected = selected or set()
        rows = []
        for group in groups:
            tokens = group_tokens(group)
            rows.append({"group": group, "tokens": tokens,
                         "checked": bool(tokens) and set(tokens.split()) <= selected})
        context = {
            "title": "Approvals",
            "context_line": _waiting_line(groups),
            "rows": rows,
            "error": error,
            "reason_error": error if error is not None and error.attr == "reason" else None,
            "reason": reason,
            "selected_count": len(selected),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        decision = request.POST.get("action")
        entries, expenses, tokens = parse_selection(
            request.POST.getlist("groups") + request.POST.getlist("items"))
        reason = request.POST.get("reason", "")
        try:
            if decision == "approve":
                outcome = approvals_approve(actor=request.user, time_entry_ids=entries,
                                            expense_ids=expenses)
                messages.success(request, outcome_sentence(outcome, "Approved"))
            elif decision == "reject":
                outcome = approvals_reject(actor=request.user, time_entry_ids=entries,
                                           expense_ids=expenses, reason=reason)
                messages.success(request, outcome_sentence(outcome, "Rejected") +
                                 " The people were told why.")
            else:
                return self.render_page(request, error=DomainError(
                    "Choose Approve or Reject.", attr="action"), selected=tokens,
                    reason=reason, status=400)
        except DomainError as exc:
            return self.render_page(request, error=exc, selected=tokens, reason=reason,
                                    status=exc.http_status)
        return redirect("approval-list")


class ApprovalGroupView(ApproverRequiredMixin, View):
    """HTMX partial: the items of one person's week, each with its own checkbox and flags."""

    def get(self, request: HttpRequest, person_id: int, week_start: str) -> HttpResponse:
        try:
            week = date.fromisoformat(week_start)
        except ValueError as exc:
            raise Http404("No such week.") from exc
        groups = approval_groups(actor=request.user, person_id=person_id, week_start=week)
        if not groups:
            return render(request, "psa/partials/_approval_items.html", {"group": None})
        return render(request, "psa/partials/_approval_items.html",
                      {"group": groups[0], "checked": request.GET.get("checked") == "1"})
