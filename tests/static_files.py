"""How the tests serve static files: they do not run collectstatic, so from the finders
(WHITENOISE_USE_FINDERS), with no STATIC_ROOT and no manifest."""

from django.conf import settings


def uncollected_static():
    """The settings for that, as keyword arguments of override_settings."""
    return {
        "STATIC_ROOT": None,
        "STORAGES": {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    }
