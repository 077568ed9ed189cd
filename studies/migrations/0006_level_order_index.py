"""An index in the "level" order (strongest evidence first, then newest, then id), the
order of the list's "Strongest evidence first" sort, a study page's related studies and a
condition page's strongest studies: they read their first rows from the index instead of
sorting every study of the condition (SQLite, 100,000 studies: 6.4 ms → 0.1 ms for a
study page's related studies).

Raw SQL for the same reason as 0003: PostgreSQL must be told NULLS LAST to match the
query; SQLite rejects it in an index but already sorts NULLs last when descending.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    nulls_last = " NULLS LAST" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        "CREATE INDEX study_level_order_idx ON studies_study "
        f"(evidence_level, year DESC{nulls_last}, id)"
    )


def drop_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX study_level_order_idx")


class Migration(migrations.Migration):
    dependencies = [("studies", "0005_search_vectors")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
