"""Billing's REST API: invoice runs, invoices, credit notes and payments (API.md)."""
