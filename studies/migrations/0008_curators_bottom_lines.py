"""The Curators group may add, change and view bottom lines too (migration 0007's model)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["add_bottomline", "change_bottomline", "view_bottomline"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("studies")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Curators")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="studies", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Curators"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="studies", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("studies", "0007_domain_bottom_line"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
