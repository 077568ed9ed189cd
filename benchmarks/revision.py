"""What reading the catalog revision costs each public request, and a 304 revalidation.

    python -m benchmarks.revision --db sqlite --size 10000
    python -m benchmarks.revision --db postgres --size 10000 --pg-name ldn_revision_bench

Every public request reads the revision once by primary key (studies/caching.py). Printed,
as medians of interleaved rounds: that read as the site does it (read_catalog_version),
the floor (the bare SELECT on a cursor, checked to return the same row), and a whole
conditional GET of the list answered 304 (the revision read is all the database work it
does).
"""

import argparse
import statistics
import time

from benchmarks.common import collectstatic, database, django_env, setup_django


def median_us(samples):
    return f"{statistics.median(samples) * 1e6:8.1f} µs"


def run(database_url, rounds):
    # Persistent connections, as docs/deployment.md recommends: with a new connection per
    # request the first query measured would pay for connecting and a cold server process.
    setup_django(database_url, CONN_MAX_AGE=60)
    from django.db import connection
    from django.test import Client

    from studies.caching import read_catalog_version

    quote = connection.ops.quote_name
    sql = f"SELECT {quote('number')}, {quote('changed_at')} FROM {quote('studies_catalogrevision')} WHERE {quote('id')} = 1"  # noqa: E501
    with connection.cursor() as cursor:
        cursor.execute(sql)
        number, _ = cursor.fetchone()
    assert read_catalog_version()[0].startswith(f"r{number}-"), "floor reads another row"

    client = Client()
    etag = client.get("/studies/").headers["ETag"]
    site, floor, revalidate = [], [], []
    for _ in range(rounds):  # interleaved, so a noisy moment hits all three alike
        started = time.perf_counter()
        read_catalog_version()
        site.append(time.perf_counter() - started)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchone()
        floor.append(time.perf_counter() - started)
        started = time.perf_counter()
        status = client.get("/studies/", headers={"if_none_match": etag}).status_code
        revalidate.append(time.perf_counter() - started)
        assert status == 304
    print(f"{connection.vendor}, {rounds} rounds (medians)")
    print(f"  revision read (the site's)   {median_us(site)}")
    print(f"  floor (hand-written SELECT)  {median_us(floor)}")
    print(
        f"  ratio                        {statistics.median(site) / statistics.median(floor):8.1f}×"
    )
    print(f"  304 of /studies/ (whole)     {median_us(revalidate)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--pg-name", default="ldn_revision_bench")
    args = parser.parse_args()
    url = database(args.db, args.size, pg_name=args.pg_name if args.db == "postgres" else None)
    collectstatic(django_env(url))  # pages name their static files from the manifest
    run(url, args.rounds)


if __name__ == "__main__":
    main()
