import pytest


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # Production redirects HTTP to HTTPS; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _static_without_manifest(settings):
    # Production serves hashed files from collectstatic's manifest; tests do not collect,
    # and serve from the finders (WHITENOISE_USE_FINDERS) without a STATIC_ROOT.
    settings.STATIC_ROOT = None
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Rate limits count in the cache across tests; tests/test_ratelimits.py turns them on.
    settings.RATELIMIT_ENABLE = False


@pytest.fixture(autouse=True)
def _empty_cache():
    # The catalog version and the facet counts are cached; a test's rolled-back rows
    # must not leave counts or versions behind for the next test.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    # Background tasks run inside the request that queues them; tests/test_jobs.py runs the
    # real worker (manage.py db_worker) against the database backend.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
