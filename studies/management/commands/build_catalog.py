from django.core.management.base import BaseCommand, CommandError

from studies import catalog_fixture, curation


class Command(BaseCommand):
    help = "Build fixtures/catalog.json from the curated YAML in fixtures/curation/."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Build in memory and fail if fixtures/catalog.json differs from it.",
        )

    def handle(self, *args, check=False, **options):
        try:
            if check:
                if not catalog_fixture.is_current():
                    raise CommandError(
                        "fixtures/catalog.json is not what the curated YAML builds: "
                        "run `make catalog` and commit the result."
                    )
                self.stdout.write("fixtures/catalog.json is up to date.")
                return
            count = catalog_fixture.build()
        except curation.CurationError as error:
            raise CommandError(f"The curated catalog breaks a rule: {error}") from error
        self.stdout.write(f"Wrote {count} studies to {catalog_fixture.FIXTURE_PATH}.")
