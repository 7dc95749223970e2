"""The integration hub: CRM, HRIS and ERP connectors and their emulators (issue #7)."""
