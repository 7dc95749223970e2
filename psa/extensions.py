"""Hooks through which the apps above psa add to its pages and figures, so psa shows billing,
revenue and health without importing those apps (ARCHITECTURE.md: psa depends on none).

An app registers in its `AppConfig.ready()`; psa asks the registry at request time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from psa.models import Project


@dataclass(frozen=True)
class ProjectPanel:
    """A panel of the project page, fetched from `url_name` (taking the project's pk) for
    users holding `perm` on the project."""

    title: str
    url_name: str
    perm: str


@dataclass(frozen=True)
class ProjectMoney:
    """What billing and revenue know of a project, in the project's currency."""

    revenue_amount: Decimal
    billed_amount: Decimal
    unbilled_amount: Decimal


PROJECT_PANELS: list[ProjectPanel] = []
_money_providers: list[Callable[[Project], ProjectMoney]] = []


def register_project_panel(panel: ProjectPanel) -> None:
    if panel not in PROJECT_PANELS:
        PROJECT_PANELS.append(panel)


def register_project_money(provider: Callable[[Project], ProjectMoney]) -> None:
    """One provider answers; a second registration replaces the first (tests, reloads)."""
    _money_providers[:] = [provider]


def project_money(project: Project) -> ProjectMoney | None:
    """The registered provider's figures, or None when no app above psa is installed."""
    return _money_providers[0](project) if _money_providers else None
