"""Error pages: plain templates that render without the database or the request context.

An error page must not fail the way the request did, so none of these touches the
database (no user, no session, no context processors).
"""

import logging
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.defaults import bad_request

logger = logging.getLogger("ldn_catalog.errors")

DATABASE_UNAVAILABLE_ERRORS: tuple[type[Exception], ...]
try:
    import psycopg
except ImportError:  # SQLite-only installs
    DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
else:
    DATABASE_UNAVAILABLE_ERRORS = (
        OperationalError,
        InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    )


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


def request_too_large(limit_bytes):
    limit = f"{limit_bytes / (1024 * 1024):.1f} MB" if limit_bytes >= 1024 * 1024 else "1 MB"
    return plain_response("413.html", 413, {"limit": limit})


def handler400(request, exception):
    if isinstance(exception, RequestDataTooBig):
        # Django reports an over-limit form body as a generic bad request.
        return request_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return bad_request(request, exception)


def handler500(request):
    # Called while the exception is being handled, when middleware (not a view) failed:
    # a database error raised by the session or user lookup still deserves the 503.
    exception = sys.exception()
    if isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
        response = plain_response("503.html", 503)
        response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
        return response
    return plain_response("500.html", 500)
