from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Evidence catalog"

    def ready(self):
        # Connects the signals that expire the cached catalog version (conditional GET).
        from . import caching  # noqa: F401
        from .search_index import ensure_installed

        # Altering a table on SQLite rebuilds it and drops its triggers, the search
        # index's among them: put them back after every migrate.
        post_migrate.connect(ensure_installed, sender=self, dispatch_uid="search-triggers")
