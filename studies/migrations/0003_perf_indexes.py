"""An index in the list's default order ("newest": year descending with missing years
last, then newest entry, then id), so the first page and deep pages read 25 rows from the
index instead of sorting the whole catalog.

Raw SQL because the two databases need different text: PostgreSQL must be told NULLS
LAST to match the query; SQLite rejects NULLS LAST in an index but already sorts NULLs
last when descending.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    nulls_last = " NULLS LAST" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        "CREATE INDEX study_newest_idx ON studies_study "
        f"(year DESC{nulls_last}, created_at DESC, id)"
    )


def drop_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX study_newest_idx")


class Migration(migrations.Migration):
    dependencies = [("studies", "0002_curators_group")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
