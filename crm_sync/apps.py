from django.apps import AppConfig


class CrmSyncConfig(AppConfig):
    """The integration hub: registers its outbox subscribers and audits connection changes."""

    name = "crm_sync"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from crm_sync import models, subscribers

        # Who changed a connection or a webhook subscription, and when; never the secrets.
        auditlog.register(models.Connection, exclude_fields=["credentials_encrypted"])
        auditlog.register(models.WebhookSubscription, exclude_fields=["secret_encrypted"])
        subscribers.register()
