"""Backups of the catalog and their restore, for `backup_catalog` and `restore_catalog`.

Two formats:

json  A portable dump (a Django fixture) of the catalog: every study, condition, source
      and their relations, every historical record simple-history keeps of them, the
      accounts that made those records and the admin's log of curators' actions. It
      restores into an empty, migrated database on any backend.
pg    ``pg_dump --format=custom`` of the whole database, restored with ``pg_restore``:
      the fast, exact copy when the catalog runs on PostgreSQL.

Either holds password hashes: keep backups where the database itself is kept.
"""

import datetime
import json
import os
import subprocess
from collections import defaultdict
from contextlib import contextmanager

from django.apps import apps
from django.contrib.auth.models import Group
from django.core import serializers
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .caching import bump_catalog_revision
from .models import Condition, Source, Study

# What the JSON dump holds, in dependency order. "studies" includes the historical
# models (HistoricalStudy, HistoricalStudy_conditions, ...): they live in the same app.
JSON_LABELS = ["auth.group", "auth.user", "studies", "admin.logentry"]
PG_MAGIC = b"PGDMP"


def backup(path, fmt, using=DEFAULT_DB_ALIAS):
    if fmt == "json":
        backup_json(path, using)
    elif fmt == "pg":
        backup_pg(path, using)
    else:
        raise CommandError(f"Unknown backup format {fmt!r}: use json or pg.")


def restore(path, using=DEFAULT_DB_ALIAS):
    """Restore a backup, telling the format from the file's first bytes."""
    with open(path, "rb") as f:
        start = f.read(len(PG_MAGIC))
    if start == PG_MAGIC:
        restore_pg(path, using)
    else:
        restore_json(path, using)


class ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, but keeping microseconds: it rounds times to milliseconds,
    which would change every history entry's date in a round trip."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        return super().default(o)


def dumped_models():
    app_list = {apps.get_app_config(label.split(".")[0]): [] for label in JSON_LABELS}
    for label in JSON_LABELS:
        app_label, _, model_name = label.partition(".")
        app_config = apps.get_app_config(app_label)
        if model_name:
            app_list[app_config].append(app_config.get_model(model_name))
        else:
            # Not the search index (studies.SearchDocument): its triggers rebuild it; nor
            # the catalog revision, which is bookkeeping: a restore starts a new one.
            app_list[app_config].extend(
                m
                for m in app_config.get_models()
                if m._meta.managed and m._meta.label != "studies.CatalogRevision"
            )
    return serializers.sort_dependencies(app_list.items())


def backup_json(path, using=DEFAULT_DB_ALIAS):
    # Primary keys are kept (history rows refer to their object by id); foreign keys to
    # content types and permissions are written as natural keys, since their ids differ
    # from one database to the next.
    def objects():
        for model in dumped_models():
            yield from model._base_manager.using(using).order_by("pk").iterator()

    with open(path, "w", encoding="utf-8") as f, snapshot(using):
        serializers.get_serializer("json")().serialize(
            objects(),
            stream=f,
            indent=1,
            use_natural_foreign_keys=True,
            cls=ExactJSONEncoder,
        )


@contextmanager
def snapshot(using=DEFAULT_DB_ALIAS):
    """One read transaction that sees every table as of the same moment.

    PostgreSQL: READ ONLY, REPEATABLE READ (every query sees the snapshot of the first).
    SQLite: one transaction; its first read fixes what the rest see (WAL) or holds a shared
    lock that keeps writers from committing until it ends (rollback journal).
    """
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def restore_json(path, using=DEFAULT_DB_ALIAS):
    """Load a JSON backup into an empty, migrated database, in one transaction."""
    if any(model.objects.using(using).exists() for model in (Study, Condition, Source)):
        raise CommandError(
            "The database already holds a catalog. Restore into an empty, migrated database."
        )
    check_dump(path)
    with open(path, encoding="utf-8") as f, transaction.atomic(using=using):
        # Migrations create groups (Curators); the backup holds them as they were.
        Group.objects.using(using).all().delete()
        models = set()
        deferred = []
        for obj in serializers.deserialize("json", f, using=using, handle_forward_references=True):
            # Loading sets many-to-many relations, which simple-history would otherwise
            # record as fresh changes: the history comes from the backup instead.
            obj.object.skip_history_when_saving = True
            obj.save(using=using)
            models.add(type(obj.object))
            if obj.deferred_fields:
                deferred.append(obj)
        for obj in deferred:
            obj.save_deferred_fields(using=using)
        reset_sequences(models, using)
        bump_catalog_revision(using)  # the restored catalog is a new revision


