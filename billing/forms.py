"""Forms of the billing pages: they validate input only; the services apply the rules.

A service's `DomainError` is put beside the field its `attr` names (`show_error`), so the
person sees the sentence where the value is and keeps what they typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django import forms
from django.utils import timezone

from billing.models import Invoice, InvoiceLine
from psa.common.errors import DomainError
from psa.forms import ANY, Choice, ListFilterForm

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
MONEY_INPUT = forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"})
MAX_MONEY = Decimal("999999999999.99")


def show_error(form: forms.Form, error: DomainError) -> None:
    """Put a service's sentence beside the field it names (or above the form)."""
    attr = getattr(error, "attr", None)
    form.add_error(attr if attr in form.fields else None, str(getattr(error, "detail", error)))


def money_field(**kwargs: object) -> forms.DecimalField:
    return forms.DecimalField(max_digits=14, decimal_places=2, widget=MONEY_INPUT,
                              min_value=-MAX_MONEY, max_value=MAX_MONEY, **kwargs)


class RunStartForm(forms.Form):
    """Start an invoice run: one legal entity or all of them, up to a cut-off date."""

    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")
    cut_off = forms.DateField(label="Cut-off date", widget=DATE_INPUT,
                              help_text="Items dated on or before this day are billed.")

    def __init__(self, *args: object, legal_entities: Sequence[Choice] = (),
                 **kwargs: object) -> None:
        kwargs.setdefault("initial", {"cut_off": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].choices = [("", "All legal entities"), *legal_entities]


class InvoiceFilterForm(ListFilterForm):
    """The invoice list's filters: status, kind and a client search (`q`)."""

    status = forms.ChoiceField(required=False, choices=[ANY, *Invoice.Status.choices])
    kind = forms.ChoiceField(required=False, choices=[ANY, *Invoice.Kind.choices])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Client or number"


class LineDescribeForm(forms.Form):
    description = forms.CharField(max_length=300, label="Description",
                                  widget=forms.TextInput(attrs={"autocomplete": "off"}))


class LineAdjustForm(forms.Form):
    """A write-down (negative) or write-up (positive) with its reason code."""

    adjustment = money_field(label="Write down (-) or up (+)")
    adjustment_reason = forms.ChoiceField(
        label="Reason", required=False,
        choices=[("", "Choose a reason"), *InvoiceLine.AdjustmentReason.choices])
    note = forms.CharField(required=False, label="Note", max_length=2000,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))


class NotesForm(forms.Form):
    notes = forms.CharField(required=False, label="Notes printed on the invoice",
                            widget=forms.Textarea(attrs={"rows": 3}))


class HoldForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, label="Why (optional)")


class WriteOffForm(forms.Form):
    """Write off an amount held over a cap: it will never be billed."""

    reason = forms.CharField(label="Why is it written off?", max_length=2000)


class IssueForm(forms.Form):
    issue_date = forms.DateField(required=False, label="Issue date", widget=DATE_INPUT,
                                 help_text="Empty: today in the legal entity's time zone.")


class VoidForm(forms.Form):
    reason = forms.CharField(label="Why is it voided?", max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class EmptyForm(forms.Form):
    """Actions that take no input (approve, back to draft, delete)."""


class PaymentForm(forms.Form):
    amount = money_field(label="Amount received")
    received_date = forms.DateField(label="Received on", widget=DATE_INPUT)
    reference = forms.CharField(required=False, max_length=100, label="Reference")

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("initial", {"received_date": timezone.localdate()})
        super().__init__(*args, **kwargs)


class CreditNoteForm(forms.Form):
    """Which lines to credit and how much of each, the reason, and whether the credited
    items may be billed again. One checkbox and amount per line of the invoice."""

    reason = forms.CharField(label="Reason", max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    release_items = forms.BooleanField(
        required=False, label="Release the credited items so the next run bills them again")

    def __init__(self, *args: object, lines: Iterable[InvoiceLine] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        self.line_rows = []
        for line in self.lines:
            pick, amount = f"line_{line.pk}", f"amount_{line.pk}"
            self.fields[pick] = forms.BooleanField(required=False,
                                                   label=f"Credit {line.description}")
            self.fields[amount] = money_field(required=False, initial=line.amount,
                                              label=f"Amount for {line.description}")
            self.line_rows.append((line, pick, amount))
        # An error about the lines as a whole (over-credit, nothing chosen) is shown here.
        self.fields["lines"] = forms.CharField(required=False, widget=forms.HiddenInput)

    def bound_rows(self) -> list[tuple[InvoiceLine, forms.BoundField, forms.BoundField]]:
        return [(line, self[pick], self[amount]) for line, pick, amount in self.line_rows]

    def clean(self) -> dict:
        data = super().clean()
        chosen = []
        for line, pick, amount in self.line_rows:
            if not data.get(pick):
                continue
            value = data.get(amount)
            if value is None:
                if amount not in self.errors:
                    self.add_error(amount, "Enter the amount to credit.")
                continue
            chosen.append((line, value))
        if not chosen and not self.errors:
            self.add_error("lines", "Choose at least one line to credit.")
        data["credits"] = chosen
        return data


class AsOfForm(forms.Form):
    """Receivables: the day the aging is taken, optionally for one legal entity."""

    as_of = forms.DateField(required=False, label="As of", widget=DATE_INPUT)
    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")

    def __init__(self, *args: object, legal_entities: Sequence[Choice] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].choices = [("", "All legal entities"), *legal_entities]

    def clean(self) -> dict:
        data = super().clean()
        data["as_of"] = data.get("as_of") or timezone.localdate()
        return data


REALIZATION_GROUPS = [("contract", "Contract"), ("client", "Client"), ("person", "Person")]


class RealizationForm(forms.Form):
    start = forms.DateField(required=False, label="From", widget=DATE_INPUT)
    end = forms.DateField(required=False, label="To", widget=DATE_INPUT)
    group_by = forms.ChoiceField(required=False, label="Group by", choices=REALIZATION_GROUPS)

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        data["start"] = data.get("start") or date(today.year, 1, 1)
        data["end"] = data.get("end") or today
        data["group_by"] = data.get("group_by") or REALIZATION_GROUPS[0][0]
        if data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        return data


class ReconciliationForm(forms.Form):
    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")
    contract = forms.CharField(required=False, max_length=40, label="Contract code")
    differences = forms.BooleanField(required=False, label="Only contracts that do not balance")

    def __init__(self, *args: object, legal_entities: Sequence[Choice] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].choices = [("", "All legal entities"), *legal_entities]
