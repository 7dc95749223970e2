"""The integration hub's tables (ARCHITECTURE.md: Integration hub)."""

from crm_sync.models.alerts import SyncAlert
from crm_sync.models.connections import Connection, PendingLink, SyncCursor, SyncRun
from crm_sync.models.deals import Deal, DealRequest
from crm_sync.models.messages import InboundMessage
from crm_sync.models.webhooks import WebhookReceipt, WebhookSubscription

__all__ = [
    "Connection",
    "Deal",
    "DealRequest",
    "InboundMessage",
    "PendingLink",
    "SyncAlert",
    "SyncCursor",
    "SyncRun",
    "WebhookReceipt",
    "WebhookSubscription",
]
