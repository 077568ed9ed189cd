"""The search index: one document per study, kept in step by database triggers.

On SQLite an FTS5 table (porter unicode61); on PostgreSQL a table of tsvectors with a GIN
index. Triggers on studies, outcomes, conditions and the study–condition table rewrite a
study's document whenever any of them is written, by whatever path (the admin, the BibTeX
importer, loaddata, a restore, raw SQL). The SQL is in studies/search_index.py; the existing
documents are indexed here.
"""

import django.db.models.deletion
from django.db import migrations, models

import studies.search
import studies.search_index


def install(apps, schema_editor):
    studies.search_index.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    studies.search_index.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("studies", "0009_catalog_revision")]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "study",
                    models.OneToOneField(
                        db_column="rowid",
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="studies.study",
                    ),
                ),
                ("document", studies.search.SearchDocumentField()),
            ],
            options={"db_table": "studies_search", "managed": False},
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
