"""BibTeX imports run by the background worker (studies/jobs.py)."""

import secrets
import zlib

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone


def new_token():
    return secrets.token_urlsafe(16)


class ImportJob(models.Model):
    """One BibTeX import from upload to report: who, which file, how far, what came of it.

    A worker (``manage.py db_worker``) runs it twice: first it checks every entry and keeps
    the preview (nothing written); once a curator confirms, it checks again and creates the
    new studies. The file waits here (compressed) in between; progress and reports are
    recorded here, so the progress page survives restarts of the site and of the worker.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "waiting for a worker"
        CHECKING = "checking", "checking entries"
        PREVIEWED = "previewed", "checked, waiting for confirmation"
        WRITING = "writing", "writing the new studies"
        DONE = "done", "done"
        CANCELLED = "cancelled", "cancelled: nothing was imported"
        FAILED = "failed", "failed: nothing was imported"

    FINISHED = (Status.DONE, Status.CANCELLED, Status.FAILED)
    RUNNING = (Status.CHECKING, Status.WRITING)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    # The preview page's confirmation carries this; it confirms nothing else.
    token = models.CharField(max_length=32, default=new_token, unique=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.QUEUED)
    # False: the worker checks and keeps a preview; True: it imports.
    confirmed = models.BooleanField(default=False)
    format = models.CharField(max_length=20, default="bibtex")
    # Set when the curator confirms: import the valid entries of a file with errors (the
    # admin asks first; import_bibtex --background does, as import_bibtex does), and the
    # accepted registry updates ({position in the report: the study's version then}).
    skip_errors = models.BooleanField(default=True)
    accepted_updates = models.JSONField(default=dict, blank=True)
    # zlib-compressed UTF-8 text of the file; emptied once the import has finished.
    data = models.BinaryField(default=b"")
    done = models.PositiveIntegerField("entries checked", default=0)
    total = models.PositiveIntegerField("entries", default=0)
    cancel_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=64, blank=True)
    # Counts and the per-entry report (jobs.report_json) of the preview, then of the
    # import; why it failed.
    report = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("admin:studies_study_import_job", args=[self.pk])

    @property
    def finished(self):
        return self.status in self.FINISHED

    @property
    def waiting(self):
        """Queued or running: its page reloads itself."""
        return not self.finished and self.status != self.Status.PREVIEWED

    def can_confirm(self, user):
        """Whether ``user`` may confirm the job now: only the curator who uploaded the file,
        only its preview (not the job once confirmed), and only if it has something to
        import or a registry update to offer."""
        report = self.report or {}
        return (
            self.status == self.Status.PREVIEWED
            and self.user_id == user.pk
            and bool(report.get("new") or report.get("updates"))
        )

    def can_cancel(self, user):
        """Whether ``user`` may cancel the job: the curator who started it, or one allowed
        to change any import job (a superuser, or one given studies.change_importjob), who
        can stop a job whose curator is away, or one started from the command line."""
        started_it = self.user_id is not None and self.user_id == user.pk
        return started_it or user.has_perm("studies.change_importjob")

    @property
    def percent(self):
        return 100 * self.done // self.total if self.total else 0

    @property
    def text(self):
        return zlib.decompress(self.data).decode() if self.data else ""

    @text.setter
    def text(self, value):
        self.data = zlib.compress(value.encode(), 6)

    @classmethod
    def submit(cls, text, file_name, user=None, confirmed=False, format="bibtex", **options):
        """A new job for ``text`` (in ``format``: see formats.PARSERS), queued for a worker:
        to preview, or (``confirmed``, as ``import_bibtex --background`` does) to import
        at once; ``options`` are skip_errors and accepted_updates."""
        job = cls(
            user=user, file_name=file_name[:255], confirmed=confirmed, format=format, **options
        )
        job.text = text
        job.save()
        job._enqueue()
        return job

    def confirm(self, skip_errors=False, updates=()):
        """Queue a previewed job again, this time to import; with ``skip_errors`` the valid
        entries of a file with errors, and the registry updates of the rows at ``updates``
        (positions in the preview) the curator accepted."""
        offered = {
            position: row["existing_version"]
            for position, row in enumerate((self.report or {}).get("rows", []))
            if row.get("update")
        }
        accepted = {str(n): offered[n] for n in updates if n in offered}
        confirmed = ImportJob.objects.filter(pk=self.pk, status=self.Status.PREVIEWED).update(
            status=self.Status.QUEUED,
            confirmed=True,
            done=0,
            skip_errors=skip_errors,
            accepted_updates=accepted,
        )
        if confirmed:
            self._enqueue()
        self.refresh_from_db()
        return bool(confirmed)

    def _enqueue(self):
        # The job's status and its row in the database task queue commit together.
        from ..tasks import import_job  # the task imports studies.jobs, which imports models

        with transaction.atomic():
            result = import_job.enqueue(self.pk)
            ImportJob.objects.filter(pk=self.pk).update(task_id=str(result.id))
        self.refresh_from_db()

    def request_cancel(self):
        """Cancel: at once if no worker is on it, else at the worker's next check."""
        waiting = ImportJob.objects.filter(
            pk=self.pk, status__in=[self.Status.QUEUED, self.Status.PREVIEWED]
        )
        if waiting.update(status=self.Status.CANCELLED, finished_at=timezone.now(), data=b""):
            return
        ImportJob.objects.filter(pk=self.pk, status__in=self.RUNNING).update(cancel_requested=True)

    def is_cancel_requested(self):
        return ImportJob.objects.filter(pk=self.pk, cancel_requested=True).exists()

    def record_progress(self, done, total):
        ImportJob.objects.filter(pk=self.pk).update(done=done, total=total or self.total)
