"""The catalog revision (studies/caching.py): one row that every write to the catalog bumps.

Data migrations that change catalog rows need do nothing: ``migrate`` bumps the revision
when it finishes (a post_migrate handler in studies/apps.py).
"""

from django.db import migrations, models
from django.utils import timezone


def create_row(apps, schema_editor):
    CatalogRevision = apps.get_model("studies", "CatalogRevision")
    CatalogRevision.objects.using(schema_editor.connection.alias).create(
        pk=1, number=1, changed_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0008_curators_bottom_lines"),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogRevision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveBigIntegerField(default=0)),
                ("changed_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
