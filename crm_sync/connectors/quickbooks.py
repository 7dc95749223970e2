"""Placeholder: being written."""

from crm_sync.connectors.base import Connector


class QuickBooksConnector(Connector):
    vendor = "quickbooks"
