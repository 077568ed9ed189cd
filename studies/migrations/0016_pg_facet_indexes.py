"""Indexes on PostgreSQL for the list at a million studies: two covering indexes for its
counts, and one on the journal for the search suggestions.

A condition filter counts its studies by joining the link table to the study table. The
study table's rows are wide (title, authors, summary: about 870 bytes each), so reading
design, status, year and dose band from the heap read 834 MB for a million studies; from
``study_facet_cover_idx`` (60 MB) the same join is an index-only scan. The condition's
studies come from ``study_condition_study_idx`` by index alone, where the foreign key's
index on the condition needed a bitmap heap scan of the link table. At 1,000,000 studies
(benchmarks/README.md, "PostgreSQL at 1,000,000 studies") the SQL of the page
``?condition=fibromyalgia&design=rct&year_min=2010&year_max=2024`` went from 3.7 s to 1.8 s,
``?condition=fibromyalgia`` from 2.6 s to 2.0 s.

A search that finds (almost) nothing builds the suggestions' common words from the
distinct journals (studies/suggestions.py): without an index, a scan of the whole study
heap (438 ms at a million studies); from ``study_journal_idx`` (7 MB), 153 ms.

PostgreSQL only: SQLite keeps a table's rows in a B-tree by id already, and the list's
SQLite speed is measured and tuned separately. No model declares them (Django's Index
cannot express INCLUDE on SQLite), as with the raw indexes of 0003 and 0006.
"""

from django.db import migrations

INDEXES = {
    "study_facet_cover_idx": "studies_study (id) INCLUDE (design, status, year, dose_band)",
    "study_condition_study_idx": "studies_study_conditions (condition_id, study_id)",
    "study_journal_idx": "studies_study (journal)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("studies", "0015_registry_status")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
