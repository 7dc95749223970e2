"""Revenue's tables: schedules, estimates, recognition runs and entries, journals."""

from revenue.models.journals import (
    DEFAULT_ACCOUNTS,
    AccountKey,
    AccountMapping,
    JournalEntry,
    JournalLine,
)
from revenue.models.runs import RecognitionEntry, RecognitionRun
from revenue.models.schedules import ContractEstimate, RevenueSchedule, ScheduleLine

__all__ = [
    "DEFAULT_ACCOUNTS",
    "AccountKey",
    "AccountMapping",
    "ContractEstimate",
    "JournalEntry",
    "JournalLine",
    "RecognitionEntry",
    "RecognitionRun",
    "RevenueSchedule",
    "ScheduleLine",
]
