"""Migrations run forward from nothing, back to nothing, and round-trip a curated catalog."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from studies.models import Study
from tests.factories import (
    make_claim,
    make_condition,
    make_effect_summary,
    make_mention,
    make_outcome,
    make_study,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

APP = "studies"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def applied(app=APP):
    executor = MigrationExecutor(connection)
    return sorted(
        name for app_label, name in executor.loader.applied_migrations if app_label == app
    )


def first_migration():
    graph = MigrationExecutor(connection).loader.graph
    return min(name for app_label, name in graph.nodes if app_label == APP)


def catalog_rows(columns_of=None):
    """Every row of the app's tables, column by column, but for the search vectors that
    PostgreSQL derives from the other columns (migration 0005), the search index that
    triggers derive from them (migration 0010: the tests search it instead) and the
    versions, which count writes and start again at 1 when their migration is unapplied and
    reapplied. With ``columns_of`` (an earlier result), only the tables and columns that
    result has."""
    parts = ("data", "idx", "docsize", "config", "content")
    shadow = {f"{APP}_search", *(f"{APP}_search_{part}" for part in parts)}
    # The catalog revision is not curated data: every migration bumps it.
    shadow.add(f"{APP}_catalogrevision")
    tables = sorted(
        t
        for t in connection.introspection.table_names()
        if t.startswith(f"{APP}_") and t not in shadow
    )
    rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            if columns_of is not None and table not in columns_of:
                continue
            # By name: SQLite rebuilds a table with a migrated column last.
            names = sorted(
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
                if column.name not in ("search_vector", "version")
                and (columns_of is None or column.name in columns_of[table][0])
            )
            columns = ", ".join(connection.ops.quote_name(name) for name in names)
            cursor.execute(f"SELECT {columns} FROM {connection.ops.quote_name(table)}")
            rows[table] = (names, sorted(cursor.fetchall(), key=repr))
    return rows


def build_catalog():
    condition = make_condition()
    study = make_study(conditions=[condition], year=2020, doi="10.1000/xyz", sample_size=40)
    study.title = "Edited title"
    study.save()
    make_outcome(study, condition=condition)
    make_effect_summary(study, condition)
    make_mention(study)
    make_claim(study)
    make_study(design="registered_trial", registry_id="NCT01234567")


def test_every_project_migration_can_be_reversed():
    graph = MigrationExecutor(connection).loader.graph
    irreversible = [
        f"{app_label}.{name}: {operation.describe()}"
        for (app_label, name), migration in graph.nodes.items()
        if app_label == APP
        for operation in migration.operations
        if not operation.reversible
    ]
    assert irreversible == []


def test_forward_from_zero_and_back_with_a_catalog():
    all_migrations = applied()
    assert all_migrations

    migrate([(APP, None)])
    assert applied() == []
    assert not any(t.startswith(f"{APP}_") for t in connection.introspection.table_names())

    migrate(latest())
    assert applied() == all_migrations

    build_catalog()
    before = catalog_rows()
    assert before["studies_study"] and before["studies_historicalstudy"]

    # Back to the first migration and forward again: the curated rows come through intact.
    migrate([(APP, first_migration())])
    migrate(latest())
    assert catalog_rows() == before
    assert Study.objects.search("edited title").get().doi == "10.1000/xyz"
    # Created, conditions set, title edited.
    assert Study.objects.get(title="Edited title").history.count() == 3

    # All the way down with data in the tables, and up again for the next test.
    migrate([(APP, None)])
    assert applied() == []
    migrate(latest())
    assert applied() == all_migrations


def test_forward_on_a_database_holding_the_curated_catalog():
    # The fixture is written for the current models, so it is loaded at the latest migration
    # and the database taken back to the first one: the catalog's rows as the first
    # migration holds them, which every later migration must carry forward unchanged.
    all_migrations = applied()
    call_command("loaddata", "catalog", verbosity=0)
    migrate([(APP, first_migration())])
    before = catalog_rows()
    assert len(before["studies_study"][1]) == 44

    migrate(latest())
    assert applied() == all_migrations
    assert catalog_rows(columns_of=before) == before
    assert Study.objects.filter(evidence_level=1).exists()
    # Rows already there are searchable (on PostgreSQL, through the vectors 0005 adds).
    assert Study.objects.search("fibromyalgia").count() >= 5


def test_the_raw_sql_indexes_survive_the_table_rebuilds():
    # SQLite rebuilds the study table to add a stored generated column (0008), dropping
    # the indexes 0003 and 0006 create in raw SQL; 0008 puts them back.
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, "studies_study"))
    assert {"study_newest_idx", "study_level_order_idx", "study_dose_band_idx"} <= names


def test_the_postgresql_list_indexes():
    # 0016 adds covering indexes for the list's counts and the suggestions on PostgreSQL
    # only (benchmarks/README.md, "PostgreSQL at 1,000,000 studies").
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, "studies_study"))
        names |= set(connection.introspection.get_constraints(cursor, "studies_study_conditions"))
    ours = {"study_facet_cover_idx", "study_journal_idx", "study_condition_study_idx"}
    if connection.vendor == "postgresql":
        assert ours <= names
    else:
        assert not ours & names
