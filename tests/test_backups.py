"""Backup and restore drill: a backup restored into an empty database holds every record
and every history entry of the original, compared row by row."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.serializers.base import DeserializationError
from django.db import connection
from django.db.utils import load_backend

from studies import backups
from studies.models import Study
from tests.factories import (
    make_claim,
    make_condition,
    make_effect_summary,
    make_mention,
    make_outcome,
    make_source,
    make_study,
)

BASE_DIR = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs a PostgreSQL server"
)


def build_catalog():
    """A small catalog with a history of edits by a curator, as the real one has."""
    curator = User.objects.create_user("curator", password="a long passphrase", is_staff=True)
    group, _ = Group.objects.get_or_create(name="Curators")
    group.permissions.set(Permission.objects.filter(content_type__app_label="studies"))
    curator.groups.add(group)
    curator.user_permissions.add(Permission.objects.get(codename="view_user"))

    pain, ms = make_condition(name="Fibromyalgia"), make_condition(name="Multiple sclerosis")
    source = make_source(title="A blog", text="full text é ✓")
    study = make_study(
        conditions=[pain],
        title='<script>alert(1)</script> LDN & pain: "quoted" \u202e',
        year=2013,
        authors=["Younger J", "Noor N"],
        doi="10.1002/art.37734",
        dose_min_mg="1.50",
        dose_max_mg="4.50",
        sample_size=31,
    )
    study._history_user = curator
    study.summary = "Edited by the curator."
    study.save()
    study.conditions.add(ms)
    make_outcome(study, condition=pain, source=source, value="-0.3125", p_value="0.0100")
    make_effect_summary(study, pain)
    make_mention(study, source)
    make_claim(study, source)
    gone = make_study(title="Withdrawn record")
    gone.delete()
    make_study(design="registered_trial", registry_id="NCT01234567", status="ongoing")
    LogEntry.objects.log_actions(
        user_id=curator.pk, queryset=[study], action_flag=CHANGE, change_message="Edited"
    )


def catalog_tables():
    """(table, columns to compare) for every table a backup must restore."""
    models = [
        *apps.get_app_config("studies").get_models(include_auto_created=True),
        User,
        Group,
        User.groups.through,
    ]
    tables = {}
    for model in models:
        if model._meta.label == "studies.CatalogRevision":
            continue  # bookkeeping, not data: a restore starts a new revision
        columns = [f.column for f in model._meta.local_concrete_fields]
        if model._meta.auto_created:
            # A many-to-many row is its pair of ids; its own id is not data.
            columns = [c for c in columns if c != model._meta.pk.column]
        tables[model._meta.db_table] = columns
    return sorted(tables.items())


# Tables whose rows point at content types or permissions, compared by natural key.
NATURAL_QUERIES = {
    "group permissions": """
        SELECT g.name, ct.app_label, p.codename FROM auth_group_permissions gp
        JOIN auth_group g ON g.id = gp.group_id
        JOIN auth_permission p ON p.id = gp.permission_id
        JOIN django_content_type ct ON ct.id = p.content_type_id ORDER BY 1, 2, 3""",
    "user permissions": """
        SELECT u.username, ct.app_label, p.codename FROM auth_user_user_permissions up
        JOIN auth_user u ON u.id = up.user_id
        JOIN auth_permission p ON p.id = up.permission_id
        JOIN django_content_type ct ON ct.id = p.content_type_id ORDER BY 1, 2, 3""",
    "admin log": """
        SELECT l.id, l.action_time, l.user_id, ct.app_label, ct.model, l.object_id,
               l.object_repr, l.action_flag, l.change_message
        FROM django_admin_log l LEFT JOIN django_content_type ct ON ct.id = l.content_type_id
        ORDER BY l.id""",
}


def snapshot(conn):
    """Every row of every catalog table, as the database returns them."""
    rows = {}
    with conn.cursor() as cursor:
        for table, columns in catalog_tables():
            names = ", ".join(conn.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {names} FROM {conn.ops.quote_name(table)} ORDER BY {names}")
            rows[table] = cursor.fetchall()
        for name, sql in NATURAL_QUERIES.items():
            cursor.execute(sql)
            rows[name] = cursor.fetchall()
    return rows


def open_database(name):
    """A connection of the test's own backend to another database."""
    settings_dict = {**connection.settings_dict, "NAME": name}
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias="restored")


