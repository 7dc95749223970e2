"""Forms of the integration pages: filters (GET), the replay selection, the connection edit.

Choices arrive already read, so rendering a form runs no query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django import forms

from crm_sync.models import InboundMessage
from psa.forms import ANY, Choice, FilterForm
from psa.models import Delivery

FAILURE_STATES: list[Choice] = [ANY, (Delivery.State.FAILED, "Failed, will retry"),
                                (Delivery.State.DEAD, "Dead letter")]
CREDENTIAL_PREFIX = "credential__"
CREDENTIAL_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
MAX_REPLAY = 500


class FailureFilterForm(FilterForm):
    state = forms.ChoiceField(required=False, choices=FAILURE_STATES)
    subscriber = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, subscribers: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subscriber"].choices = [ANY, *((name, name) for name in subscribers)]


class MessageFilterForm(FilterForm):
    connection = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False, choices=[ANY, *InboundMessage.State.choices])

    def __init__(self, *args: Any, connections: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connection"].choices = [ANY, *((name, name) for name in connections)]


class ReplayForm(forms.Form):
    """The deliveries ticked in the failures list (ids; at most MAX_REPLAY at once)."""

    delivery = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True,
                                              error_messages={
                                                  "required": "Tick at least one delivery."})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any id is a valid choice here; the view re-reads the rows and the service decides.
        raw = self.data.getlist("delivery") if hasattr(self.data, "getlist") else []
        self.fields["delivery"].choices = [(value, value) for value in raw]

    def clean_delivery(self) -> list[int]:
        ids = self.cleaned_data["delivery"]
        if len(ids) > MAX_REPLAY:
            raise forms.ValidationError(f"Replay at most {MAX_REPLAY} deliveries at once.")
        return ids


class ConnectionForm(forms.Form):
    """An administrator's edit of a connection. Credentials are write-only: each stored key has
    a password field that is never filled in, and a blank one keeps the stored value."""

    base_url = forms.URLField(label="Base URL", max_length=300, assume_scheme="https",
                              widget=forms.TextInput(attrs={"inputmode": "url",
                                                            "spellcheck": "false"}))
    enabled = forms.BooleanField(required=False)
    options = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="A JSON object of vendor settings (stages, defaults, realm id, ...).")
    new_credential_key = forms.RegexField(
        regex=CREDENTIAL_KEY_PATTERN, required=False, label="Add a credential: name",
        help_text="Letters, digits and underscores, e.g. api_key.")
    new_credential_value = forms.CharField(
        required=False, label="Add a credential: value",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))

    def __init__(self, *args: Any, credential_keys: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.credential_keys = list(credential_keys)
        for key in self.credential_keys:
            self.fields[f"{CREDENTIAL_PREFIX}{key}"] = forms.CharField(
                required=False, label=key, strip=False,
                widget=forms.PasswordInput(render_value=False,
                                           attrs={"autocomplete": "new-password"}),
                help_text="Leave blank to keep the stored value.")

    @property
    def credential_fields(self) -> list[forms.BoundField]:
        return [self[f"{CREDENTIAL_PREFIX}{key}"] for key in self.credential_keys]

    def clean_options(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("options") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object: {\"name\": value, ...}.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        key, value = data.get("new_credential_key"), data.get("new_credential_value")
        if bool(key) != bool(value):
            self.add_error("new_credential_value" if key else "new_credential_key",
                           "Give both the name and the value of the new credential.")
        return data

    def credentials(self) -> dict[str, str]:
        """The credential values typed in (blank ones left out: they keep the stored value)."""
        data = self.cleaned_data
        typed = {key: data.get(f"{CREDENTIAL_PREFIX}{key}") or ""
                 for key in self.credential_keys}
        if data.get("new_credential_key") and data.get("new_credential_value"):
            typed[data["new_credential_key"]] = data["new_credential_value"]
        return {key: value for key, value in typed.items() if value}
