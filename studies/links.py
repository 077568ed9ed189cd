"""Absolute links to the catalog's pages (canonical links, share links, the feed's links),
built from the configured SITE_URL and never from the request's Host header, which the
client chooses: a public page may be cached and served to everyone."""

from django.conf import settings


def absolute_url(path):
    """``path`` (from ``reverse`` or ``get_absolute_url``) on the site's own address."""
    return settings.SITE_URL + path
