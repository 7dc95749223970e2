"""Writes on rate cards with their role lines and person overrides."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from psa.common.errors import DomainError
from psa.models import RateCard, RateCardLine, RateCardOverride
from psa.services.common import apply_changes, lock_for_change, pick, save_validated

RATE_CARD_FIELDS = ("code", "name", "kind", "currency", "client", "is_active")


def _check_unique(items: Sequence[Mapping[str, Any]], key: str, attr: str) -> None:
    seen = set()
    for index, item in enumerate(items):
        pair = (item[key].pk, item["effective_from"])
        if pair in seen:
            raise DomainError(f"Two {attr} for the same {key} from {item['effective_from']}.",
                              code="duplicate", attr=f"{attr}.{index}")
        seen.add(pair)


def _upsert_lines(card: RateCard, lines: Sequence[Mapping[str, Any]],
                  overrides: Sequence[Mapping[str, Any]]) -> None:
    _check_unique(lines, "role", "lines")
    _check_unique(overrides, "person", "overrides")
    for model, items, key in ((RateCardLine, lines, "role"),
                              (RateCardOverride, overrides, "person")):
        for item in items:
            row = (model.objects.select_for_update(of=("self",))
                   .filter(rate_card=card, effective_from=item["effective_from"],
                           **{key: item[key]}).first())
            if row is None:
                row = model(rate_card=card, **{key: item[key]},
                            effective_from=item["effective_from"])
            row.hourly_rate = item["hourly_rate"]
            save_validated(row)


@transaction.atomic
def rate_card_create(*, actor: User, data: Mapping[str, Any],
                     lines: Sequence[Mapping[str, Any]] = (),
                     overrides: Sequence[Mapping[str, Any]] = ()) -> RateCard:
    """Create a rate card with its lines (`role, hourly_rate, effective_from`) and overrides.

    Raises DomainError on two lines for one role and date, ValidationError on a second active
    standard card in a currency or an override on the standard card.
    """
    card = RateCard(**pick(data, RATE_CARD_FIELDS))
    save_validated(card)
    _upsert_lines(card, lines, overrides)
    return card


@transaction.atomic
def rate_card_update(*, rate_card: RateCard, actor: User, data: Mapping[str, Any],
                     lines: Sequence[Mapping[str, Any]] | None = None,
                     overrides: Sequence[Mapping[str, Any]] | None = None,
                     expected_version: str | None = None) -> RateCard:
    """Change a card; given lines and overrides are upserted by (role or person, date).

    Lines not named are kept (a rate history is never rewritten by omission).
    """
    card = lock_for_change(rate_card, expected_version=expected_version)
    changed = apply_changes(card, data, allowed=RATE_CARD_FIELDS)
    if changed or lines or overrides:
        save_validated(card, update_fields=changed)
    _upsert_lines(card, lines or (), overrides or ())
    return card
