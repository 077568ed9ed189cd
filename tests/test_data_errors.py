"""Data the database refuses is that request's error (400), never the outage page (503):
ldn_catalog/errors.py tells a connection failure from a refused value."""

import sqlite3

import psycopg
import pytest
from django.db import DataError, IntegrityError, OperationalError, connection
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from ldn_catalog import health
from ldn_catalog.errors import REFUSED, UNAVAILABLE, database_fault
from studies import limits
from tests.factories import make_study
from tests.test_faults import wsgi_get
from tests.test_limits import distinct_words

pytestmark = pytest.mark.django_db(transaction=True)

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs a PostgreSQL server"
)


def wrapped(django_error, driver_error):
    """A driver error as Django raises it: wrapped, the driver's error as its cause."""
    error = django_error(*driver_error.args)
    error.__cause__ = driver_error
    return error


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        # Connection failures: psycopg's own, without a SQLSTATE; the server's 08, 57P0x, 53.
        (wrapped(OperationalError, psycopg.OperationalError("connection refused")), UNAVAILABLE),
        (wrapped(OperationalError, psycopg.errors.AdminShutdown("terminating")), UNAVAILABLE),
        (wrapped(OperationalError, psycopg.errors.CannotConnectNow("starting up")), UNAVAILABLE),
        (wrapped(OperationalError, psycopg.errors.TooManyConnections("full")), UNAVAILABLE),
        (wrapped(OperationalError, psycopg.errors.ConnectionFailure("lost")), UNAVAILABLE),
        (psycopg.InterfaceError("the connection is closed"), UNAVAILABLE),
        (OperationalError("server closed the connection unexpectedly"), UNAVAILABLE),
        # Data the server refuses: 54 program limit exceeded, 22 data exception, 23514.
        (wrapped(OperationalError, psycopg.errors.ProgramLimitExceeded("tsvector")), REFUSED),
        (wrapped(DataError, psycopg.errors.StringDataRightTruncation("too long")), REFUSED),
        (wrapped(IntegrityError, psycopg.errors.CheckViolation("check")), REFUSED),
        # Neither: a bug or contention, the plain 500.
        (wrapped(OperationalError, psycopg.errors.QueryCanceled("timeout")), None),
        (wrapped(IntegrityError, psycopg.errors.UniqueViolation("duplicate")), None),
        (ValueError("not a database error"), None),
    ],
    ids=repr,
)
def test_postgresql_errors(error, fault):
    assert database_fault(error) == fault


def sqlite_error(sql):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a CHECK (length(a) < 2))")
    with pytest.raises(sqlite3.Error) as raised:
        db.execute(sql)
    return raised.value


def test_sqlite_errors():
    check = sqlite_error("INSERT INTO t VALUES ('abc')")
    assert database_fault(wrapped(IntegrityError, check)) == REFUSED
    syntax = sqlite_error("SELEC 1")
    assert database_fault(wrapped(OperationalError, syntax)) is None
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorname = "SQLITE_BUSY"
    assert database_fault(wrapped(OperationalError, locked)) == UNAVAILABLE
    unopened = sqlite3.OperationalError("unable to open database file")
    assert database_fault(wrapped(OperationalError, unopened)) == UNAVAILABLE


def store_a_huge_summary(request):
    # A write that skipped validation: the database's own check refuses it.
    make_study(summary="s" * (limits.SUMMARY_MAX + 1))
    return HttpResponse("stored")


def index_a_huge_text(request):
    # PostgreSQL's tsvector limit, met for real: program_limit_exceeded (54000).
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_tsvector('english', %s)", [distinct_words(2_300_000)])
    return HttpResponse("indexed")


handler500 = "ldn_catalog.errors.handler500"
urlpatterns = [
    path("huge-summary/", store_a_huge_summary),
    path("huge-vector/", index_a_huge_text),
    path("healthz", health.healthz),
]


def assert_data_refused(status, headers, body):
    assert status == 400
    assert "The database refused this data" in body
    assert "nothing was saved" in body
    assert "Temporarily unavailable" not in body
    assert "Retry-After" not in headers


@pytest.fixture
def data_error_urls(settings):
    settings.ROOT_URLCONF = __name__


@pytest.mark.usefixtures("data_error_urls")
def test_a_refused_write_is_a_400_and_the_site_stays_healthy(caplog):
    assert_data_refused(*wsgi_get("/huge-summary/"))
    [record] = [r for r in caplog.records if r.name == "ldn_catalog.errors"]
    assert record.levelname == "WARNING"
    assert record.getMessage() == "Database refused the data of GET /huge-summary/: IntegrityError"
    status, _, body = wsgi_get("/healthz")
    assert status == 200, body


@on_postgresql
@pytest.mark.usefixtures("data_error_urls")
def test_the_tsvector_limit_is_a_400_not_an_outage():
    assert_data_refused(*wsgi_get("/huge-vector/"))
    # The next request, on the same site, is served: nothing is down.
    status, _, body = wsgi_get("/healthz")
    assert status == 200, body


@on_postgresql
@pytest.mark.usefixtures("data_error_urls")
def test_a_refused_value_outside_the_view_is_a_400_too(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.OverflowingMiddleware"]
    response = Client(raise_request_exception=False).get("/healthz")
    assert response.status_code == 400
    assert "The database refused this data" in response.content.decode()


class OverflowingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        index_a_huge_text(request)
        return self.get_response(request)


def test_the_outage_page_still_answers_connection_failures(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.test_faults.BrokenSessionMiddleware"]
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()
