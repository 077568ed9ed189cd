"""Optimistic concurrency: every curated record carries a ``version`` that each write bumps.

A curator's form remembers the version it was opened at. Saving it runs one statement,
``UPDATE … SET …, version = version + 1 WHERE id = … AND version = <opened>``; when no
row matches, someone saved in between and the save is refused with ``EditConflict``
instead of writing the form's stale values over theirs. Writes that do not check (fixture
builds, scripts) still bump the version, so every form opened before them goes stale.

    study.save(expected_version=opened)          # refuses a stale edit
    Study.objects.filter(pk=pk).bump_version()   # "this changed" without a save
    Study.objects.filter(pk=pk).bump_version(expected_version=opened)  # checked
"""

from django.db import models, router, transaction
from django.db.models import F


class EditConflict(Exception):
    """The record changed since the version the edit was based on; nothing was written."""

    def __init__(self, model, pk, expected_version):
        self.model, self.pk, self.expected_version = model, pk, expected_version
        super().__init__(
            f"{model._meta.verbose_name} {pk or ''} changed since version {expected_version}; "
            "nothing was saved"
        )


class VersionedQuerySet(models.QuerySet):
    def bump_version(self, expected_version=None, **changes):
        """Add one to the version of every row (and write ``changes`` to it); with
        ``expected_version``, only rows still at that version, and ``EditConflict`` when
        that leaves none. Returns the count."""
        rows = self if expected_version is None else self.filter(version=expected_version)
        count = rows.update(version=F("version") + 1, **changes)
        if expected_version is not None and not count:
            raise EditConflict(self.model, None, expected_version)
        return count

    def stale(self, versions):
        """Of ``versions`` ({pk: version the caller saw}), the rows now at another version."""
        current = dict(self.filter(pk__in=versions).values_list("pk", "version"))
        return {pk: current.get(pk) for pk, seen in versions.items() if current.get(pk) != seen}


class Versioned(models.Model):
    version = models.PositiveIntegerField(
        default=1,
        db_default=1,  # rows written in bulk with SQL (synthetic catalogs) start at 1 too
        editable=False,
        help_text="Bumped by every save: an edit based on an older version is refused.",
    )

    class Meta:
        abstract = True

    def save(self, *args, expected_version=None, **kwargs):
        """Save; an update also bumps the version in the same statement (the new value is
        read back). With ``expected_version`` the update only applies to the row at that
        version, and raises ``EditConflict`` otherwise."""
        previous = self.version
        if not self._state.adding:
            self.version = F("version") + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        self._expected_version = expected_version
        try:
            # One transaction for the row and what its save's signals write with it (the
            # history record): a backup's snapshot sees both or neither. Inside a caller's
            # transaction, a savepoint, so that a refused save leaves it usable.
            with transaction.atomic(using=kwargs.get("using") or router.db_for_write(type(self))):
                super().save(*args, **kwargs)
        except BaseException:
            self.version = previous  # nothing was written: the instance is as it was
            raise
        finally:
            self._expected_version = None

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update, *rest):
        expected = getattr(self, "_expected_version", None)
        if expected is None:
            return super()._do_update(
                base_qs, using, pk_val, values, update_fields, forced_update, *rest
            )
        results = super()._do_update(
            base_qs.filter(version=expected),
            using,
            pk_val,
            values,
            update_fields,
            forced_update,
            *rest,
        )
        if not results:
            # Zero rows: the row moved on (or is gone). Never fall through to an INSERT.
            raise EditConflict(type(self), pk_val, expected)
        return results

    def changes_since(self, version):
        """What changed since ``version``, field by field, from the record's history."""
        opened = self.history.filter(version__lte=version).order_by("-version").first()
        latest = self.history.order_by("-version", "-history_date").first()
        if opened is None or latest is None:
            return "its history does not say what"
        related = [field.name for field in self._meta.many_to_many]
        delta = latest.diff_against(opened, excluded_fields=["version", "updated_at", *related])
        if not delta.changes:
            return "its conditions, outcomes, summaries, quotes or claims"
        return "; ".join(
            f"{self._meta.get_field(change.field).verbose_name}: "
            f"“{_short(change.old)}” → “{_short(change.new)}”"
            for change in delta.changes
        )


def _short(value, limit=80):
    text = "" if value is None else str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
