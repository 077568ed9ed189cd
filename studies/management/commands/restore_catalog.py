from django.core.management.base import BaseCommand

from studies import backups


class Command(BaseCommand):
    help = (
        "Restore a backup written by backup_catalog. A JSON dump goes into an empty, "
        "migrated database; a pg archive replaces the database's contents."
    )

    def add_arguments(self, parser):
        parser.add_argument("input", help="The backup file.")
        parser.add_argument("--database", default="default")

    def handle(self, **options):
        backups.restore(options["input"], using=options["database"])
        self.stdout.write(f"Restored the catalog from {options['input']}.")
