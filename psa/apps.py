from django.apps import AppConfig


class PsaConfig(AppConfig):
    """The delivery core: registers its models with the audit trail."""

    name = "psa"
    verbose_name = "Delivery core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.urls import register_converter

        from psa import models
        from psa.common.converters import RecordIdConverter

        # `<id:pk>` in every urls module; registered here so any of them imports on its own.
        register_converter(RecordIdConverter, "id")

        # Master and financial rows: every change is kept with who, when and before/after.
        for model in (models.LegalEntity, models.Period, models.Client, models.Contract,
                      models.ChangeOrder, models.Project, models.ProjectMember, models.Task,
                      models.Milestone, models.Person, models.Role, models.CostRate,
                      models.RateCard, models.RateCardLine, models.RateCardOverride,
                      models.TimeEntry, models.Expense, models.ExpensePolicy, models.TimeOff,
                      models.ExchangeRate):
            auditlog.register(model, include_fields=audited_fields(model))
        auditlog.register(models.ApiToken, include_fields=audited_fields(
            models.ApiToken, skip={"digest", "last_used_at"}))


def audited_fields(model: type, skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The model's own columns, less bookkeeping: reverse relations and timestamps are noise."""
    noise = {"id", "created_at", "updated_at", *skip}
    return [field.name for field in model._meta.concrete_fields if field.name not in noise]
