"""`/exchange-rates/`: the stored monthly rates reports convert with; finance adds or replaces
a month's rate here (every change is in the audit trail)."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.core.validators import MinValueValidator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from psa.common.errors import DomainError
from psa.common.export import csv_response
from psa.common.money import CURRENCY_CHOICES
from psa.common.permissions import RequiredPermsMixin
from psa.models import ExchangeRate
from psa.services.exchange_rates import exchange_rate_set

PAGE_SIZE = 50
EXPORT_HEADER = ["from_currency", "to_currency", "month", "rate"]


class ExchangeRateForm(forms.Form):
    from_currency = forms.ChoiceField(choices=CURRENCY_CHOICES, label="From")
    to_currency = forms.ChoiceField(choices=CURRENCY_CHOICES, label="To")
    month = forms.DateField(label="From month", input_formats=["%Y-%m", "%Y-%m-%d"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))
    rate = forms.DecimalField(max_digits=18, decimal_places=8, label="Rate",
                              validators=[MinValueValidator(0)],
                              help_text="Units of the second currency per unit of the first.")


class ExchangeRateListView(RequiredPermsMixin, View):
    """The rates, newest month first, with a form to add one; `?format=csv` exports them."""

    required_perms = {"get": "psa.view_exchangerate", "post": "psa.add_exchangerate"}

    def _render(self, request: HttpRequest, form: ExchangeRateForm,
                status: int = 200) -> HttpResponse:
        rates = ExchangeRate.objects.order_by("-month", "from_currency", "to_currency")
        page = Paginator(rates, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "psa/exchange_rates.html", {
            "title": "Exchange rates", "page": page, "form": form,
            "may_add": request.user.has_perm("psa.add_exchangerate"),
            "context_line": "Reports convert each month's amounts with the latest rate of a "
                            "month on or before it; the reverse pair is inverted when only it "
                            "is stored."}, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.GET.get("format") == "csv":
            rows = (ExchangeRate.objects.order_by("-month", "from_currency", "to_currency")
                    .values_list("from_currency", "to_currency", "month", "rate")
                    .iterator(chunk_size=2000))
            return csv_response(filename="exchange-rates.csv", header=EXPORT_HEADER, rows=rows)
        return self._render(request, ExchangeRateForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ExchangeRateForm(request.POST)
        if form.is_valid():
            try:
                stored = exchange_rate_set(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.attr, exc.detail)
            else:
                messages.success(request, f"Stored: {stored}.")
                return HttpResponseRedirect(reverse("exchange-rate-list"))
        return self._render(request, form, status=400)
