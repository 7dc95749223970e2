"""Skills, capacity, requests, assignments, recommendations and utilization (issue #4)."""
