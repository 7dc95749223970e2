"""Placeholder: being written."""

from crm_sync.connectors.base import Connector


class HubSpotConnector(Connector):
    vendor = "hubspot"
