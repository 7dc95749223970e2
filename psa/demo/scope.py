"""What one seed run covers: seed, size and the date window, plus the staffing pools."""

import random
from dataclasses import dataclass, field
from datetime import date

from psa.demo.people import DEMO_LOGINS, PersonPlan
from psa.demo.tables import add_months, month_start


@dataclass(frozen=True, slots=True)
class DemoScope:
    """The inputs every planner reads; all randomness derives from `seed`."""

    seed: int
    as_of: date
    months: int
    people: int
    clients: int

    @property
    def contracts(self) -> int:
        """About 1.7 contracts per client (15 clients → 25 contracts)."""
        return max(self.clients, round(self.clients * 5 / 3))

    @property
    def window_start(self) -> date:
        """The first month the demo's history reaches back to."""
        return add_months(month_start(self.as_of), -self.months)

    def rng(self, kind: str, index: int) -> random.Random:
        """An independent generator for one row, so rows can be planned in any batch order."""
        return random.Random(f"{self.seed}:{kind}:{index}")


@dataclass(slots=True)
class Pools:
    """Person indices by entity: who may manage projects and who may staff them."""

    managers: dict[str, list[int]] = field(default_factory=dict)
    members: dict[str, list[int]] = field(default_factory=dict)
    level: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_people(cls, people: list[PersonPlan]) -> "Pools":
        pools = cls()
        for person in people:
            pools.level[person.index] = person.level
            if person.status != "active" or person.index < len(DEMO_LOGINS):
                continue  # demo logins are placed on projects on purpose, not at random
            target = pools.managers if person.level >= 4 else pools.members
            target.setdefault(person.entity, []).append(person.index)
            if person.level == 4:
                pools.members.setdefault(person.entity, []).append(person.index)
        return pools
