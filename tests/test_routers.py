import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import router, transaction
from django.test import TransactionTestCase
from django_tasks_db.models import DBTaskResult

from ldn_catalog.routers import PrimaryReplicaRouter
from studies.models import Condition, ImportJob, Study
from tests.factories import make_condition

REPLICA_CONFIGURED = "replica" in settings.DATABASES


def in_db(alias):
    return SimpleNamespace(_state=SimpleNamespace(db=alias))


def test_reads_go_to_the_replica_and_writes_to_the_primary():
    routing = PrimaryReplicaRouter()
    assert routing.db_for_read(Study) == "replica"
    assert routing.db_for_write(Study) == "default"


def test_the_task_queue_and_import_jobs_are_read_on_the_primary():
    routing = PrimaryReplicaRouter()
    assert routing.db_for_read(DBTaskResult) == "default"
    assert routing.db_for_read(ImportJob) == "default"


def test_migrations_run_on_the_primary_only():
    routing = PrimaryReplicaRouter()
    assert routing.allow_migrate("default", "studies") is True
    assert routing.allow_migrate("replica", "studies") is False


def test_relations_between_primary_and_replica_objects_are_allowed():
    routing = PrimaryReplicaRouter()
    assert routing.allow_relation(in_db("default"), in_db("replica")) is True
    assert routing.allow_relation(in_db("default"), in_db("elsewhere")) is False


@pytest.mark.skipif(not REPLICA_CONFIGURED, reason="DATABASE_REPLICA_URL is not set")
class ReplicaMirrorTests(TransactionTestCase):
    """Run with DATABASE_REPLICA_URL set: the replica alias mirrors the test database."""

    databases = {"default", "replica"}

    def test_settings_install_the_router(self):
        assert settings.DATABASE_ROUTERS == ["ldn_catalog.routers.PrimaryReplicaRouter"]
        assert settings.DATABASES["replica"]["TEST"]["MIRROR"] == "default"

    def test_a_row_written_to_the_primary_is_read_from_the_replica(self):
        condition = make_condition(name="Fibromyalgia")
        assert router.db_for_write(Condition) == "default"
        read = Condition.objects.get(pk=condition.pk)
        assert read._state.db == "replica"
        assert read.name == "Fibromyalgia"

    def test_reads_inside_a_write_transaction_stay_on_the_primary(self):
        with transaction.atomic():
            condition = make_condition()
            assert Condition.objects.filter(pk=condition.pk).db == "default"
            assert Condition.objects.filter(pk=condition.pk).exists()

    def test_objects_read_from_the_replica_can_be_related_and_saved(self):
        make_condition(slug="psoriasis")
        study = Study.objects.create(title="A study")
        condition = Condition.objects.get(slug="psoriasis")
        assert condition._state.db == "replica"
        study.conditions.add(condition)
        assert list(Study.objects.get(pk=study.pk).conditions.all()) == [condition]


@pytest.mark.slow
@pytest.mark.skipif(REPLICA_CONFIGURED, reason="this is the run with the replica configured")
def test_the_suite_runs_with_a_replica_configured(tmp_path):
    env = dict(os.environ, DATABASE_REPLICA_URL="")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        # Its own test database, so as not to collide with this run's.
        url = env["DATABASE_URL"] = url.rstrip("/") + "_routers"
    # On SQLite, a file of its own outside the checkout (the mirror opens it, empty).
    env["DATABASE_REPLICA_URL"] = url or f"sqlite:///{tmp_path / 'replica-mirror.sqlite3'}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout, result.stdout
