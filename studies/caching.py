"""Conditional GET and Cache-Control for the public pages, keyed on the catalog revision.

Every public page is a function of the catalog's contents (and of who asks), so one
"catalog revision" serves as the validator of all of them: a browser or a CDN that sends
``If-None-Match`` gets a 304 without the page being built until the catalog changes, and
what is the same for every reader (facets, page rows, condition pages) is cached under it.

The revision is one row in the database (``CatalogRevision``), bumped by every write in
the same transaction as the write itself:

* saves (raw ones from ``loaddata`` included), deletes and changes of a study's conditions,
  by the signal handlers below: once per transaction, unless the revision was read in
  between (a restore of 50,000 rows is one UPDATE of the row, not 50,000);
* renaming or deleting a curator who last reviewed a study (its page names them);
* writes that bypass signals (the importer's bulk inserts, a restore, raw SQL) by calling
  ``bump_catalog_revision()`` before their transaction commits;
* migrations, data migrations included, by a post_migrate handler (studies/apps.py).

Each request reads it once by primary key (``public_page`` keeps it for the rest of the
request), so a change committed by any worker or command shows in the very next request
of every other worker: nothing about it is kept in a per-process cache.
"""

import contextvars
import hashlib
from datetime import UTC, datetime, timedelta
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Greatest, TruncSecond
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date, parse_http_date
from django.utils.timezone import is_naive, make_aware
from django.views.decorators.http import condition

from .models import (
    BottomLine,
    CatalogRevision,
    Claim,
    Condition,
    EffectSummary,
    Mention,
    Outcome,
    Source,
    Study,
    StudyCondition,
)

# StudyCondition too: a condition tag edited or deleted alone (its basis is on the home
# page's map) sends no m2m_changed.
CATALOG_MODELS = (
    Study,
    Condition,
    StudyCondition,
    Outcome,
    EffectSummary,
    Source,
    Mention,
    Claim,
    BottomLine,
)
REVISION_PK = 1

# The revision read at the start of the current request (see public_page).
_request_version = contextvars.ContextVar("catalog_version", default=None)


def bump_catalog_revision(using=None):
    """Record that the catalog changed. Call it inside the writing transaction (or right
    after a write that is not in one): readers then see the new revision exactly when they
    can see the new rows."""
    using = using or router.db_for_write(CatalogRevision)
    now = timezone.now()
    rows = CatalogRevision.objects.using(using).filter(pk=REVISION_PK)
    # Last-Modified is in whole seconds, so each revision's time is in a later second than
    # the one before: a client that revalidates by date alone (If-Modified-Since) is never
    # told that its copy of a revision made earlier in the same second is current.
    changed_at = Greatest(
        Value(now, output_field=DateTimeField()),
        TruncSecond("changed_at") + timedelta(seconds=1),
    )
    if not rows.update(number=F("number") + 1, changed_at=changed_at):
        # The row is gone (a flushed database): start again, past any number seen before
        # only by its time, which is part of the fingerprint.
        CatalogRevision.objects.using(using).get_or_create(
            pk=REVISION_PK, defaults={"number": 1, "changed_at": now}
        )


def read_catalog_version(using=None):
    """(fingerprint, last modified) of the catalog: one primary-key read.

    A hand-written SELECT: every public request runs it, and building the same query
    through the ORM took ten times as long as running it (benchmarks/revision.py)."""
    connection = connections[using or router.db_for_read(CatalogRevision)]
    quote = connection.ops.quote_name
    table = CatalogRevision._meta.db_table
    # A write after this read must bump again, even in the same transaction: what is
    # computed from this read is cached under this revision (see _catalog_changed).
    connection._catalog_revision_bumped = None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('number')}, {quote('changed_at')} FROM {quote(table)} "
            f"WHERE {quote('id')} = %s",
            [REVISION_PK],
        )
        row = cursor.fetchone()
    if row is None:
        return "r0", None
    number, changed_at = row
    if isinstance(changed_at, str):  # SQLite without its datetime converter
        changed_at = parse_datetime(changed_at)
    if is_naive(changed_at):  # SQLite keeps UTC without an offset
        changed_at = make_aware(changed_at, UTC)
    # The time as well as the number: a number reused after a rolled-back bump or a
    # restore is not the same revision.
    return f"r{number}-{changed_at.timestamp():.6f}", changed_at


def catalog_version():
    """The catalog's version for this request: read once per request by public_page."""
    version = _request_version.get()
    return version if version is not None else read_catalog_version()


