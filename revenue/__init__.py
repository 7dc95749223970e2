"""Revenue schedules, recognition runs, journals and balances (issue #6)."""
