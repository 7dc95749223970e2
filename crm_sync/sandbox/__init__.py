"""Emulators of the vendors' APIs (HubSpot, BambooHR, QuickBooks Online) for tests and the demo.

Pure standard library, no Django: real HTTP on loopback with the vendors' paths, payloads,
paging, auth, signatures and error shapes, in-memory state, webhooks sent to a target, and
switchable faults. Nothing in the product imports this package (an import-linter contract).
Start all three with `python -m crm_sync.sandbox`.
"""
