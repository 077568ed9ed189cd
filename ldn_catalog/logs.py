"""Structured logs: a JSON formatter and one log line per request.

Each line is a JSON object a log collector can index without parsing free text. The
request line carries the request id that is also sent back as ``X-Request-ID``, so a
user's report, the access line and any error logged on the way can be matched up.
"""

import json
import logging
import re
import time
import traceback
import uuid
from datetime import UTC, datetime

from django.utils.functional import empty

request_logger = logging.getLogger("ldn_catalog.requests")

# An id from the proxy in front is kept only if it looks like one: it ends up in logs.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in RECORD_ATTRIBUTES or key.startswith("_"):
                continue
            if key == "request":
                # Django's own error records carry the request object itself.
                data.update(request_context(value))
            else:
                data[key] = value
        if record.exc_info:
            exc_type, exc, _ = record.exc_info
            data["exception"] = {
                "type": f"{exc_type.__module__}.{exc_type.__qualname__}",
                "message": str(exc),
                "traceback": "".join(traceback.format_exception(*record.exc_info)),
            }
        return json.dumps(data, ensure_ascii=False, default=str)


def request_context(request):
    """What a log line says about a request: never the body, cookies or headers."""
    context = {
        "method": getattr(request, "method", None),
        "path": getattr(request, "path", None),
        "request_id": getattr(request, "request_id", None),
    }
    user_id = loaded_user_id(request)
    if user_id is not None:
        context["user_id"] = user_id
    return context


def loaded_user_id(request):
    """The signed-in user's id, if the request already looked the user up.

    The user is loaded lazily from the session; looking it up only to log it would cost
    a query on every request and fail when the database is down.
    """
    user = getattr(request, "user", None)
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:
        return None
    return wrapped.pk if getattr(wrapped, "is_authenticated", False) else None


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        request.request_id = supplied if REQUEST_ID_RE.match(supplied) else uuid.uuid4().hex
        start = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - start) * 1000, 2)
        response["X-Request-ID"] = request.request_id
        request_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                **request_context(request),
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response
