"""Forms of the expenses pages: they validate input only; the services decide the rules."""

from collections.abc import Sequence
from typing import Any

from django import forms

from psa.common.money import CURRENCY_CHOICES
from psa.forms import FilterForm, _choices
from psa.models import Expense, ExpenseCategory

Choice = tuple[str, str]
UNIT_FIELDS = {ExpenseCategory.MILEAGE: "distance", ExpenseCategory.PER_DIEM: "days"}


class ExpenseFilterForm(FilterForm):
    """The expenses page's filters, kept in the URL."""

    whose = forms.ChoiceField(
        required=False, label="Whose",
        choices=[("", "Everything I may see"), ("mine", "Mine only")])
    status = forms.ChoiceField(required=False, choices=_choices(Expense.Status.choices))
    category = forms.ChoiceField(required=False, choices=_choices(ExpenseCategory.choices))
    month = forms.CharField(required=False, label="Month", max_length=7,
                            widget=forms.DateInput(attrs={"type": "month"}))
    sort = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def clean_month(self) -> str:
        value = self.cleaned_data.get("month", "")
        if value and (len(value) != 7 or value[4] != "-" or not value.replace("-", "").isdigit()
                      or not 1 <= int(value[5:]) <= 12):
            raise forms.ValidationError("Use the form YYYY-MM.")
        return value


class ExpenseForm(forms.Form):
    """Create or edit one expense; distance and days become the service's `quantity`."""

    project = forms.TypedChoiceField(coerce=int, empty_value=None)
    expense_date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ChoiceField(choices=[("", "Choose…"), *ExpenseCategory.choices])
    amount = forms.DecimalField(required=False, max_digits=14, decimal_places=2,
                                label="Amount paid",
                                widget=forms.NumberInput(attrs={"step": "0.01",
                                                                "inputmode": "decimal"}))
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    exchange_rate = forms.DecimalField(
        required=False, max_digits=14, decimal_places=4, label="Exchange rate",
        help_text="Project currency per 1 unit paid, as on your card statement.",
        widget=forms.NumberInput(attrs={"step": "0.0001", "inputmode": "decimal"}))
    distance = forms.DecimalField(required=False, max_digits=9, decimal_places=2,
                                  label="Distance",
                                  widget=forms.NumberInput(attrs={"step": "0.01",
                                                                  "inputmode": "decimal"}))
    days = forms.DecimalField(required=False, max_digits=9, decimal_places=2, label="Days",
                              widget=forms.NumberInput(attrs={"step": "0.5",
                                                              "inputmode": "decimal"}))
    merchant = forms.CharField(required=False, max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_billable = forms.BooleanField(required=False, initial=True, label="Billable to the client")
    justification = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the expense is above the policy limit.")
    receipt = forms.FileField(
        required=False, help_text="PDF, JPEG or PNG, at most 10 MB.",
        widget=forms.FileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}))
    receipt_remove = forms.BooleanField(required=False, label="Remove the current receipt")

    def __init__(self, *args: Any, projects: Sequence[Choice] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", "Choose…"), *projects]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        unit_field = UNIT_FIELDS.get(data.get("category", ""))
        if unit_field and data.get(unit_field) is None and unit_field not in self.errors:
            self.add_error(unit_field, "Enter the " + (
                "distance travelled." if unit_field == "distance" else "number of days."))
        elif not unit_field and data.get("category") and data.get("amount") is None \
                and "amount" not in self.errors:
            self.add_error("amount", "Enter the amount paid.")
        return data

    def service_data(self) -> dict[str, Any]:
        """The cleaned values under the names `expense_create`/`expense_update` take."""
        data = self.cleaned_data
        category = data["category"]
        unit_field = UNIT_FIELDS.get(category)
        values: dict[str, Any] = {
            "expense_date": data["expense_date"], "category": category,
            "merchant": data.get("merchant", ""), "notes": data.get("notes", ""),
            "is_billable": bool(data.get("is_billable")),
            "justification": data.get("justification", ""),
        }
        if unit_field:
            values["quantity"] = data[unit_field]
        else:
            values.update(amount=data["amount"], currency=data["currency"], quantity=None)
            if data.get("exchange_rate") is not None:
                values["exchange_rate"] = data["exchange_rate"]
        return values

    @classmethod
    def initial_from(cls, expense: Expense) -> dict[str, Any]:
        unit_field = UNIT_FIELDS.get(expense.category)
        initial: dict[str, Any] = {
            "project": expense.project_id, "expense_date": expense.expense_date,
            "category": expense.category, "amount": expense.amount,
            "currency": expense.currency, "exchange_rate": expense.exchange_rate,
            "merchant": expense.merchant, "notes": expense.notes,
            "is_billable": expense.is_billable, "justification": expense.justification,
        }
        if unit_field:
            initial[unit_field] = expense.quantity
        return initial
