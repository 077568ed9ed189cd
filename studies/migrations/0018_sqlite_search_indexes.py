"""Indexes on SQLite for the search page, as 0016 added its own for PostgreSQL.

A ranked search sorts its matches best match first, then newest first: it reads each
match's year and creation time. From the study table that is a read of the study's wide row
(title, authors, summary: about 870 bytes); from ``study_search_order_idx``, a narrow index
led by the id, the same lookup by id reads an index entry (SQLite, 100,000 studies: the 25
best of the 59,400 matches of "pain" in 68 ms where the rows took 86; the 2,833 of "crohn
remission" in 7 ms where they took 10). The planner takes it once it has statistics (as
after any bulk load, README: run ANALYZE; this migration analyses the two indexes of a
catalog that has studies); without them it looks the row up by id. EXPLAIN QUERY PLAN
shows the choice ("USING COVERING INDEX study_search_order_idx (id=?)"); the search's
other counts that join a match to its study take it too.

A search that finds (almost) nothing builds the suggestions' common words from the
distinct journals (studies/suggestions.py): a scan of every study's row and a sort (27 ms),
or a scan of ``study_journal_sqlite_idx`` in its order (4 ms).

The facet counts (design, status, year, dose band) are not helped: they read the dose band,
a generated column, and SQLite's planner then counts every column of the table as used, so
it takes no index as covering them and looks each match up by row id (an index led by the
id and holding the four, forced with INDEXED BY: 69 ms for "pain" where the rows took 82).

SQLite only, in raw SQL like 0003, 0006 and 0016: Django knows nothing of them, so a later
migration that rebuilds the study table on SQLite drops them and must put them back (as
0012 and 0013 do for those of 0003 and 0006). The names differ from 0016's, which
PostgreSQL alone has. An index is created, not a table rebuilt: the search triggers stay.
"""

from django.db import migrations

INDEXES = {
    "study_search_order_idx": "studies_study (id, year, created_at)",
    "study_journal_sqlite_idx": "studies_study (journal)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
            # The planner weighs an index by its statistics, if ANALYZE has run before.
            schema_editor.execute(f"ANALYZE {name}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("studies", "0017_facets_with_dose_band")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
