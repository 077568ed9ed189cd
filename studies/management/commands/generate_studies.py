from django.core.management.base import BaseCommand, CommandError

from benchmarks.synthetic import generate_studies


class Command(BaseCommand):
    help = "Append N realistic synthetic studies (for benchmarks; deterministic for a seed)."

    def add_arguments(self, parser):
        parser.add_argument("n", type=int)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--database", default="default")

    def handle(self, n, seed, database, verbosity, **options):
        if n < 1:
            raise CommandError("N must be a positive number of studies.")
        counts = generate_studies(n, seed=seed, using=database)
        if verbosity:
            self.stdout.write(", ".join(f"{count} {name}" for name, count in counts.items()))
