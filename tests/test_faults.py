"""Faults: the database goes away, or a connection is cut, and the site copes and recovers.

Requests go through Django's WSGI handler, as under gunicorn, so that the connection
housekeeping between requests (request_started/finished) runs as in production; the test
client switches it off.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from io import BytesIO
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import DatabaseError, IntegrityError, OperationalError, connection, connections
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from studies.importers import import_bibtex
from studies.models import Study
from tests.factories import make_condition, make_study

pytestmark = pytest.mark.django_db(transaction=True)

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs a PostgreSQL server"
)


def wsgi_get(path):
    """GET through the WSGI handler: (status code, headers, body)."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(b""),
        "wsgi.errors": BytesIO(),
    }
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"] = int(status.split()[0])
        started["headers"] = dict(headers)

    response = WSGIHandler()(environ, start_response)
    body = b"".join(response)
    response.close()  # sends request_finished, as a WSGI server does
    return started["status"], started["headers"], body.decode()


def assert_plain_503(status, headers, body):
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Temporarily unavailable" in body
    assert "Traceback" not in body
    assert "OperationalError" not in body
    # Still a page of this site: the security headers are on it.
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def database_error(*args, **kwargs):
    driver_error = (
        psycopg.OperationalError if connection.vendor == "postgresql" else sqlite3.OperationalError
    )
    raise driver_error("could not connect to server: Connection refused")


def test_public_pages_answer_503_while_the_database_fails_and_recover():
    study = make_study()
    pages = ["/", study.get_absolute_url()]
    with mock.patch.object(
        type(connections["default"]), "create_cursor", side_effect=database_error
    ):
        for page in pages:
            assert_plain_503(*wsgi_get(page))
    for page in pages:
        status, _, _ = wsgi_get(page)
        assert status == 200, page


def test_the_outage_is_logged_with_context(caplog):
    with mock.patch.object(
        type(connections["default"]), "create_cursor", side_effect=database_error
    ):
        wsgi_get("/")
    (record,) = [r for r in caplog.records if r.name == "ldn_catalog.errors"]
    assert record.levelname == "ERROR"
    assert record.getMessage() == "Database unavailable: /"
    assert record.exc_info[0] is OperationalError
    assert record.request.path == "/"
    assert record.request.request_id


