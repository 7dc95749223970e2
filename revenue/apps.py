from django.apps import AppConfig


class RevenueConfig(AppConfig):
    name = "revenue"
    default_auto_field = "django.db.models.BigAutoField"
