"""Import jobs: what the worker does with an ImportJob, and the report it keeps.

``run_job`` is the body of the task ``studies.tasks.import_job``: it checks a job's file
with the importer (recording progress, obeying a cancel) and keeps the preview, or, once
the job is confirmed, checks again and writes the new studies.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.timesince import timesince

from . import formats
from .importers import NEW, ImportCancelled, create_new, preview_records, read_entries
from .models import ImportJob
from .versions import EditConflict

# How many entries a report page lists (the errors and duplicates first).
ROWS_SHOWN = 1000

logger = logging.getLogger(__name__)


def report_json(report):
    """An import's report as the ImportJob keeps it: counts, and one object per entry."""
    rows = []
    for row in report.rows:
        item = {"line": row.entry.line, "key": _storable(row.entry.key), "status": row.status}
        if row.study is not None:
            item["title"] = row.study.title[:300]
            if row.study.year:
                item["year"] = row.study.year
            if row.study.pk:
                item["study"] = row.study.pk
        for name in ("reasons", "warnings"):
            if getattr(row, name):
                item[name] = [_storable(text) for text in getattr(row, name)]
        if row.matched_by:
            item["matched_by"] = row.matched_by
        if row.existing is not None:
            item["existing"] = row.existing.pk
            item["existing_title"] = str(row.existing)[:200]
        if row.differences:
            item["differences"] = [
                [name, _json_value(old), _json_value(new)] for name, old, new in row.differences
            ]
        if row.update:
            item["update"] = {name: _json_value(value) for name, value in row.update.items()}
            item["position"] = len(rows)  # what the curator ticks to accept it
            item["existing_version"] = row.existing.version
        if row.earlier is not None:
            item["earlier_key"] = _storable(row.earlier.entry.key)
            item["earlier_line"] = row.earlier.entry.line
        rows.append(item)
    return {
        "format": report.format,
        "format_label": formats.LABELS[report.format],
        "entries": len(report.rows),
        "new": len(report.new),
        "duplicates": len(report.duplicates),
        "errors": len(report.errors),
        "created": len(report.created),
        "updates": sum(1 for row in report.rows if row.update),
        "updated": len(report.updated),
        "rows": rows,
    }


def _storable(text):
    """Text a PostgreSQL JSON column can hold: no NUL character, which a JSON file may give
    (spelt “\\u0000”) in an entry's id, or in a value a message quotes."""
    return text.replace("\x00", "\ufffd")


def _json_value(value):
    """A study's value as the report keeps it for the curator: a list (authors,
    conditions) as its items joined by “; ”, a Decimal dose as its text."""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def rows_to_show(rows, limit=ROWS_SHOWN):
    """At most ``limit`` rows of a report, in file order: the errors and duplicates first,
    then new entries up to the limit. Returns (rows, how many are left out)."""
    kept = [row for row in rows if _status(row) != NEW][:limit]
    kept += [row for row in rows if _status(row) == NEW][: limit - len(kept)]
    kept.sort(key=lambda row: row["line"] if isinstance(row, dict) else row.entry.line)
    return kept, len(rows) - len(kept)


def _status(row):
    return row["status"] if isinstance(row, dict) else row.status


def fail_stale_jobs():
    """Mark failed the jobs a worker left "checking" or "writing" when it was killed (or
    its machine lost): those started longer than settings.IMPORT_JOB_TIMEOUT ago. Their
    transaction died with the worker, so nothing of them was written. A worker still on
    such a job is asked to cancel it, so that it writes nothing either. Returns how many.

    Run by every worker before it takes a job, and by the job's page. It writes only when
    a job is stale: on SQLite a write waits for the database's write lock, which an
    import's transaction holds until it commits, and the page would wait with it."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.IMPORT_JOB_TIMEOUT)
    stale = ImportJob.objects.filter(status__in=ImportJob.RUNNING, started_at__lt=cutoff)
    if not stale.exists():
        return 0
    return stale.update(
        status=ImportJob.Status.FAILED,
        message=(
            f"The worker stopped: the import was still unfinished {timesince(cutoff, now)} "
            "after it started. Nothing was imported; upload the file again."
        ),
        cancel_requested=True,
        data=b"",
        finished_at=now,
    )


def run_job(job_id):
    """Run a queued ImportJob: check its entries (recording progress) and keep the preview,
    or, once confirmed, check them again and write the new studies.

    Runs in the worker (studies.tasks.import_job). A job cancelled before a worker took it
    is left alone; a cancellation or a failure while it runs rolls back everything.
    """
    Status = ImportJob.Status
    fail_stale_jobs()
    started = ImportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.CHECKING, started_at=timezone.now(), cancel_requested=False
    )
    if not started:
        return
    job = ImportJob.objects.get(pk=job_id)
    outcome = {}
    try:
        entries, job.total = read_entries(job.text, job.format)
        job.record_progress(0, job.total)
        report = preview_records(
            entries,
            job.file_name,
            total=job.total,
            progress=job.record_progress,
            cancelled=job.is_cancel_requested,
            format=job.format,
        )
        del entries
        if not job.confirmed:
            outcome.update(status=Status.PREVIEWED, report=report_json(report), done=job.total)
            return
        ImportJob.objects.filter(pk=job_id).update(status=Status.WRITING, done=job.total)
        create_new(
            report,
            job.user,
            job.is_cancel_requested,
            skip_errors=job.skip_errors,
            updates={int(n): version for n, version in job.accepted_updates.items()},
        )
    except ImportCancelled:
        outcome.update(status=Status.CANCELLED)
    except Exception as error:
        logger.exception("Import job %s failed", job_id)
        outcome.update(status=Status.FAILED, message=failure_message(error))
        raise
    else:
        outcome.update(status=Status.DONE, report=report_json(report), done=job.total)
    finally:
        if "status" not in outcome:  # the worker was stopped mid-import: all rolled back
            outcome.update(status=Status.FAILED, message="The worker stopped; nothing imported.")
        if outcome["status"] != Status.PREVIEWED:
            outcome.update(data=b"", finished_at=timezone.now())
        ImportJob.objects.filter(pk=job_id).update(**outcome)


def failure_message(error):
    """What a curator is told when the database refused an import."""
    if isinstance(error, EditConflict):
        return (
            "A trial whose registry update you accepted was changed by another curator "
            "since the preview; nothing was imported. Upload the file again to see a new "
            "preview."
        )
    if isinstance(error, IntegrityError):
        return (
            "Another curator added one of these studies meanwhile, or the database refused an "
            "entry; nothing was imported. Upload the file again to see a new preview."
        )
    return f"The import failed and nothing was imported: {type(error).__name__}: {error}"[:2000]
