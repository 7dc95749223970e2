from django.apps import AppConfig


class ResourcingConfig(AppConfig):
    name = "resourcing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from psa.apps import audited_fields
        from resourcing import models

        # Staffing decides who works where and at what cost: every change is kept with who,
        # when and before/after, as for the delivery core's rows.
        for model in (models.ResourceRequest, models.RequestSkill, models.Assignment,
                      models.PersonSkill, models.Certification, models.Skill,
                      models.SkillCategory):
            auditlog.register(model, include_fields=audited_fields(model))
