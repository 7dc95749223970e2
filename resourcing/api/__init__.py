"""Resourcing's REST resources under /api/v1/ (API.md)."""
