"""Shared pieces of the page selectors: permission flags in SQL and sort whitelists."""

from collections.abc import Mapping
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    BooleanField,
    Exists,
    Expression,
    Model,
    OuterRef,
    Value,
)

from psa.roles import ALL, OWN
from psa.rules import OWN_SCOPES, scope

UserLike = User | AnonymousUser
Choice = tuple[str, str]

ZERO = Decimal("0.00")




# --- Permission flags computed in SQL -------------------------------------------------------

def perm_flag(actor: UserLike, perm: str, model: type[Model], ref: str = "pk") -> Expression:
    """Whether the actor holds `perm` on the row that `ref` points at, as a SQL boolean.

    The same rule as `actor.has_perm(perm, obj)` (psa/rules.py), evaluated for every row
    of a list in one query instead of one query per row.
    """
    granted = scope(actor, perm)
    if granted == ALL:
        return Value(True, output_field=BooleanField())
    if granted == OWN:
        own = model._default_manager.filter(pk=OuterRef(ref)).filter(OWN_SCOPES[perm](actor))
        return Exists(own)
    return Value(False, output_field=BooleanField())


def order_for(sort: str, allowed: Mapping[str, str], default: str) -> tuple[list[str], str]:
    """The ORDER BY for a whitelisted `?sort=` key ("-key" descends) and the key applied."""
    key = sort.removeprefix("-")
    if key not in allowed:
        sort, key = default, default.removeprefix("-")
    column = allowed[key]
    descending = sort.startswith("-")
    return [f"-{column}" if descending else column, "-pk" if descending else "pk"], sort
