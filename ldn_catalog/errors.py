"""Error pages: plain templates that render without the database or the request context.

An error page must not fail the way the request did, so none of these touches the
database (no user, no session, no context processors).
"""

import logging
import sqlite3
import sys

import psycopg
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.defaults import bad_request

logger = logging.getLogger("ldn_catalog.errors")


# A database error is an outage only when the database cannot be used just now: the
# connection failed or broke, or the server is shutting down, starting or out of
# resources. SQLSTATE classes (PostgreSQL): 08 connection exception, 53 insufficient
# resources, 57P01-57P05 shutdown / cannot connect now, 58 system error.
UNAVAILABLE_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03", "57P04", "57P05", "58")
# Data the database refuses to store or index: 22 data exception, 23514 check violation,
# 54 program limit exceeded (a search vector over 1 MB, an index row too large). The same
# request fails the same way every time: the request is at fault, not the database.
REFUSED_SQLSTATES = ("22", "23514", "54")
UNAVAILABLE_SQLITE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
    "SQLITE_PROTOCOL",
)
REFUSED_SQLITE = ("SQLITE_TOOBIG", "SQLITE_CONSTRAINT_CHECK", "SQLITE_MISMATCH")

UNAVAILABLE, REFUSED = "unavailable", "refused"


def database_fault(exception):
    """UNAVAILABLE (answer 503, retry later), REFUSED (this request's data: 400) or None.

    Django wraps the driver's error; its ``__cause__`` carries the SQLSTATE (psycopg) or
    SQLite's error name. An error without one never reached the server's SQL: psycopg
    raises those when it cannot connect or the connection is lost.
    """
    if not isinstance(exception, (DatabaseError, sqlite3.Error, psycopg.Error)):
        return None
    error = exception.__cause__ if isinstance(exception, DatabaseError) else exception
    error = error or exception
    if isinstance(exception, InterfaceError) or isinstance(error, psycopg.InterfaceError):
        return UNAVAILABLE  # the connection is closed or unusable
    if isinstance(error, psycopg.Error):
        code = error.sqlstate
        if code is None:
            return UNAVAILABLE if isinstance(error, psycopg.OperationalError) else None
        if code.startswith(UNAVAILABLE_SQLSTATES):
            return UNAVAILABLE
        return REFUSED if code.startswith(REFUSED_SQLSTATES) else None
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", None)
        if name is None:
            return UNAVAILABLE if isinstance(error, sqlite3.OperationalError) else None
        if name.startswith(UNAVAILABLE_SQLITE):
            return UNAVAILABLE
        return REFUSED if name.startswith(REFUSED_SQLITE) else None
    # A Django error of no known driver (raised by the backend itself).
    if isinstance(exception, OperationalError):
        return UNAVAILABLE
    return REFUSED if isinstance(exception, DataError) else None


def plain_response(template_name, status, context=None):
    return HttpResponse(render_to_string(template_name, context), status=status)


def database_unavailable(request, exception):
    """503 with Retry-After: the database is down or the connection broke."""
    logger.error(
        "Database unavailable: %s",
        request.path,
        exc_info=(type(exception), exception, exception.__traceback__),
        extra={"request": request, "status": 503},
    )
    response = plain_response("503.html", 503)
    response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    return response


def data_refused(request, exception):
    """400: the database refused this request's data (too large to index, out of range).

    Not an outage: retrying cannot help, the site is fine, and /healthz says so.
    """
    logger.warning(
        "Database refused the data of %s %s: %s",
        request.method,
        request.path,
        type(exception).__name__,
        exc_info=(type(exception), exception, exception.__traceback__),
        extra={"request": request, "status": 400},
    )
    return plain_response("400_data.html", 400)


def database_error_response(request, exception):
    """The answer to a database error a view or middleware raised, or None (a bug: 500)."""
    fault = database_fault(exception)
    if fault == UNAVAILABLE:
        return database_unavailable(request, exception)
    if fault == REFUSED:
        return data_refused(request, exception)
    return None


def megabytes(size_bytes):
    return f"{size_bytes / (1024 * 1024):.1f} MB" if size_bytes >= 1024 * 1024 else "1 MB"


def request_too_large(limit_bytes, **context):
    return plain_response("413.html", 413, {"limit": megabytes(limit_bytes), **context})


def handler400(request, exception):
    if isinstance(exception, RequestDataTooBig):
        # Django reports form fields over DATA_UPLOAD_MAX_MEMORY_SIZE as a generic bad
        # request. Files do not count against that limit, so text pasted into a form (an
        # export to import, say) goes through as a file: the page says so.
        return request_too_large(
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            form_text=True,
            file_limit=megabytes(settings.BIBTEX_UPLOAD_MAX_BYTES),
        )
    return bad_request(request, exception)


def handler500(request):
    # Called while the exception is being handled, when middleware (not a view) failed:
    # a database error raised by the session or user lookup still deserves the 503.
    exception = sys.exception()
    fault = database_fault(exception)
    if fault == UNAVAILABLE:
        response = plain_response("503.html", 503)
        response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
        return response
    if fault == REFUSED:
        return plain_response("400_data.html", 400)
    return plain_response("500.html", 500)
