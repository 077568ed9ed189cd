import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.static_files import uncollected_static

# Property tests judge results, not speed: on a loaded machine (CI's two cores) a slow
# example must not fail a test with a deadline or a "too slow" health check.
hypothesis_settings.register_profile(
    "catalog", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("catalog")


def pytest_configure(config):
    # Logins hash passwords; the production hasher is deliberately slow, and the suite logs in
    # hundreds of times. Set before any test class's setUpTestData creates a user.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # Production redirects HTTP to HTTPS; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _static_without_manifest(settings):
    # Production serves hashed files from collectstatic's manifest; tests do not collect.
    for name, value in uncollected_static().items():
        setattr(settings, name, value)


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


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_at_once():
    # Background tasks run inside the request that queues them (setUpTestData included);
    # tests/test_tasks.py runs the real worker (manage.py db_worker) on the database backend.
    from django.test import override_settings

    immediate = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=immediate):
        yield
