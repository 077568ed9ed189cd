"""Full-text search on PostgreSQL reads stored, GIN-indexed search vectors.

Each study keeps its weighted vector (title A; authors and summary B; journal C) and each
outcome its own (what was measured and its figures), as generated columns that PostgreSQL
recomputes whenever a row is written, whoever writes it (the admin, the importer, COPY).
A search then finds its studies through the two indexes instead of parsing every row's
text: ``StudyQuerySet.search`` reads them (studies/querysets.py).

The columns are PostgreSQL's alone: the models do not declare them, so other databases,
fixtures and serialisers never see them. On other databases this migration does nothing.
"""

from django.db import migrations

# (table, expression, index)
VECTORS = [
    (
        "studies_study",
        "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')"
        " || setweight(to_tsvector('english'::regconfig, coalesce(authors::text, '')), 'B')"
        " || setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B')"
        " || setweight(to_tsvector('english'::regconfig, coalesce(journal, '')), 'C')",
        "study_search_idx",
    ),
    (
        "studies_outcome",
        "setweight(to_tsvector('english'::regconfig,"
        " coalesce(name, '') || ' ' || coalesce(figures, '')), 'C')",
        "outcome_search_idx",
    ),
]


def add_vectors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, expression, index in VECTORS:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector"
            f" GENERATED ALWAYS AS ({expression}) STORED"
        )
        schema_editor.execute(f"CREATE INDEX {index} ON {table} USING gin (search_vector)")


def drop_vectors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _, _ in VECTORS:
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")  # and its index


class Migration(migrations.Migration):
    dependencies = [("studies", "0004_facet_index")]

    operations = [migrations.RunPython(add_vectors, drop_vectors, elidable=False)]
