"""The catalog revision: one row every write bumps (studies/caching.py)."""

from django.db import models


class CatalogRevision(models.Model):
    """One row counting changes to the catalog: every write bumps it in the same transaction
    (studies/caching.py), so every worker that reads it by primary key sees a change as
    soon as the change itself. Public pages' ETags and the data cached per catalog version
    are keyed on it."""

    number = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField()

    def __str__(self):
        return f"revision {self.number} of {self.changed_at:%Y-%m-%d %H:%M:%S}"