def for_this_version(name, compute):
    """``compute()``, kept in the cache under the catalog revision: the same for every
    reader until the catalog changes (a new revision makes new keys; old ones expire)."""
    fingerprint, _ = catalog_version()
    key = f"studies:{name}:{fingerprint}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, settings.CATALOG_DATA_TIMEOUT)
    return value


def _catalog_changed(sender, using=None, raw=False, action="post_", **kwargs):
    if not action.startswith("post_"):  # m2m_changed fires pre_ and post_
        return
    connection = connections[using]
    marker = getattr(connection, "_catalog_revision_bumped", None)
    if marker is not None and any(func is marker for _, func, _ in connection.run_on_commit):
        # Bumped already in this transaction, and nobody read the revision since: one
        # bump covers a whole loaddata, restore or import. (A savepoint rolled back
        # drops its on-commit callbacks, this marker with them, and the next write
        # bumps again.)
        return
    if raw and CatalogRevision._meta.db_table not in connection.introspection.table_names():
        return  # loaddata into a database not yet migrated to 0009: it will set the revision
    bump_catalog_revision(using)
    if connection.in_atomic_block:

        def bumped():
            """A marker among the transaction's on-commit callbacks: nothing to do."""

        transaction.on_commit(bumped, using=using)
        connection._catalog_revision_bumped = bumped


for _model in CATALOG_MODELS:
    post_save.connect(_catalog_changed, sender=_model, dispatch_uid=f"rev-save-{_model}")
    post_delete.connect(_catalog_changed, sender=_model, dispatch_uid=f"rev-del-{_model}")
m2m_changed.connect(_catalog_changed, sender=Study.conditions.through, dispatch_uid="rev-m2m")
m2m_changed.connect(
    _catalog_changed, sender=BottomLine.studies.through, dispatch_uid="rev-m2m-bottom-line"
)


# A study page names the curator who last reviewed it: renaming or deleting that person
# changes the page (a delete sets the studies' reviewer to null by one UPDATE, without
# signals). A login, which saves only last_login, changes nothing a reader sees.
REVIEWER_NAME_FIELDS = {"first_name", "last_name", "username"}


def _reviewer_changed(
    sender, instance, signal, using=None, created=False, update_fields=None, **kwargs
):
    if created or (update_fields is not None and not REVIEWER_NAME_FIELDS & set(update_fields)):
        return
    deleted = signal is post_delete  # the studies' reviewer is already null by now
    if deleted or Study.objects.using(using).filter(reviewed_by=instance).exists():
        _catalog_changed(sender, using=using)


post_save.connect(_reviewer_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid="rev-reviewer")
post_delete.connect(
    _reviewer_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid="rev-reviewer-delete"
)


def _audience(request):
    user = getattr(request, "user", None)
    return f"user-{user.pk}" if user is not None and user.is_authenticated else "anonymous"


def page_etag(request, *args, **kwargs):
    fingerprint, _ = catalog_version()
    # The same URL shows staff links to signed-in users: one representation per user.
    variant = f"{fingerprint}|{_audience(request)}"
    return hashlib.sha256(variant.encode()).hexdigest()[:32]


def page_last_modified(request, *args, **kwargs) -> datetime | None:
    return catalog_version()[1]


def _not_after_now(response):
    """A burst of revisions runs the revision's time ahead of the clock (each takes a later
    second: bump_catalog_revision). RFC 9110 (8.8.2.1) has a Last-Modified later than the
    response replaced by the response's time: a client that sends it back is then told the
    page changed (its date is before the revision's) rather than, wrongly, that it did not."""
    if response.has_header("Last-Modified"):
        now = int(timezone.now().timestamp())
        if parse_http_date(response.headers["Last-Modified"]) > now:
            response.headers["Last-Modified"] = http_date(now)


def public_page(view):
    """ETag/Last-Modified validation and Cache-Control for a page anyone may see.

    Anonymous visitors get ``Cache-Control: public, max-age=PUBLIC_PAGE_MAX_AGE`` so a CDN
    or a browser may keep the page; signed-in users get ``private, no-cache`` (their pages
    may show staff links) and still benefit from 304s.
    """
    conditional_view = condition(etag_func=page_etag, last_modified_func=page_last_modified)(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # One read of the revision serves the validators and the view's cached data alike.
        token = _request_version.set(read_catalog_version())
        try:
            response = conditional_view(request, *args, **kwargs)
        finally:
            _request_version.reset(token)
        if response.status_code not in (200, 304):
            return response
        _not_after_now(response)
        if _audience(request) == "anonymous":
            patch_cache_control(response, public=True, max_age=settings.PUBLIC_PAGE_MAX_AGE)
        else:
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
        return response

    return wrapper
