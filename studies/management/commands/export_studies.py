from django.core.management.base import BaseCommand

from studies.exports import FORMATS
from studies.models import Study


class Command(BaseCommand):
    help = "Write every study in the catalog to stdout as JSON, CSV, BibTeX or RIS."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(FORMATS), default="json")

    def handle(self, *args, format, **options):
        for text in FORMATS[format].stream(Study.objects.order_by("slug")):
            self.stdout.write(text, ending="")
