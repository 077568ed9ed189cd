import pytest


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # Production redirects HTTP to HTTPS; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _static_without_manifest(settings):
    # Production serves hashed files listed by collectstatic's manifest; tests render
    # pages without running collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
