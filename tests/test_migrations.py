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


def catalog_rows():
    """Every row of the app's tables, column by column, but for the search vectors that
    PostgreSQL derives from the other columns (migration 0005)."""
    tables = sorted(t for t in connection.introspection.table_names() if t.startswith(f"{APP}_"))
    rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            columns = [
                connection.ops.quote_name(column.name)
                for column in connection.introspection.get_table_description(cursor, table)
                if column.name != "search_vector"
            ]
            cursor.execute(
                f"SELECT {', '.join(columns)} FROM {connection.ops.quote_name(table)} ORDER BY 1"
            )
            rows[table] = cursor.fetchall()
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
    # Created, conditions set, title edited.
    assert Study.objects.get(title="Edited title").history.count() == 3

    # All the way down with data in the tables, and up again for the next test.
    migrate([(APP, None)])
    assert applied() == []
    migrate(latest())
    assert applied() == all_migrations


def test_forward_on_a_database_holding_the_curated_catalog():
    all_migrations = applied()
    # The fixture is loaded with today's models (loaddata has no other), then taken down
    # to the first migration: what comes up again must be what was loaded.
    call_command("loaddata", "catalog", verbosity=0)
    before = catalog_rows()
    assert len(before["studies_study"]) == 44
    migrate([(APP, first_migration())])

    migrate(latest())
    assert applied() == all_migrations
    assert catalog_rows() == before
    assert Study.objects.filter(evidence_level=1).exists()
    # Rows already there are searchable (on PostgreSQL, through the vectors 0005 adds).
    assert Study.objects.search("fibromyalgia").count() >= 5
