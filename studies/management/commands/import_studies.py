from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.formats import LABELS, detect_format
from studies.importers import UnreadableFile, check_entry_count, decode_upload, import_bibtex
from studies.models import ImportJob


class Command(BaseCommand):
    help = (
        "Import the studies of a BibTeX, RIS, MEDLINE, CSL JSON, ClinicalTrials.gov JSON or "
        "catalog CSV/JSON file. A file with any entry in error writes nothing unless "
        "--skip-errors is given; entries the catalog holds already are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=sorted(LABELS), help="Default: from the content.")
        parser.add_argument("--dry-run", action="store_true", help="Report only; write nothing.")
        parser.add_argument(
            "--skip-errors", action="store_true", help="Import the valid entries of a damaged file."
        )
        parser.add_argument(
            "--accept-updates",
            action="store_true",
            help="Take the newer registry status of trials the catalog holds already.",
        )
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue the import for a worker (manage.py db_worker) and return at once.",
        )

    def handle(self, file, format, dry_run, skip_errors, accept_updates, background, **options):
        if dry_run and background:
            raise CommandError("--dry-run reports at once; it cannot run in the background.")
        if accept_updates and background:
            raise CommandError(
                "--accept-updates needs the preview; run it in the foreground, or accept the "
                "updates on the job's page in the admin."
            )
        try:
            text = decode_upload(file.read_bytes())
        except (OSError, UnreadableFile) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        format = format or detect_format(text, file.name)
        if format is None:
            raise CommandError(f"{file} is empty or in no format the catalog reads.")
        try:
            check_entry_count(text, format)
        except UnreadableFile as error:
            raise CommandError(f"Cannot read {file}: {error}") from error

        if background:
            job = ImportJob.submit(
                text, file.name, confirmed=True, format=format, skip_errors=skip_errors
            )
            self.stdout.write(
                f"Queued import job {job.pk} for {file.name} ({LABELS[format]}); a worker "
                f"(manage.py db_worker) runs it. Follow it at {job.get_absolute_url()}"
            )
            return

        def progress(done, total):
            ending = "\n" if done == total else ""
            self.stderr.write(f"\r{done:,} of {total:,} entries checked", ending=ending)

        report = import_bibtex(
            text,
            file.name,
            dry_run=dry_run,
            progress=progress,
            format=format,
            skip_errors=skip_errors,
            updates="all" if accept_updates else (),
        )
        for row in report.rows:
            for reason in row.reasons:
                self.stdout.write(f"error: {row.entry}: {reason}")
            for warning in row.warnings:
                self.stdout.write(f"warning: {row.entry}: {warning}")
            if row.update:
                changes = ", ".join(f"{name} → {value}" for name, value in row.update.items())
                taken = "updated" if row.existing in report.updated else "update offered"
                self.stdout.write(f"{taken}: {row.entry}: {changes}")
        written = not dry_run and (skip_errors or not report.errors)
        self.stdout.write(f"{LABELS[format]}, {report.summary(written)}")
        if report.errors and not written and not dry_run:
            raise CommandError(
                "Nothing was imported: the file has entries in error. Fix them, or run again "
                "with --skip-errors to import the valid entries."
            )
