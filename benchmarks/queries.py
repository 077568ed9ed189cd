"""SQL queries per page, at two database sizes and two page sizes.

    python -m benchmarks.queries --db sqlite --sizes 1000 10000

The count must not grow with the database or with the page: a list page that runs more
queries for 100 rows than for 10 has an N+1. Each page is counted cold (cache cleared:
the facet counts and the page's rows computed) and warm (the same page again). Each
database size runs in its own process (Django binds one database per process); the page
size is changed by patching ``studies.views.PAGE_SIZE``.
"""

import argparse
import contextlib
import json
import subprocess
import sys
from unittest import mock

from benchmarks.common import ROOT, database, setup_django

PAGE_SIZES = (10, 100)


def pages():
    from studies.models import Condition, Study

    study = Study.objects.filter(outcomes__isnull=False, claims__isnull=False).first()
    condition = Condition.objects.get(slug="fibromyalgia")
    return [
        ("list", "/studies/"),
        ("list, filtered", "/studies/?condition=fibromyalgia&design=rct"),
        ("study", study.get_absolute_url()),
        ("condition", condition.get_absolute_url()),
        ("home", "/"),
    ]


def count_queries(database_url):
    """{page: {page size: [status, queries]}} for this process's database."""
    setup_django(database_url)
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from studies import views

    client = Client(raise_request_exception=False)  # a broken page shows as a 500
    counts = {}
    for label, url in pages():
        counts[label] = {}
        for size in PAGE_SIZES:
            patch = (
                mock.patch.object(views, "PAGE_SIZE", size)
                if hasattr(views, "PAGE_SIZE")
                else contextlib.nullcontext()
            )
            with patch:
                cache.clear()  # cold: counts and page rows computed
                with CaptureQueriesContext(connection) as cold:
                    response = client.get(url, follow=True)
                with CaptureQueriesContext(connection) as warm:  # from the cache
                    client.get(url, follow=True)
            counts[label][size] = [response.status_code, len(cold), len(warm)]
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: one database
    args = parser.parse_args()
    if args.one:
        print(json.dumps(count_queries(args.one)))
        return
    results = {}
    for n in args.sizes:
        url = database(args.db, n)
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.queries", "--one", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if child.returncode:
            sys.exit(child.stderr)
        results[n] = json.loads(child.stdout.strip().splitlines()[-1])
    columns = [(n, size) for n in args.sizes for size in PAGE_SIZES]
    print(
        f"SQL queries per page ({args.db}), cold/warm (warm: the counts and rows kept per "
        "catalog version come from the cache); columns: studies in the database × page size"
    )
    print(f"{'page':16}" + "".join(f"{f'{n}×{size}':>14}" for n, size in columns))
    for label in results[args.sizes[0]]:
        cells = []
        for n, size in columns:
            status, cold, warm = results[n][label][str(size)]
            cells.append(f"{cold}/{warm}{'' if status == 200 else f' ({status})'}")
        print(f"{label:16}" + "".join(f"{cell:>14}" for cell in cells))


if __name__ == "__main__":
    main()
