"""Which class speaks which vendor; the rest of the hub asks here, never imports a vendor."""

from __future__ import annotations

from django.utils.module_loading import import_string

from crm_sync.connectors.base import Connector
from crm_sync.models import Connection

CONNECTOR_CLASSES: dict[str, str] = {
    Connection.Vendor.HUBSPOT: "crm_sync.connectors.hubspot.HubSpotConnector",
    Connection.Vendor.BAMBOOHR: "crm_sync.connectors.bamboohr.BambooHRConnector",
    Connection.Vendor.QUICKBOOKS: "crm_sync.connectors.quickbooks.QuickBooksConnector",
}


def connector_class(vendor: str) -> type[Connector]:
    return import_string(CONNECTOR_CLASSES[vendor])


def connector_for(connection: Connection) -> Connector:
    return connector_class(connection.vendor)(connection)


def enabled_connection(vendor: str) -> Connection | None:
    """The live connection of `vendor` (at most one, by constraint), if any."""
    return Connection.objects.filter(vendor=vendor, enabled=True).first()