def manage(*args, database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    env.pop("DEBUG", None)
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def empty_database(tmp_path):
    """(name, url) of a new, empty database, dropped afterwards."""
    if connection.vendor == "sqlite":
        path = tmp_path / "restored.sqlite3"
        yield str(path), f"sqlite:///{path}"
        return
    params = connection.get_connection_params()
    name = f"ldn_ops_restore_{uuid.uuid4().hex[:12]}"  # this helper's databases only
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}"
        f"@{settings_dict['HOST']}:{settings_dict['PORT']}/{name}"
    )
    yield name, url
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def assert_same_catalog(name):
    original = snapshot(connection)
    restored_connection = open_database(name)
    try:
        restored = snapshot(restored_connection)
    finally:
        restored_connection.close()
    for table, rows in original.items():
        assert restored[table] == rows, table
    # The drill compares something real: history with edits and a deletion.
    assert len(original["studies_historicalstudy"]) >= 6
    assert set(Study.history.values_list("history_type", flat=True)) == {"+", "~", "-"}
    assert Study.history.filter(history_user__username="curator").exists()


def test_json_backup_restores_every_record_and_history_entry(tmp_path, empty_database):
    build_catalog()
    dump = tmp_path / "catalog.json"
    call_command("backup_catalog", str(dump), format="json")
    name, url = empty_database
    manage("migrate", "--noinput", database_url=url)
    out = manage("restore_catalog", str(dump), database_url=url)
    assert "Restored the catalog" in out
    assert_same_catalog(name)
    # New records after a restore get fresh ids, not ones the restored rows hold.
    restored_connection = open_database(name)
    with restored_connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM studies_study")
        highest = cursor.fetchone()[0]
    restored_connection.close()
    manage(
        "shell",
        "-c",
        "from tests.factories import make_study; "
        f"assert make_study(title='After restore').pk > {highest}",
        database_url=url,
    )


@on_postgresql
def test_pg_backup_restores_every_record_and_history_entry(tmp_path, empty_database):
    build_catalog()
    dump = tmp_path / "catalog.pgdump"
    call_command("backup_catalog", str(dump), format="pg")
    assert dump.read_bytes().startswith(b"PGDMP")
    name, url = empty_database
    manage("restore_catalog", str(dump), database_url=url)
    assert_same_catalog(name)


def test_json_restore_refuses_a_database_holding_a_catalog(tmp_path):
    build_catalog()
    dump = tmp_path / "catalog.json"
    backups.backup_json(dump)
    studies = Study.objects.count()
    with pytest.raises(CommandError, match="already holds a catalog"):
        backups.restore_json(dump)
    assert Study.objects.count() == studies


@pytest.mark.skipif(connection.vendor == "postgresql", reason="pg works here")
def test_pg_format_needs_postgresql(tmp_path):
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("backup_catalog", str(tmp_path / "x"), format="pg")


def test_a_restore_that_fails_half_way_leaves_the_database_as_it_was(tmp_path):
    build_catalog()
    dump = tmp_path / "catalog.json"
    backups.backup_json(dump)
    records = json.loads(dump.read_text())
    # Empty the catalog, then break the last study record of the backup.
    call_command("flush", interactive=False, verbosity=0)
    last_study = max(i for i, r in enumerate(records) if r["model"] == "studies.study")
    records[last_study]["fields"]["year"] = "not a year"
    for record in records:  # its history too, or the restore refuses it before writing
        history = record["model"] == "studies.historicalstudy"
        if history and record["fields"]["id"] == records[last_study]["pk"]:
            record["fields"]["year"] = "not a year"
    dump.write_text(json.dumps(records))
    before = snapshot(connection)

    with pytest.raises(DeserializationError):
        backups.restore_json(dump)

    assert snapshot(connection) == before
    assert not Study.objects.exists() and not Study.history.exists()


# A backup is one snapshot; a restore refuses a dump that is not.


def _this_database_url():
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    return (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}"
        f"@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    )


EDITOR = """
import os, time
from pathlib import Path
from django.db import OperationalError
from studies.models import Condition
from tests.factories import make_study
study = make_study(title="Edited during the backup", slug="edited-during", summary="version 0")
print(study.pk, flush=True)
edits, stop = 0, Path(os.environ["STOP_FILE"])
while not stop.exists():
    try:
        edits += 1
        study.summary = f"version {edits}"
        study.save()
        study.conditions.set(
            [Condition.objects.create(name=f"Editor {edits}", slug=f"editor-{edits}")]
        )
    except OperationalError:  # SQLite: locked by the backup's read for a moment
        time.sleep(0.01)
print(edits, flush=True)
"""


