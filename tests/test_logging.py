"""Structured logs: one JSON line a request, errors with their context."""

import json
import logging

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from ldn_catalog.logs import JsonFormatter

pytestmark = pytest.mark.django_db


def broken_view(request):
    raise ZeroDivisionError("division by zero in a view")


urlpatterns = [
    path("ok/", lambda request: HttpResponse("ok")),
    path("broken/", broken_view),
]


@pytest.fixture(autouse=True)
def small_urls(settings):
    settings.ROOT_URLCONF = __name__


def request_lines(caplog):
    return [r for r in caplog.records if r.name == "ldn_catalog.requests"]


def as_json(record):
    return json.loads(JsonFormatter().format(record))


def test_one_json_line_per_request(client, caplog):
    caplog.set_level(logging.INFO, logger="ldn_catalog.requests")
    response = client.get("/ok/?q=x")
    (record,) = request_lines(caplog)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "INFO"
    assert data["logger"] == "ldn_catalog.requests"
    assert data["message"] == "GET /ok/ 200"
    assert data["method"] == "GET"
    assert data["path"] == "/ok/"
    assert data["status"] == 200
    assert isinstance(data["duration_ms"], float)
    assert data["duration_ms"] >= 0
    assert data["request_id"] == response["X-Request-ID"]
    assert len(data["request_id"]) == 32
    assert "user_id" not in data
    assert data["time"].endswith("+00:00")


def test_the_status_logged_is_the_final_one(client, caplog):
    caplog.set_level(logging.INFO, logger="ldn_catalog.requests")
    client.get("/missing/")
    client.post("/ok/", data="x" * 10, content_type="text/plain")
    assert [as_json(r)["status"] for r in request_lines(caplog)] == [404, 200]


def test_a_proxy_request_id_is_kept_if_it_looks_like_one(client, caplog):
    caplog.set_level(logging.INFO, logger="ldn_catalog.requests")
    response = client.get("/ok/", headers={"X-Request-ID": "lb-4f2a9c"})
    assert response["X-Request-ID"] == "lb-4f2a9c"
    hostile = client.get("/ok/", headers={"X-Request-ID": 'x"\n{"level": "CRITICAL"}'})
    assert len(hostile["X-Request-ID"]) == 32
    assert [as_json(r)["request_id"] for r in request_lines(caplog)] == [
        "lb-4f2a9c",
        hostile["X-Request-ID"],
    ]


def test_the_signed_in_user_is_logged(caplog, settings):
    settings.ROOT_URLCONF = "ldn_catalog.urls"
    caplog.set_level(logging.INFO, logger="ldn_catalog.requests")
    user = User.objects.create_superuser("curator", password="not used")
    client = Client()
    client.force_login(user)
    client.get("/admin/")
    (record,) = request_lines(caplog)
    assert as_json(record)["user_id"] == user.pk


def test_errors_are_logged_with_context(caplog):
    client = Client(raise_request_exception=False)
    response = client.get("/broken/")
    assert response.status_code == 500
    (error,) = [r for r in caplog.records if r.name == "django.request"]
    data = as_json(error)
    assert data["level"] == "ERROR"
    assert data["path"] == "/broken/"
    assert data["method"] == "GET"
    assert data["request_id"] == response["X-Request-ID"]
    assert data["status_code"] == 500
    assert data["exception"]["type"] == "builtins.ZeroDivisionError"
    assert data["exception"]["message"] == "division by zero in a view"
    assert "broken_view" in data["exception"]["traceback"]


def test_json_is_the_default_format():
    assert settings.LOG_FORMAT == "json"
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "json"


def test_formatter_copes_with_any_extra():
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "héllo %s", "args": ("\u202e",)}
    )
    record.payload = {"set": {1}, "obj": object()}
    data = as_json(record)
    assert data["message"] == "héllo \u202e"
    assert "payload" in data
