import time

from django.core.management.base import BaseCommand, CommandError

from studies import warmup


class Command(BaseCommand):
    help = (
        "Compute the catalog's cached counts (home, condition pages, the study list by "
        "condition and design) ahead of the first reader, after a deploy or a catalog change."
    )

    def handle(self, *args, **options):
        if not warmup.cache_is_shared():
            raise CommandError(
                "The cache is each process's own memory, so warming it from here cannot "
                "reach the servers: set CACHE_DIR (files shared by the workers of one "
                "machine) or REDIS_URL."
            )
        if not warmup.cache_keeps():
            raise CommandError(
                "The cache keeps nothing (is Redis at REDIS_URL running?), so nothing was warmed."
            )
        started = time.perf_counter()
        failed = []
        count = 0
        for path, status in warmup.warm():
            count += 1
            if status != 200:
                failed.append(f"{path} ({status})")
        if failed:
            raise CommandError("These pages did not answer 200: " + ", ".join(failed))
        seconds = time.perf_counter() - started
        self.stdout.write(f"Warmed {count} pages in {seconds:.1f} s.")
