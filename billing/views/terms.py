"""`/billing/contracts/<id>/terms/`: a contract's billing terms for finance.

One page, read-only terms first, then the term writes finance makes on a contract: the
installment schedule, the hours rounding policy, re-rating unbilled time after a rate card
correction, and deciding its change orders. Each write is a POST to the same URL naming its
`action`; it checks its own permission, calls one service and redirects back. A domain error
re-renders the page with the sentence beside the field it names (or at the top of the page
when it names none) and the typed values kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billing.documents import format_percent
from billing.forms import show_error
from billing.models import BilledItem, Installment, RoundingPolicy
from billing.selectors.unbilled import rounding_policy_for
from billing.services.rerate import ReratePreview, rerate_apply, rerate_preview
from billing.services.terms import MAX_INSTALLMENTS, installments_generate, rounding_policy_set
from billing.views.common import UserLike, billing_tabs, require
from psa.common.errors import DomainError
from psa.common.permissions import RequiredPermsMixin
from psa.models import ChangeOrder, Contract
from psa.rules import visible
from psa.services.change_orders import change_order_approve, change_order_reject

RERATE_ROWS_SHOWN = 200


class InstallmentsForm(forms.Form):
    count = forms.IntegerField(label="Number of monthly installments", min_value=1,
                               max_value=MAX_INSTALLMENTS,
                               help_text="From the contract's start date; replaces the "
                                         "current schedule.")


class RoundingPolicyForm(forms.Form):
    increment_minutes = forms.TypedChoiceField(
        label="Round to", coerce=int,
        choices=RoundingPolicy._meta.get_field("increment_minutes").choices)
    method = forms.ChoiceField(label="Method", choices=RoundingPolicy.Method.choices)
    scope = forms.ChoiceField(label="Applied to", choices=RoundingPolicy.Scope.choices)


class RerateApplyForm(forms.Form):
    confirm = forms.BooleanField(
        label="I have checked the preview: re-rate the contract's unbilled entries")


class ApproveForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000, label="Note (optional)",
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))


class RejectForm(forms.Form):
    """The reason is required by the service, which says so beside the field."""

    reason = forms.CharField(required=False, max_length=2000, label="Why is it rejected?",
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))


def _decision_prefix(action: str, change_order_id: int) -> str:
    return f"co{change_order_id}-{action}"


def contract_for(user: UserLike, pk: int) -> Contract:
    """The contract `pk` if the user may see it, else 404 (outside the scope)."""
    contracts = visible(Contract.objects.select_related("client", "legal_entity", "rate_card",
                                                        "client__rate_card"),
                        user, "psa.view_contract")
    try:
        return contracts.get(pk=pk)
    except Contract.DoesNotExist as exc:
        raise Http404("No such contract.") from exc


def contract_installments(contract: Contract) -> QuerySet[Installment]:
    """The schedule in order, each row marked when a live invoice bills it."""
    return (Installment.objects.filter(contract=contract)
            .annotate(is_billed=Exists(BilledItem.objects.filter(
                installment=OuterRef("pk"), is_live=True)))
            .order_by("sequence"))


def contract_change_orders(contract: Contract, user: UserLike) -> QuerySet[ChangeOrder]:
    return visible(ChangeOrder.objects.filter(contract=contract)
                   .select_related("decided_by", "created_by")
                   .order_by("-effective_date", "-pk"), user, "psa.view_changeorder")


# --- The writes: each takes the contract, the actor and the form's data ----------------------

Outcome = str  # the success message


def _installments(contract: Contract, actor: Any, data: dict[str, Any],
                  change_order: ChangeOrder | None) -> Outcome:
    rows = installments_generate(contract=contract, actor=actor, count=data["count"])
    total = sum((row.amount for row in rows), contract.value_amount * 0)
    return (f"Generated {len(rows)} monthly installment{'s' if len(rows) != 1 else ''} "
            f"adding up to {total:,.2f} {contract.currency}.")


def _rounding(contract: Contract, actor: Any, data: dict[str, Any],
              change_order: ChangeOrder | None) -> Outcome:
    policy = rounding_policy_set(actor=actor, contract=contract,
                                 increment_minutes=data["increment_minutes"],
                                 method=data["method"], scope=data["scope"])
    return (f"Hours on {contract.code} now round {policy.get_method_display().lower()} "
            f"{policy.increment_minutes} minutes, {policy.get_scope_display().lower()}.")


def _rerate(contract: Contract, actor: Any, data: dict[str, Any],
            change_order: ChangeOrder | None) -> Outcome:
    changed = rerate_apply(contract=contract, actor=actor)
    if not changed:
        return "No entry needed re-rating; nothing changed."
    return f"Re-rated {changed} time entr{'ies' if changed != 1 else 'y'} on {contract.code}."


def _approve(contract: Contract, actor: Any, data: dict[str, Any],
             change_order: ChangeOrder | None) -> Outcome:
    change_order = change_order_approve(change_order=change_order, actor=actor,
                                        reason=data["reason"])
    return f"Approved change order {change_order.reference}; the contract is updated."


def _reject(contract: Contract, actor: Any, data: dict[str, Any],
            change_order: ChangeOrder | None) -> Outcome:
    change_order = change_order_reject(change_order=change_order, actor=actor,
                                       reason=data["reason"])
    return f"Rejected change order {change_order.reference}."


@dataclass(frozen=True)
class Action:
    """One form of the page: the permission it needs, its form, prefix and what it does."""

    perm: str
    form: type[forms.Form]
    prefix: str
    run: Callable[[Contract, Any, dict[str, Any], ChangeOrder | None], Outcome]
    on_change_order: bool = False


ACTIONS: dict[str, Action] = {
    "installments": Action("billing.change_billingterms", InstallmentsForm, "installments",
                           _installments),
    "rounding": Action("billing.change_billingterms", RoundingPolicyForm, "rounding",
                       _rounding),
    "rerate": Action("billing.rerate_timeentry", RerateApplyForm, "rerate", _rerate),
    "approve": Action("psa.approve_changeorder", ApproveForm, "approve", _approve,
                      on_change_order=True),
    "reject": Action("psa.approve_changeorder", RejectForm, "reject", _reject,
                     on_change_order=True),
}


# --- The page -------------------------------------------------------------------------------

def _rounding_initial(policy: RoundingPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {"increment_minutes": 6, "method": RoundingPolicy.Method.UP,
                "scope": RoundingPolicy.Scope.ENTRY}
    return {"increment_minutes": policy.increment_minutes, "method": policy.method,
            "scope": policy.scope}


def _preview(contract: Contract) -> tuple[ReratePreview | None, str]:
    """The re-rate preview, or the sentence saying why none can be made."""
    try:
        return rerate_preview(contract=contract), ""
    except DomainError as exc:
        return None, str(exc.detail)


def terms_page(request: HttpRequest, contract: Contract, *,
               bound: tuple[str, forms.Form] | None = None, top_errors: list[str] | None = None,
               show_preview: bool = False, status: int = 200) -> HttpResponse:
    """The page; a failed form comes back bound (`bound`: its form key and the form)."""
    user = request.user
    is_installments = contract.billing_model == Contract.BillingModel.FIXED_INSTALLMENTS
    may_change_terms = user.has_perm("billing.change_billingterms", contract)
    may_rerate = user.has_perm("billing.rerate_timeentry")
    policy = rounding_policy_for(contract)
    installments = list(contract_installments(contract)) if is_installments else []
    change_orders = list(contract_change_orders(contract, user))
    may_decide = user.has_perm("psa.approve_changeorder")

    page_forms: dict[str, forms.Form] = {
        "installments": InstallmentsForm(prefix="installments",
                                         initial={"count": len(installments) or None}),
        "rounding": RoundingPolicyForm(prefix="rounding", initial=_rounding_initial(policy)),
        "rerate": RerateApplyForm(prefix="rerate"),
    }
    for change_order in change_orders:
        for action in ("approve", "reject"):
            key = _decision_prefix(action, change_order.pk)
            page_forms[key] = ACTIONS[action].form(prefix=key)
    if bound is not None:
        page_forms[bound[0]] = bound[1]

    preview, preview_error = (None, "")
    if may_rerate and (show_preview or (bound is not None and bound[0] == "rerate")):
        preview, preview_error = _preview(contract)
    co_rows = [{"change_order": co,
                "may_decide": (may_decide and co.status == ChangeOrder.Status.PENDING),
                "approve_form": page_forms[_decision_prefix("approve", co.pk)],
                "reject_form": page_forms[_decision_prefix("reject", co.pk)]}
               for co in change_orders]
    title = f"Billing terms · {contract.code}"
    context = {
        "title": title,
        "context_line": f"{contract.client.name} · {contract.name} · {contract.currency}",
        "breadcrumbs": [("Billing", reverse("billing:workbench")),
                        (contract.code, reverse("contract-detail", args=[contract.pk])),
                        ("Billing terms", None)],
        "tabs": billing_tabs(request, ""),
        "contract": contract,
        "client": contract.client,
        "tax_percent": format_percent(contract.client.tax_rate),
        "markup_percent": format_percent(contract.expense_markup_percent),
        "is_installments": is_installments,
        "installments": installments,
        "installments_total": sum((row.amount for row in installments),
                                  contract.value_amount * 0),
        "policy": policy,
        "policy_is_own": policy is not None and policy.contract_id == contract.pk,
        "may_change_terms": may_change_terms,
        "may_rerate": may_rerate,
        "preview": preview,
        "preview_error": preview_error,
        "preview_rows": preview.lines[:RERATE_ROWS_SHOWN] if preview else (),
        "preview_more": max(0, len(preview.lines) - RERATE_ROWS_SHOWN) if preview else 0,
        "rows_shown": RERATE_ROWS_SHOWN,
        "change_order_rows": co_rows,
        "may_view_change_orders": user.has_perm("psa.view_changeorder"),
        "forms": page_forms,
        "top_errors": top_errors or [],
    }
    return render(request, "billing/contract_terms.html", context, status=status)


class ContractTermsView(RequiredPermsMixin, View):
    """GET the page (`?preview=1` adds the re-rate preview); POST one of ACTIONS, named by
    the `action` field (change order decisions also name the `change_order`)."""

    required_perms = {"get": "billing.view_invoice", "post": "billing.view_invoice"}

    def get(self, request: HttpRequest, contract_id: int) -> HttpResponse:
        contract = contract_for(request.user, contract_id)
        return terms_page(request, contract, show_preview=bool(request.GET.get("preview")))

    def post(self, request: HttpRequest, contract_id: int) -> HttpResponse:
        contract = contract_for(request.user, contract_id)
        action = request.POST.get("action", "")
        spec = ACTIONS.get(action)
        if spec is None:
            raise Http404("No such action.")
        change_order, key = None, spec.prefix
        if spec.on_change_order:
            change_order = get_object_or_404(
                contract_change_orders(contract, request.user),
                pk=_int_or_404(request.POST.get("change_order")))
            key = _decision_prefix(action, change_order.pk)
        require(request.user, spec.perm, change_order or contract)
        form = spec.form(request.POST, prefix=key)
        status = 400
        top_errors: list[str] = []
        if form.is_valid():
            try:
                message = spec.run(contract, request.user, form.cleaned_data, change_order)
            except DomainError as exc:
                show_error(form, exc)
                status = exc.http_status
            else:
                messages.success(request, message)
                return redirect(_anchor(contract, action))
        has_section = (action != "installments"
                       or contract.billing_model == Contract.BillingModel.FIXED_INSTALLMENTS)
        if spec.on_change_order or not has_section:
            # Self-approval, a decided change order, or a form the page does not show: the
            # sentence is said at the top, where it is seen.
            top_errors = [str(error) for error in form.non_field_errors()]
        # The page is shown as it is now (a failed service call changed nothing).
        return terms_page(request, contract_for(request.user, contract_id),
                          bound=(key, form), top_errors=top_errors, status=status)


def _int_or_404(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError as exc:
        raise Http404("No such change order.") from exc


def _anchor(contract: Contract, action: str) -> str:
    section = {"approve": "change-orders", "reject": "change-orders"}.get(action, action)
    return f"{reverse('billing:contract-terms', args=[contract.pk])}#{section}"

