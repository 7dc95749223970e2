"""Placeholder: being written."""

from crm_sync.connectors.base import Connector


class BambooHRConnector(Connector):
    vendor = "bamboohr"
