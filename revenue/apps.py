from django.apps import AppConfig


class RevenueConfig(AppConfig):
    """Revenue: schedules, recognition, journals and the month-end close."""

    name = "revenue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from psa.apps import audited_fields
        from revenue import models, subscribers

        # Financial rows: every change is kept with who, when and before/after.
        for model in (models.RevenueSchedule, models.ContractEstimate, models.AccountMapping,
                      models.RecognitionRun):
            auditlog.register(model, include_fields=audited_fields(model))
        subscribers.register()