class BrokenSessionMiddleware:
    """Fails the way session or user loading does when the database is down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise OperationalError("server closed the connection unexpectedly")


def test_a_database_error_outside_the_view_is_a_503_too(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.BrokenSessionMiddleware"]
    client = Client(raise_request_exception=False)
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Temporarily unavailable" in response.content.decode()


def failing_view(request):
    raise ValueError("a bug, not an outage")


urlpatterns = [path("bug/", failing_view), path("fine/", lambda request: HttpResponse("fine"))]


def test_other_errors_stay_a_plain_500(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/bug/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "a bug, not an outage" not in body
    assert "Traceback" not in body


def database_settings(**env):
    """The default database's settings as a new process with ``env`` reads them."""
    environment = {k: v for k, v in os.environ.items() if k not in {"CONN_MAX_AGE", "DATABASE_URL"}}
    environment.update(DJANGO_SETTINGS_MODULE="ldn_catalog.settings", SECRET_KEY="x", **env)
    code = (
        "from django.conf import settings;"
        " print(repr(settings.DATABASES['default']['CONN_MAX_AGE']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.slow
def test_a_worker_keeps_its_sqlite_connection_unless_told_otherwise(tmp_path):
    # Opening the file again would cost every request SQLite's reading of the schema.
    sqlite = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert database_settings(DATABASE_URL=sqlite) == "None"
    assert database_settings(DATABASE_URL=sqlite, CONN_MAX_AGE="0") == "0"
    # A server's connections are its to count: PostgreSQL keeps the documented default.
    postgres = "postgres://postgres@127.0.0.1:5432/ldn"
    assert database_settings(DATABASE_URL=postgres) == "0"
    assert database_settings(DATABASE_URL=postgres, CONN_MAX_AGE="60") == "60"


# PostgreSQL: real broken connections, without stopping the shared server.


@pytest.fixture
def persistent_connection():
    """Keep connections between requests, as production does with CONN_MAX_AGE."""
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 600
    connection.close()
    yield
    connection.settings_dict["CONN_MAX_AGE"] = saved
    connection.close()


def backend_pid():
    return connection.connection.info.backend_pid


def terminate_backend(pid):
    """Cut a connection from the server side, as a restart or a failover does."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as admin:
        terminated = admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    assert terminated


@on_postgresql
@pytest.mark.usefixtures("persistent_connection")
def test_a_terminated_connection_is_replaced_on_the_next_request():
    make_study()
    assert wsgi_get("/")[0] == 200
    old_pid = backend_pid()
    assert wsgi_get("/")[0] == 200
    assert backend_pid() == old_pid  # the same connection served both requests

    terminate_backend(old_pid)

    # The health check before the first query finds the connection dead and reconnects.
    assert wsgi_get("/")[0] == 200
    assert backend_pid() != old_pid


@on_postgresql
@pytest.mark.usefixtures("persistent_connection")
def test_without_health_checks_one_request_fails_cleanly_then_the_site_recovers():
    make_study()
    assert wsgi_get("/")[0] == 200
    connection.health_check_enabled = False  # a connection that dies mid-request
    try:
        terminate_backend(backend_pid())
        assert_plain_503(*wsgi_get("/"))
        # The failed request marked the connection; request_finished discarded it.
        assert connection.connection is None
        assert wsgi_get("/")[0] == 200
    finally:
        connection.health_check_enabled = True


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@on_postgresql
def test_server_down_gives_503_and_the_site_recovers_when_it_returns():
    make_study()
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port()  # nothing listens here: "server down"
    try:
        assert_plain_503(*wsgi_get("/"))
        assert_plain_503(*wsgi_get("/"))
    finally:
        connection.settings_dict["PORT"] = real_port
    assert wsgi_get("/")[0] == 200


# An import that fails half-way leaves the database exactly as it was.

IMPORT_SIZE = 600  # more than one of the importer's batches of 500


def many_entries_bib(conditions):
    return "\n".join(
        f"@article{{entry{n},\n  title = {{Low-dose naltrexone trial number {n}}},\n"
        f"  author = {{Author, A{n} and Other, B}},\n  year = {{{2000 + n % 25}}},\n"
        f"  doi = {{10.5555/ldn.{n}}},\n  keywords = {{{conditions[n % len(conditions)]}}}\n}}\n"
        for n in range(IMPORT_SIZE)
    )


def database_dump():
    """Every row of every table, sorted: what "exactly as it was" is compared against."""
    dump = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump[table] = sorted(cursor.fetchall(), key=repr)
    return dump


def fail_on_nth(marker, n):
    """An execute_wrapper that raises a database error on the nth statement holding marker."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        if marker in sql:
            seen.append(sql)
            if len(seen) == n:
                raise DatabaseError(f"injected failure at statement {n} holding {marker}")
        return execute(sql, params, many, context)

    return wrapper, seen


@pytest.fixture
def catalog_before_import():
    conditions = [make_condition(name="Fibromyalgia"), make_condition(name="Crohn's disease")]
    make_study(conditions=conditions, title="Already in the catalog", doi="10.5555/existing")
    Study.objects.filter(title="Already in the catalog").update(summary="edited")
    text = many_entries_bib([c.name for c in conditions])
    return text, database_dump()


# Each point where a write can fail: the second batch of studies, their history, the
# history of the conditions, and the conditions (each written in batches of 500 studies).
INJECTED = [
    ('INSERT INTO "studies_study" ', 2),
    ('INSERT INTO "studies_historicalstudy" ', 2),
    ('INTO "studies_historicalstudy_conditions"', 2),
    ('INTO "studies_study_conditions"', 2),
]


@pytest.mark.slow
@pytest.mark.parametrize(("marker", "n"), INJECTED)
def test_an_import_failing_half_way_leaves_the_database_as_it_was(catalog_before_import, marker, n):
    text, before = catalog_before_import
    wrapper, seen = fail_on_nth(marker, n)
    with connection.execute_wrapper(wrapper), pytest.raises(DatabaseError, match="injected"):
        import_bibtex(text, file_name="many.bib")
    assert len(seen) == n  # the failure came part-way through the writes, not before them
    assert database_dump() == before


@pytest.mark.slow
def test_without_a_fault_the_same_file_imports_in_full(catalog_before_import):
    text, before = catalog_before_import
    report = import_bibtex(text, file_name="many.bib")
    assert len(report.created) == IMPORT_SIZE
    assert Study.objects.count() == IMPORT_SIZE + 1
    assert database_dump() != before


def test_a_constraint_violation_half_way_leaves_the_database_as_it_was(catalog_before_import):
    text, before = catalog_before_import
    real_unique_slug = Study.unique_slug
    calls = []

    def colliding_slug(study, taken):
        # The 550th new study is given the slug of the first: the unique constraint refuses it.
        calls.append(real_unique_slug(study, taken))
        return calls[0] if len(calls) == 550 else calls[-1]

    with (
        mock.patch.object(Study, "unique_slug", colliding_slug),
        pytest.raises(IntegrityError),
    ):
        import_bibtex(text, file_name="many.bib")
    assert database_dump() == before


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock")
def test_a_write_on_sqlite_waits_for_an_import_holding_the_write_lock(tmp_path):
    """An import holds SQLite's one write lock while it writes a file's studies: a sign-in,
    a save or a cancel meanwhile waits for it, past SQLite's own 5 seconds, after which it
    failed ("database is locked", shown as the database unavailable)."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    path = tmp_path / "catalog.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE sign_in (at REAL)")
    importer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    importer.execute("BEGIN IMMEDIATE")  # the import's transaction, writing
    finished = threading.Timer(6, importer.execute, ["COMMIT"])
    finished.start()
    site = DatabaseWrapper({**connection.settings_dict, "NAME": str(path)}, alias="site")
    try:
        started = time.monotonic()
        with site.cursor() as cursor:
            cursor.execute("INSERT INTO sign_in VALUES (1)")
        assert time.monotonic() - started > 5
        with site.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sign_in")
            assert cursor.fetchone() == (1,)
    finally:
        finished.join()
        site.close()
        importer.close()
