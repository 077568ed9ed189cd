"""The Curators group: add, change and view on the catalog's models, nothing else."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Curators"
MODELS = ["condition", "study", "outcome", "effectsummary", "source", "mention", "claim"]
ACTIONS = ["add", "change", "view"]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; this one needs them now.
    app_config = apps.get_app_config("studies")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    codenames = [f"{action}_{model}" for model in MODELS for action in ACTIONS]
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="studies", codename__in=codenames)
    )


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("studies", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
