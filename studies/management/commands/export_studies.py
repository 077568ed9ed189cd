from django.core.management.base import BaseCommand

from studies import bibtex, exports
from studies.models import Study

WRITERS = {  # writer, the related rows it writes (none named: all)
    "json": (exports.iter_json, ()),
    "csv": (exports.iter_csv, exports.CSV_RELATIONS),
    "bibtex": (bibtex.iter_bibtex, bibtex.RELATIONS),
}


class Command(BaseCommand):
    help = "Write every study in the catalog to stdout as JSON, CSV or BibTeX."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(WRITERS), default="json")

    def handle(self, *args, format, **options):
        writer, relations = WRITERS[format]
        studies = Study.objects.for_export(*relations).order_by("slug").stream(chunk_size=2000)
        for chunk in writer(studies):
            self.stdout.write(chunk, ending="")
