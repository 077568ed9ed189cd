"""Rate limits for the expensive public endpoints (exports and search).

Counts are kept per client address in the default cache by django-ratelimit. Behind
reverse proxies the address is taken from X-Forwarded-For, counting NUM_PROXIES entries
from the right: the entries further left are whatever the client chose to send.

    @ratelimited("RATELIMIT_EXPORTS", group="exports")  # one budget for every format
    def export_csv(request): ...

    @ratelimited("RATELIMIT_SEARCH", when=lambda request: bool(request.GET.get("q")))
    def study_list(request): ...  # browsing is free; full-text searches are counted
"""

import functools
import ipaddress

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django_ratelimit.core import get_usage

# Exports are read by programs: they get the reason as plain text, not a page.
HTML_TYPES = ("text/html", "application/xhtml+xml")


def client_ip(request):
    """The address of the client, trusting exactly NUM_PROXIES proxies in front."""
    num_proxies = settings.NUM_PROXIES
    if num_proxies > 0:
        forwarded = [
            part.strip()
            for part in request.headers.get("x-forwarded-for", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= num_proxies:
            candidate = forwarded[-num_proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass  # a malformed entry: fall back to the connecting address
    return request.META.get("REMOTE_ADDR", "")


def client_ip_key(group, request):
    return client_ip(request)


def ratelimited(rate_setting, group=None, when=None):
    """Limit a view to the rate named by a setting (e.g. "RATELIMIT_EXPORTS" = "30/m").

    Views sharing a ``group`` share one count per client. With ``when``, only requests
    for which ``when(request)`` is true are counted and limited. Over the limit the view
    is not called: the client gets 429 with Retry-After.
    """

    def decorator(view):
        limit_group = group or f"{view.__module__}.{view.__qualname__}"

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if when is not None and not when(request):
                return view(request, *args, **kwargs)
            usage = get_usage(
                request,
                group=limit_group,
                key=client_ip_key,
                rate=getattr(settings, rate_setting),
                increment=True,
            )
            if usage is not None and usage["should_limit"]:
                return too_many_requests(request, max(usage["time_left"], 1))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def too_many_requests(request, retry_after):
    accept = request.headers.get("Accept", "")
    if any(kind in accept for kind in HTML_TYPES):
        body = render_to_string("429.html", {"retry_after": retry_after})
        response = HttpResponse(body, status=429)
    else:
        response = HttpResponse(
            f"Too many requests: try again in {retry_after} seconds.\n",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response
