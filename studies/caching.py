"""Conditional GET and Cache-Control for the public pages.

Every public page is a function of the catalog's contents (and of who asks), so one cheap
"catalog version" serves as the validator of all of them: a browser or a CDN that sends
``If-None-Match`` gets a 304 without the page being built until the catalog changes.

The version is a fingerprint of the newest row of each catalog table (the study table and
the history tables simple_history writes on every save and delete): a handful of indexed
MAX lookups in one query, kept in Django's cache. Saves, deletes and changes of a study's
conditions delete the cached version at once (across all servers when the cache is
Redis); an edit that bypasses signals (raw SQL) shows after ``CATALOG_VERSION_TIMEOUT``.
"""

import hashlib
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.views.decorators.http import condition

from .models import (
    BottomLine,
    Claim,
    Condition,
    EffectSummary,
    Mention,
    Outcome,
    Source,
    Study,
)

CATALOG_MODELS = (Study, Condition, Outcome, EffectSummary, Source, Mention, Claim, BottomLine)
VERSION_KEY = "studies:catalog-version"


def _version_sql(connection):
    quote = connection.ops.quote_name
    # One scalar subquery per MAX: SQLite answers a lone MIN/MAX from an index, not two.
    parts = [
        f"(SELECT MAX({quote('id')}) FROM {quote(Study._meta.db_table)})",
        f"(SELECT MAX({quote('created_at')}) FROM {quote(Study._meta.db_table)})",
    ]
    for model in CATALOG_MODELS:
        table = quote(model.history.model._meta.db_table)
        parts.append(f"(SELECT MAX({quote('history_id')}) FROM {table})")
        parts.append(f"(SELECT MAX({quote('history_date')}) FROM {table})")
    return "SELECT " + ", ".join(parts)


def _as_datetime(value):
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns a MAX() over a datetime column as text
        value = parse_datetime(value)
    return make_aware(value) if is_naive(value) else value


def compute_catalog_version():
    """(fingerprint, last modified) of the catalog, read from the database."""
    connection = connections[router.db_for_read(Study)]
    with connection.cursor() as cursor:
        cursor.execute(_version_sql(connection))
        row = cursor.fetchone()
    fingerprint = hashlib.sha256(repr(row).encode()).hexdigest()[:20]
    dates = [_as_datetime(value) for value in row[1::2]]
    dates = [value for value in dates if value is not None]
    return fingerprint, max(dates) if dates else None


def catalog_version():
    version = cache.get(VERSION_KEY)
    if version is None:
        version = compute_catalog_version()
        cache.set(VERSION_KEY, version, settings.CATALOG_VERSION_TIMEOUT)
    return version


def for_this_version(name, compute):
    """``compute()``, kept in the cache under the catalog version: the same for every
    reader until the catalog changes (a new version makes new keys; old ones expire)."""
    fingerprint, _ = catalog_version()
    key = f"studies:{name}:{fingerprint}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, settings.CATALOG_DATA_TIMEOUT)
    return value


def invalidate_catalog_version(sender=None, **kwargs):
    cache.delete(VERSION_KEY)
    # Again after commit: a request in between may have cached the version it could see.
    transaction.on_commit(lambda: cache.delete(VERSION_KEY), using=kwargs.get("using"))


for _model in CATALOG_MODELS:
    post_save.connect(invalidate_catalog_version, sender=_model, dispatch_uid=f"cv-save-{_model}")
    post_delete.connect(invalidate_catalog_version, sender=_model, dispatch_uid=f"cv-del-{_model}")
m2m_changed.connect(
    invalidate_catalog_version, sender=Study.conditions.through, dispatch_uid="cv-m2m"
)
m2m_changed.connect(
    invalidate_catalog_version, sender=BottomLine.studies.through, dispatch_uid="cv-m2m-bottom"
)


def _audience(request):
    user = getattr(request, "user", None)
    return f"user-{user.pk}" if user is not None and user.is_authenticated else "anonymous"


def page_etag(request, *args, **kwargs):
    fingerprint, _ = catalog_version()
    # The same URL has several representations: whole page or results partial, and per user.
    variant = f"{fingerprint}|{_audience(request)}|{request.headers.get('X-Partial', '')}"
    return hashlib.sha256(variant.encode()).hexdigest()[:32]


def page_last_modified(request, *args, **kwargs) -> datetime | None:
    return catalog_version()[1]


def public_page(view):
    """ETag/Last-Modified validation and Cache-Control for a page anyone may see.

    Anonymous visitors get ``Cache-Control: public, max-age=PUBLIC_PAGE_MAX_AGE`` so a CDN
    or a browser may keep the page; signed-in users get ``private, no-cache`` (their pages
    may show staff links) and still benefit from 304s.
    """
    conditional_view = condition(etag_func=page_etag, last_modified_func=page_last_modified)(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = conditional_view(request, *args, **kwargs)
        if response.status_code not in (200, 304):
            return response
        if _audience(request) == "anonymous":
            patch_cache_control(response, public=True, max_age=settings.PUBLIC_PAGE_MAX_AGE)
        else:
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie", "X-Partial"])
        return response

    return wrapper
