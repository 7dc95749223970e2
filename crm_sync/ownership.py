"""System of record per field (ARCHITECTURE.md): a pull writes only what the remote owns.

The CRM owns deal terms (and the company's name and domain), the HRIS owns worker identity,
employment status, manager and cost rate, the ERP owns payments; this application owns
projects, staffing, time, expenses, invoices and revenue. Flows declare, per model, the fields
their system owns and pass every pulled value through `owned_values`, which drops the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger(__name__)


def owned_values(values: Mapping[str, Any], owned: Iterable[str], *,
                 what: str) -> dict[str, Any]:
    """The subset of `values` the remote system owns; the others are logged and dropped."""
    owned = set(owned)
    kept = {name: value for name, value in values.items() if name in owned}
    refused = sorted(set(values) - owned)
    if refused:
        logger.info("%s: ignored fields this application owns: %s", what, ", ".join(refused))
    return kept


def changed_fields(instance: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from the instance's current ones (to update only real changes)."""
    return {name: value for name, value in values.items()
            if getattr(instance, name) != value}
