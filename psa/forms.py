"""Filter forms of the list pages: they validate the query string and nothing else.

Choices arrive already read (from `psa.selectors.pages`), so rendering a form runs
no query.
"""

from collections.abc import Sequence

from django import forms

from psa.models import Person, Project

Choice = tuple[str, str]
ANY: Choice = ("", "Any")


def _choices(options: Sequence[Choice]) -> list[Choice]:
    return [ANY, *options]


class FilterForm(forms.Form):
    """A GET form whose valid values become keyword filters for a selector."""

    def filters(self) -> dict[str, object]:
        """The valid, non-empty filters; a bad value is dropped rather than failing the page."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: value for name, value in data.items()
                if name not in self.errors and value not in ("", None)}


class ListFilterForm(FilterForm):
    """Search text plus a whitelisted sort key; subclasses add their filters."""

    q = forms.CharField(label="Search", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    sort = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)


class ProjectFilterForm(ListFilterForm):
    status = forms.ChoiceField(required=False, choices=_choices(Project.Status.choices))
    client = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    manager = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    service_line = forms.ChoiceField(required=False, label="Service line")
    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")

    def __init__(self, *args: object, clients: Sequence[Choice] = (),
                 managers: Sequence[Choice] = (), service_lines: Sequence[Choice] = (),
                 legal_entities: Sequence[Choice] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = _choices(clients)
        self.fields["manager"].choices = _choices(managers)
        self.fields["service_line"].choices = _choices(service_lines)
        self.fields["legal_entity"].choices = _choices(legal_entities)


class ClientFilterForm(ListFilterForm):
    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")
    active = forms.ChoiceField(required=False, label="Status",
                               choices=[ANY, ("active", "Active"), ("inactive", "Inactive")])

    def __init__(self, *args: object, legal_entities: Sequence[Choice] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].choices = _choices(legal_entities)


class PersonFilterForm(ListFilterForm):
    role = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")
    status = forms.ChoiceField(required=False,
                               choices=_choices(Person.EmploymentStatus.choices))

    def __init__(self, *args: object, roles: Sequence[Choice] = (),
                 legal_entities: Sequence[Choice] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _choices(roles)
        self.fields["legal_entity"].choices = _choices(legal_entities)


class AuditFilterForm(FilterForm):
    content_type = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Model")
    actor = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                   label="Changed by")

    def __init__(self, *args: object, models: Sequence[Choice] = (),
                 actors: Sequence[Choice] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["content_type"].choices = _choices(models)
        self.fields["actor"].choices = _choices(actors)
