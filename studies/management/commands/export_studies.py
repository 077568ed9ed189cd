from django.core.management.base import BaseCommand

from studies import bibtex, exports
from studies.models import Study

WRITERS = {"json": exports.iter_json, "csv": exports.iter_csv, "bibtex": bibtex.iter_bibtex}


class Command(BaseCommand):
    help = "Write every study in the catalog to stdout as JSON, CSV or BibTeX."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(WRITERS), default="json")

    def handle(self, *args, format, **options):
        studies = Study.objects.for_export().order_by("slug").stream(chunk_size=2000)
        for chunk in WRITERS[format](studies):
            self.stdout.write(chunk, ending="")
