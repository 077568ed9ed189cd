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
import os
import subprocess

from django.apps import apps
from django.core import serializers
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction

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
            app_list[app_config].extend(app_config.get_models())
    return serializers.sort_dependencies(app_list.items())


def backup_json(path, using=DEFAULT_DB_ALIAS):
    # Primary keys are kept (history rows refer to their object by id); foreign keys to
    # content types and permissions are written as natural keys, since their ids differ
    # from one database to the next.
    def objects():
        for model in dumped_models():
            yield from model._base_manager.using(using).order_by("pk").iterator()

    with open(path, "w", encoding="utf-8") as f:
        serializers.get_serializer("json")().serialize(
            objects(),
            stream=f,
            indent=1,
            use_natural_foreign_keys=True,
            cls=ExactJSONEncoder,
        )


def restore_json(path, using=DEFAULT_DB_ALIAS):
    """Load a JSON backup into an empty, migrated database, in one transaction."""
    from django.contrib.auth.models import Group

    from .models import Condition, Source, Study

    if any(model.objects.using(using).exists() for model in (Study, Condition, Source)):
        raise CommandError(
            "The database already holds a catalog. Restore into an empty, migrated database."
        )
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
