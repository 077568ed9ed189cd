from django.core.management.base import BaseCommand

from studies import backups


class Command(BaseCommand):
    help = "Write a backup of the catalog: a portable JSON dump or a pg_dump archive."

    def add_arguments(self, parser):
        parser.add_argument("output", help="The file to write.")
        parser.add_argument("--format", choices=["json", "pg"], default="json")
        parser.add_argument("--database", default="default")

    def handle(self, **options):
        backups.backup(options["output"], options["format"], using=options["database"])
        self.stdout.write(f"Wrote a {options['format']} backup to {options['output']}.")
