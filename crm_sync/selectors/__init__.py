"""Reads of the integration hub: the sync health page, the business backlog, the outbox."""
