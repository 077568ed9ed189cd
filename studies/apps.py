from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_delete, post_migrate


def bump_after_migrate(sender, using, **kwargs):
    """Migrations, data migrations included, may change catalog rows without signals."""
    # The app's modules import its models: they load once the app registry is ready.
    from .caching import bump_catalog_revision
    from .models import CatalogRevision

    if CatalogRevision._meta.db_table in connections[using].introspection.table_names():
        bump_catalog_revision(using)


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Evidence catalog"

    def ready(self):
        # Connects the signals that bump the catalog revision (conditional GET).
        from . import caching  # noqa: F401
        from .models.catalog import StudyPart, study_part_deleted
        from .search_index import ensure_installed

        for model in self.get_models():
            if issubclass(model, StudyPart):
                post_delete.connect(
                    study_part_deleted, sender=model, dispatch_uid=f"part-deleted-{model}"
                )

        post_migrate.connect(bump_after_migrate, sender=self, dispatch_uid="rev-migrate")
        # Altering a table on SQLite rebuilds it and drops its triggers, the search
        # index's among them: put them back after every migrate.
        post_migrate.connect(ensure_installed, sender=self, dispatch_uid="search-triggers")
