"""Oversized requests are refused with a clear message, not a 500."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_limits_are_set_on_purpose(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 5 * 1024 * 1024
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 2000
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 10
    assert settings.REQUEST_MAX_BODY_BYTES == 25 * 1024 * 1024


def test_a_body_over_the_overall_limit_is_refused_unread(client, settings):
    settings.REQUEST_MAX_BODY_BYTES = 1000
    response = client.post("/admin/login/", data="x" * 1001, content_type="text/plain")
    assert response.status_code == 413
    body = response.content.decode()
    assert "Request too large" in body
    assert "Traceback" not in body


def test_a_form_over_the_field_limit_is_refused(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client(raise_request_exception=False)
    response = client.post("/admin/login/", {"username": "x" * 2000, "password": "y"})
    assert response.status_code == 413
    body = response.content.decode()
    assert "larger than the catalog accepts" in body
    assert "Traceback" not in body


def test_too_many_fields_is_a_clean_400(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    client = Client(raise_request_exception=False)
    response = client.post("/admin/login/", {f"f{n}": "x" for n in range(20)})
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_a_lying_content_length_is_not_an_error(client):
    response = client.post(
        "/admin/login/", data="", content_type="text/plain", CONTENT_LENGTH="not a number"
    )
    assert response.status_code < 500
