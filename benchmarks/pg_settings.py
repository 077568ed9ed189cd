"""PostgreSQL session settings against the SQL of the slowest list pages.

    python -m benchmarks.pg_settings --pg-name ldn_perf_1m --repeat 3 \\
        --variant "jit=on,work_mem=4MB" --variant "jit=off,work_mem=4MB" \\
        --variant "jit=off,work_mem=16MB" --variant "jit=off,work_mem=64MB"

For each URL, the SQL its page runs with the cache empty is captured once (in this
process, through the test client); then, in interleaved rounds, each variant's settings
are SET on one connection and the page's queries run in order. Prints the median and the
fastest total per URL and variant, and the slowest query's median: the database's share
of a cold page, without HTTP or rendering. Server settings that need a restart
(``shared_buffers``) are compared by running this before and after the change.
"""

import argparse
import statistics
import time

from benchmarks.common import PG_SERVER, ms, setup_django

URLS = [
    "/studies/",
    "/studies/?condition=fibromyalgia",
    "/studies/?condition=fibromyalgia&design=rct&year_min=2010&year_max=2024",
    "/studies/?q=pain",
    "/studies/?page=500",
]


def page_sql(url):
    """The SQL statements the page at ``url`` runs with an empty cache, in order."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [q["sql"] for q in queries.captured_queries]


def run(cursor, settings, statements):
    for name, value in settings:
        cursor.execute(f"SET {name} = %s", [value])
    times = []
    for sql in statements:
        started = time.perf_counter()
        cursor.execute(sql)
        cursor.fetchall()
        times.append(time.perf_counter() - started)
    cursor.execute("RESET ALL")
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-name", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", action="append", help="a list URL (default: five)")
    parser.add_argument(
        "--variant", action="append", required=True, help="settings, e.g. jit=off,work_mem=16MB"
    )
    args = parser.parse_args()
    setup_django(f"{PG_SERVER}/{args.pg_name}", ALLOWED_HOSTS="testserver", RATELIMIT_ENABLE="0")
    from django.db import connection

    variants = [
        (text, [tuple(part.split("=", 1)) for part in text.split(",")]) for text in args.variant
    ]
    urls = args.url or URLS
    statements = {url: page_sql(url) for url in urls}
    results = {(url, text): [] for url in urls for text, _ in variants}
    with connection.cursor() as cursor:
        for _ in range(args.repeat):
            for url in urls:
                for text, settings in variants:
                    results[url, text].append(run(cursor, settings, statements[url]))
    print(
        f"{args.repeat} interleaved rounds; the page's SQL, ms (median total / fastest total"
        " / median of its slowest query)"
    )
    for url in urls:
        print(f"\n{url} ({len(statements[url])} queries)")
        for text, _ in variants:
            rounds = results[url, text]
            totals = [sum(r) for r in rounds]
            slowest = max(
                range(len(rounds[0])), key=lambda i: statistics.median(r[i] for r in rounds)
            )
            print(
                f"  {text:32} {ms(statistics.median(totals))} {ms(min(totals))}"
                f" {ms(statistics.median(r[slowest] for r in rounds))}"
            )


if __name__ == "__main__":
    main()
