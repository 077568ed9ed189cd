from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Evidence catalog"

    def ready(self):
        # Connects the signals that expire the cached catalog version (conditional GET).
        from . import caching  # noqa: F401
