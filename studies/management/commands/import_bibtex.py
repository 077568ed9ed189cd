from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.importers import UnreadableFile, check_entry_count, decode_upload, import_bibtex
from studies.models import ImportJob


class Command(BaseCommand):
    help = "Import the studies of a BibTeX file; entries the catalog holds already are skipped."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Report only; write nothing.")
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue the import for a worker (manage.py db_worker) and return at once.",
        )

    def handle(self, file, dry_run, background, **options):
        if dry_run and background:
            raise CommandError("--dry-run reports at once; it cannot run in the background.")
        try:
            text = decode_upload(file.read_bytes())
            check_entry_count(text, "bibtex")
        except (OSError, UnreadableFile) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error

        if background:
            job = ImportJob.submit(text, file.name, confirmed=True, skip_errors=True)
            self.stdout.write(
                f"Queued import job {job.pk} for {file.name}; a worker (manage.py db_worker) "
                f"runs it. Follow it at {job.get_absolute_url()}"
            )
            return

        def progress(done, total):
            ending = "\n" if done == total else ""
            self.stderr.write(f"\r{done:,} of {total:,} entries checked", ending=ending)

        report = import_bibtex(text, file.name, dry_run=dry_run, progress=progress)
        for row in report.rows:
            for reason in row.reasons:
                self.stdout.write(f"error: {row.entry}: {reason}")
            for warning in row.warnings:
                self.stdout.write(f"warning: {row.entry}: {warning}")
        self.stdout.write(report.summary(written=not dry_run))
