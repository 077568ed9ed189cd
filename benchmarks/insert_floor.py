"""The database's share of an import: the floor the importer's writes are measured against.

``written_rows`` reads back, after an import, every row it wrote to the four tables an
import writes (studies, their history records, their condition links and the links'
history); ``insert_floor`` writes those same rows again, into the same tables, with one
``executemany`` a table in one transaction: no Python work per record but handing the
values to the driver. The search index is written as the import writes it
(``search_index.refreshed_once``: on SQLite the triggers paused and each new study's
search row written once at the end; on PostgreSQL the statement triggers), and every index
and constraint runs as it does for the import, so the floor is what the database itself
costs. ``empty_catalog`` removes all four tables' rows by plain SQL.

Import after django.setup().
"""

from django.db import connection, transaction

from studies import search_index
from studies.models import Study

TABLES = [
    Study,
    Study.history.model,
    Study.conditions.through,
    Study.history.model.conditions.model,
]


def _columns(model):
    return [f.column for f in model._meta.concrete_fields if not f.generated]


def written_rows():
    """[(model, columns, rows)] of the four tables, in the order they are written."""
    tables = []
    with connection.cursor() as cursor:
        for model in TABLES:
            columns = _columns(model)
            quote = connection.ops.quote_name
            cursor.execute(
                f"SELECT {', '.join(map(quote, columns))} FROM {quote(model._meta.db_table)}"
            )
            tables.append((model, columns, cursor.fetchall()))
    return tables


def insert_floor(tables):
    """Write ``tables`` (from written_rows) back, by executemany, in one transaction."""
    quote = connection.ops.quote_name
    (_, columns, studies), *_ = tables
    study_ids = [row[columns.index("id")] for row in studies]
    with (
        transaction.atomic(),
        search_index.refreshed_once(connection.alias, study_ids),
        connection.cursor() as cursor,
    ):
        for model, columns, rows in tables:
            if rows:
                cursor.executemany(
                    f"INSERT INTO {quote(model._meta.db_table)} "
                    f"({', '.join(map(quote, columns))}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})",
                    rows,
                )


def empty_catalog():
    """Every study, link and history row gone, by plain SQL (deleting 10,000 studies through
    the ORM, which records each deletion in history, took longer than importing them)."""
    with connection.cursor() as cursor:
        for model in reversed(TABLES):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
