"""Middleware that keeps faults and oversized requests from turning into tracebacks."""

from django.conf import settings

from .errors import database_error_response, request_too_large


class DatabaseUnavailableMiddleware:
    """A view whose database is down answers 503 with Retry-After, not a 500; a view whose
    data the database refuses (too large to index, say) answers 400 for that request only
    (ldn_catalog/errors.py tells the two apart).

    Nothing is retried here: Django discards a connection that raised (the settings turn
    on CONN_HEALTH_CHECKS), so the next request connects afresh and the site recovers
    by itself when the database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return database_error_response(request, exception)


class RequestSizeLimitMiddleware:
    """Refuse a body larger than REQUEST_MAX_BODY_BYTES with 413, before reading it.

    DATA_UPLOAD_MAX_MEMORY_SIZE caps form fields only; uploaded files have no cap in
    Django itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.headers.get("content-length") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BODY_BYTES:
            return request_too_large(settings.REQUEST_MAX_BODY_BYTES)
        return self.get_response(request)
