"""The filters every insight page shares: the last month shown, legal entity, client, service
line and the currency amounts are shown in. They live in the URL, so a link to a figure keeps
them."""

from datetime import date, timedelta

from django import forms
from django.http import QueryDict
from django.utils import timezone

from psa.common.money import CURRENCY_CHOICES
from psa.models import Client, LegalEntity, Project

MONTH_INPUT = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]
# Reports look at these years; outside them twelve months back or ahead leave the calendar.
FIRST_YEAR, LAST_YEAR = 2000, 2099
FILTER_NAMES = ("month", "legal_entity", "client", "service_line", "currency")


def last_complete_month() -> date:
    """The first day of last month: the dashboard opens on the last whole month, since the
    running one has neither its time nor its revenue run complete."""
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


class InsightFilterForm(forms.Form):
    """Twelve months ending with `month`; every other field narrows or converts."""

    month = forms.DateField(required=False, label="Through month", widget=MONTH_INPUT,
                            input_formats=MONTH_FORMATS)
    legal_entity = forms.ModelChoiceField(queryset=LegalEntity.objects.order_by("code"),
                                          required=False, empty_label="All legal entities",
                                          label="Legal entity")
    client = forms.ModelChoiceField(queryset=Client.objects.order_by("name"), required=False,
                                    empty_label="All clients", label="Client")
    service_line = forms.ChoiceField(required=False, label="Service line")
    currency = forms.ChoiceField(required=False, label="Show amounts in",
                                 choices=[("", "Legal entity's currency"), *CURRENCY_CHOICES])

    def __init__(self, *args: object, with_work_filters: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if with_work_filters:
            lines = (Project.objects.exclude(service_line="").order_by("service_line")
                     .values_list("service_line", flat=True).distinct())
            self.fields["service_line"].choices = [("", "All service lines"),
                                                   *((line, line) for line in lines)]
        else:  # people-only pages: clients and service lines do not apply
            del self.fields["client"], self.fields["service_line"]

    def clean_month(self) -> date:
        month = self.cleaned_data.get("month") or last_complete_month()
        if not FIRST_YEAR <= month.year <= LAST_YEAR:
            raise forms.ValidationError(f"Choose a month from {FIRST_YEAR} to {LAST_YEAR}.")
        return month.replace(day=1)


def filter_query(data: QueryDict, **changes: object) -> str:
    """The filters of `data` as a query string, with `changes` applied (None removes one)."""
    query = QueryDict(mutable=True)
    for name in FILTER_NAMES:
        if data.get(name):
            query[name] = data[name]
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = f"{value:%Y-%m}" if isinstance(value, date) else str(value)
    return query.urlencode()