def check_dump(path, limit=10):
    """Refuse a JSON backup that is damaged or inconsistent, before anything is written.

    Checked: it is a list of records of known models; every foreign key and many-to-many
    value that the database would enforce points at a record of the dump (the history's
    links to their history records included); and each record with a history matches its
    newest history record (a backup read table by table while curators edit does not).
    """
    try:
        with open(path, encoding="utf-8") as f:
            records = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"The backup {path} is damaged: it is not JSON ({error}).") from error
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and {"model", "fields"} <= r.keys() for r in records
    ):
        raise CommandError(f"The backup {path} is not a catalog backup written by backup_catalog.")
    dumped = {model._meta.label_lower: model for model in dumped_models()}
    by_model = defaultdict(dict)
    for record in records:
        if record["model"] not in dumped:
            raise CommandError(
                f"The backup {path} holds records of an unknown model, {record['model']}."
            )
        by_model[record["model"]][record.get("pk")] = record["fields"]
    problems = _dangling_references(dumped, by_model) + _history_mismatches(dumped, by_model)
    if problems:
        shown = "; ".join(problems[:limit])
        more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
        raise CommandError(
            f"The backup {path} is inconsistent, so nothing was restored: {shown}{more}. "
            "Take a new backup (backup_catalog reads every table in one snapshot)."
        )


def _dangling_references(dumped, by_model):
    problems = []
    for label, records in by_model.items():
        model = dumped[label]
        for field in model._meta.get_fields():
            if not (field.many_to_many or field.many_to_one) or field.auto_created:
                continue
            if field.many_to_one and not field.db_constraint and field.name != "history":
                # A history's copy of a key may name a record deleted since; a history
                # link row's own record (simple-history's "history" key) may not.
                continue
            target = field.related_model._meta.label_lower
            if target not in by_model and target not in dumped:
                continue  # content types and permissions: natural keys, not in the dump
            known = by_model.get(target, {})
            for pk, fields in records.items():
                values = fields.get(field.name)
                values = values if field.many_to_many else [values]
                for value in values or []:
                    if isinstance(value, int | str) and value not in known:
                        problems.append(
                            f"{label} {pk}: {field.name} = {value} is not in the backup"
                        )
    return problems


def _history_mismatches(dumped, by_model):
    problems = []
    for label, model in dumped.items():
        history = getattr(model, "history", None)
        if history is None or not hasattr(history, "model") or label not in by_model:
            continue
        newest = {}
        for history_id, fields in by_model.get(history.model._meta.label_lower, {}).items():
            key = (fields["history_date"], history_id)
            if fields["id"] not in newest or key > newest[fields["id"]][0]:
                newest[fields["id"]] = (key, fields)
        # Not the version or the time of the last change: saving an outcome or a claim
        # bumps its study's version and updated_at without a history record of the study
        # (StudyPart, studies/versions.py).
        compared = [
            f.name
            for f in history.model._meta.concrete_fields
            if not f.name.startswith("history_") and f.name not in ("id", "version", "updated_at")
        ]
        for pk, fields in by_model[label].items():
            if pk not in newest:
                continue  # loaded raw (loaddata): no history to compare
            _, record = newest[pk]
            if record["history_type"] == "-":
                problems.append(f"{label} {pk} exists but its newest history record deletes it")
                continue
            differing = [name for name in compared if fields.get(name) != record.get(name)]
            if differing:
                problems.append(
                    f"{label} {pk} differs from its newest history record in "
                    + ", ".join(differing)
                )
    return problems


def reset_sequences(models, using):
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def require_postgresql(using):
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise CommandError(
            f"The pg format needs PostgreSQL; this database is {connection.vendor}. "
            "Use --format json."
        )
    return connection.settings_dict


def libpq_environment(settings_dict):
    """Connection settings for pg_dump and pg_restore, passed in the environment."""
    env = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    return env


def run(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CommandError(f"{command[0]} failed: {result.stderr.strip()}")


def backup_pg(path, using=DEFAULT_DB_ALIAS):
    env = libpq_environment(require_postgresql(using))
    run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path)], env)


def restore_pg(path, using=DEFAULT_DB_ALIAS):
    env = libpq_environment(require_postgresql(using))
    connections[using].close()
    run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            env["PGDATABASE"],
            str(path),
        ],
        env,
    )
    bump_catalog_revision(using)  # pg_restore wrote the revision the backup held
