from django.apps import AppConfig


class ResourcingConfig(AppConfig):
    name = "resourcing"
    default_auto_field = "django.db.models.BigAutoField"
