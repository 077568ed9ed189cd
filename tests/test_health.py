"""/healthz: says whether the database and the cache work, and what is wrong if not."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

pytestmark = pytest.mark.django_db


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "checks": {"database:default": "ok", "cache": "ok"}}


def test_never_cached(client):
    response = client.get("/healthz")
    assert "no-store" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


def test_only_get_and_head(client):
    assert client.post("/healthz").status_code == 405
    head = client.head("/healthz")
    assert head.status_code == 200
    assert head.content == b""
    assert head["Content-Type"] == "application/json"


def test_database_down(client):
    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 10.1.2.3 failed: Connection refused")

    with mock.patch.object(type(connections["default"]), "create_cursor", side_effect=refuse):
        response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert response.json()["status"] == "error"
    assert checks["database:default"] == "unavailable (OperationalError)"
    assert checks["cache"] == "ok"
    # The server's address stays in the log, out of the public answer.
    assert "10.1.2.3" not in response.content.decode()


def test_unapplied_migrations(client):
    app, latest = MigrationLoader(connections["default"]).graph.leaf_nodes("studies")[0]
    MigrationRecorder(connections["default"]).record_unapplied(app, latest)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database:default"] == (
        f"unapplied migrations: studies.{latest}"
    )


def test_cache_losing_values_is_degraded_not_down(client):
    with mock.patch.object(cache, "get", return_value=None):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database:default": "ok", "cache": "degraded"},
    }


def test_cache_raising_is_degraded_not_down(client):
    with mock.patch.object(cache, "set", side_effect=ConnectionError("redis is down")):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["cache"] == "degraded"


def test_database_down_with_the_cache_down_is_an_error(client):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with (
        mock.patch.object(type(connections["default"]), "create_cursor", side_effect=refuse),
        mock.patch.object(cache, "get", return_value=None),
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
