"""Resourcing pages: the staffing board (board.py) and utilization (utilization.py)."""