def _backup_while_another_process_edits(tmp_path, url):
    """Start editing a study in one process, take a JSON backup in another; return
    (dump, study id, edits made)."""
    dump, stop = tmp_path / "during.json", tmp_path / "stop"
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "STOP_FILE": str(stop)}
    editor = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", EDITOR],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    study_id = int(editor.stdout.readline())
    manage("backup_catalog", str(dump), "--format", "json", database_url=url)
    stop.touch()
    edits = int(editor.stdout.readline())
    assert editor.wait() == 0
    return dump, study_id, edits


def test_a_backup_taken_while_curators_edit_restores_consistently(tmp_path, empty_database):
    if connection.vendor == "sqlite":  # the suite's database is in memory: use a file
        url = f"sqlite:///{tmp_path / 'edited.sqlite3'}"
        manage("migrate", "--noinput", database_url=url)
    else:
        url = _this_database_url()
    if connection.vendor == "postgresql":
        build_catalog()
    dump, study_id, edits = _backup_while_another_process_edits(tmp_path, url)
    assert edits >= 2
    name, target = empty_database
    manage("migrate", "--noinput", database_url=target)
    assert "Restored the catalog" in manage("restore_catalog", str(dump), database_url=target)
    restored = open_database(name)
    try:
        with restored.cursor() as cursor:
            cursor.execute("SELECT summary FROM studies_study WHERE id = %s", [study_id])
            [summary] = cursor.fetchone()
            cursor.execute(
                "SELECT summary FROM studies_historicalstudy WHERE id = %s "
                "ORDER BY history_date DESC, history_id DESC LIMIT 1",
                [study_id],
            )
            assert cursor.fetchone() == (summary,)
    finally:
        restored.close()


def test_sqlite_backup_is_one_read_transaction(tmp_path, monkeypatch):
    """On SQLite (the suite's database is in memory) the backup runs in one transaction
    that a writer in another thread cannot change while it reads."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's case")
    study = make_study(title="Snapshotted", summary="before")
    seen = []
    real = backups.dumped_models

    def models_then_edit():
        seen.append(connection.in_atomic_block)
        return real()

    monkeypatch.setattr(backups, "dumped_models", models_then_edit)
    dump = tmp_path / "one.json"
    backups.backup_json(dump)
    assert seen == [True]
    records = json.loads(dump.read_text())
    assert any(r["model"] == "studies.study" and r["pk"] == study.pk for r in records)


def _broken(tmp_path, change):
    build_catalog()
    dump = tmp_path / "catalog.json"
    backups.backup_json(dump)
    records = json.loads(dump.read_text())
    change(records)
    dump.write_text(json.dumps(records))
    call_command("flush", interactive=False, verbosity=0)
    return dump


def test_restore_refuses_a_study_newer_than_its_history(tmp_path):
    def newer_summary(records):
        for record in records:
            if record["model"] == "studies.study" and record["fields"]["summary"]:
                record["fields"]["summary"] = "Written after its history was read."

    dump = _broken(tmp_path, newer_summary)
    before = snapshot(connection)
    with pytest.raises(
        CommandError, match=r"inconsistent.*differs from its newest history record in summary"
    ):
        backups.restore_json(dump)
    assert snapshot(connection) == before


def test_restore_refuses_history_links_to_missing_history_records(tmp_path):
    def drop_a_history_record(records):
        links = [r for r in records if r["model"] == "studies.historicalstudy_conditions"]
        target = links[0]["fields"]["history"]
        records[:] = [
            r
            for r in records
            if not (r["model"] == "studies.historicalstudy" and r["pk"] == target)
        ]

    dump = _broken(tmp_path, drop_a_history_record)
    before = snapshot(connection)
    with pytest.raises(
        CommandError, match=r"historicalstudy_conditions \d+: history = \d+ is not in"
    ):
        backups.restore_json(dump)
    assert snapshot(connection) == before


def test_restore_refuses_a_damaged_file(tmp_path):
    dump = tmp_path / "cut.json"
    dump.write_text('[{"model": "studies.study", "pk": 1, "fie')
    with pytest.raises(CommandError, match="is damaged: it is not JSON"):
        backups.restore_json(dump)
    dump.write_text('{"not": "a list"}')
    with pytest.raises(CommandError, match="not a catalog backup"):
        backups.restore_json(dump)
    assert not Study.objects.exists()
