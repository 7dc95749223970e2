"""What the billing pages share: the section tabs, HTMX detection, object lookups in the
user's scope, and the choices their forms offer."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from billing.models import Invoice
from psa.forms import Choice
from psa.rules import visible
from psa.selectors.org import legal_entity_list

UserLike = User | AnonymousUser

# (label, url name, permission): the tabs every billing page shows, as the role may use them.
TABS = (
    ("Ready to invoice", "billing:workbench", "billing.view_invoicerun"),
    ("Invoices", "billing:invoice-list", "billing.view_invoice"),
    ("Receivables", "billing:receivables", "billing.view_receivables"),
    ("Realization", "billing:realization", "billing.view_billing_reports"),
    ("Reconciliation", "billing:reconciliation", "billing.view_billing_reports"),
)


def billing_tabs(request: HttpRequest, current: str) -> list[dict[str, object]]:
    """The tabs the user may open, `current` (a url name) marked as the page shown."""
    return [{"label": label, "url": reverse(name), "current": name == current}
            for label, name, perm in TABS if request.user.has_perm(perm)]


def is_htmx(request: HttpRequest) -> bool:
    return (request.headers.get("HX-Request") == "true"
            and not request.headers.get("HX-History-Restore-Request"))


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


def require(user: UserLike, perm: str, obj: Model | None = None) -> None:
    """Refuse (403) unless the role matrix grants `perm` on `obj`."""
    if not user.has_perm(perm, obj):
        raise PermissionDenied


def invoice_for(user: UserLike, pk: int) -> Invoice:
    """The invoice or credit note `pk` if the user may see it, else 404 (outside the scope)."""
    invoices = visible(Invoice.objects.select_related(
        "client", "contract", "legal_entity", "credited_invoice", "run"),
        user, "billing.view_invoice")
    try:
        return invoices.get(pk=pk)
    except Invoice.DoesNotExist as exc:
        raise Http404("No such invoice.") from exc


def legal_entity_choices(user: UserLike) -> list[Choice]:
    return [(str(pk), f"{code} · {name}") for pk, code, name in
            legal_entity_list(actor=user).order_by("code").values_list("pk", "code", "name")]
