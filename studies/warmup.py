"""Computing ahead of the first reader what the catalog's pages keep per catalog version.

After a deploy or a change to the catalog, the first reader of each page would pay for
its counts (a list's facets, the home page's evidence map, the condition index and pages:
hundreds of milliseconds each at 100,000 studies, and every worker of a server with
local-memory caches pays again). ``warm_catalog`` requests the pages most readers open,
in this process, through Django's test client: whatever they keep per catalog version
lands in the cache the servers read, when that cache is shared (Redis, or files in
``CACHE_DIR``). With each process's own local memory, warming from another process
cannot reach the servers: the command says so.
"""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from django.urls import reverse

from .models import Condition
from .vocabulary import Design


def pages():
    """The paths warmed: home, the condition index, each condition's page, the study list
    unfiltered, by each condition and by each design."""
    conditions = list(Condition.objects.order_by("name").values_list("slug", flat=True))
    list_url = reverse("studies:study_list")
    return [
        reverse("studies:home"),
        reverse("studies:condition_list"),
        *(reverse("studies:condition_detail", args=[slug]) for slug in conditions),
        list_url,
        *(f"{list_url}?condition={slug}" for slug in conditions),
        *(f"{list_url}?design={design}" for design in Design.values),
    ]


def cache_is_shared():
    return not isinstance(caches["default"], LocMemCache)


def cache_keeps():
    """Whether the cache keeps what is put in it. Redis away is no error to the site (every
    cache operation is a miss, settings.redis_cache): warming would keep nothing."""
    probe = "studies:warm-catalog-probe"
    cache = caches["default"]
    cache.set(probe, True, 60)
    kept = cache.get(probe) is True
    cache.delete(probe)
    return kept


def warm(paths=None):
    """Request each path; yields (path, status) as it goes."""
    # ".example.org" allows example.org and its subdomains.
    hosts = [h.removeprefix(".") for h in settings.ALLOWED_HOSTS if h != "*"]
    client = Client(HTTP_HOST=hosts[0] if hosts else "localhost")
    for path in paths or pages():
        yield path, client.get(path, secure=True).status_code
