from django.apps import AppConfig


class PsaConfig(AppConfig):
    """The delivery core: registers its models with the audit trail."""

    name = "psa"
    verbose_name = "Delivery core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from psa import models

        # Master and financial rows: every change is kept with who, when and before/after.
        for model in (models.LegalEntity, models.Period, models.Client, models.Contract,
                      models.ChangeOrder, models.Project, models.ProjectMember, models.Task,
                      models.Milestone, models.Person, models.Role, models.CostRate,
                      models.RateCard, models.RateCardLine, models.RateCardOverride):
            auditlog.register(model)
        auditlog.register(models.ApiToken, exclude_fields=["digest", "last_used_at"])
