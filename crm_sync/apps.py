from django.apps import AppConfig


class CrmSyncConfig(AppConfig):
    name = "crm_sync"
    default_auto_field = "django.db.models.BigAutoField"
