"""Resourcing's reads: import them from here (or from their module)."""

from resourcing.selectors.assignments import assignment_list
from resourcing.selectors.capacity import (
    Allocation,
    WeekCapacity,
    capacity_report,
    weekly_allocation,
    weekly_capacity,
    weeks_between,
)
from resourcing.selectors.requests import request_list
from resourcing.selectors.skills import certification_list, person_skill_list, skill_list

__all__ = ["Allocation", "WeekCapacity", "assignment_list", "capacity_report",
           "certification_list", "person_skill_list", "request_list", "skill_list",
           "weekly_allocation", "weekly_capacity", "weeks_between"]
