from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Billing: registers its financial rows with the audit trail and its event subscribers."""

    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from billing import models, subscribers
        from psa.apps import audited_fields

        # Every state change of a financial record is kept with who, when and before/after.
        for model in (models.Invoice, models.InvoiceLine, models.Installment,
                      models.RoundingPolicy, models.CapHold, models.Payment, models.HeldItem,
                      models.InvoiceRun):
            auditlog.register(model, include_fields=audited_fields(model, skip={"pdf"}))
        subscribers.register()
