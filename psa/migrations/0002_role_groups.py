"""Create one auth group per role of the matrix (psa/roles.py); safe to re-run."""

from django.db import migrations

# Copied, not imported: migrations never import app code.
ROLES = ("consultant", "project_manager", "resource_manager", "finance", "executive",
         "administrator", "service")


def create_groups(apps, schema_editor):
    group = apps.get_model("auth", "Group")
    for name in ROLES:
        group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("psa", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
