"""List pages at scale: our page vs the floor (minimal SQL) vs the peer (Datasette).

    python -m benchmarks.list_pages --db sqlite --n 100000 --repeat 20
    python -m benchmarks.list_pages --db pg --n 1000000 --pg-name ldn_perf_1m --repeat 10

Prints, per URL: p50/p95 of the page in-process (django.test.Client, the full stack minus
the socket), cold (cache cleared before each view: the catalog version and the facet
counts are computed) and warm (the counts come from the cache); p50/p95 of the floor
(the same data: count, facet counts for condition/design/level/status/year each without
its own selection, and one page of 25 rows in the same order with their conditions, by
hand-written SQL on the same connection); and cold page ÷ floor.
With --peer (SQLite only) it also serves our site with gunicorn (1 worker, so warm) and
the same file with Datasette, and times both over HTTP: ours ÷ Datasette's per URL.
"""

import argparse
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.common import (
    BIN,
    HttpTimer,
    collectstatic,
    database,
    django_env,
    free_port,
    gunicorn,
    ms,
    percentile,
    server,
    setup_django,
)

PAGE_SIZE = 25
# (label, our URL, the filters it applies, the page it shows)
URLS = [
    ("unfiltered", "/studies/", {}, 1),
    ("condition", "/studies/?condition=fibromyalgia", {"condition": "fibromyalgia"}, 1),
    (
        "condition+design+years",
        "/studies/?condition=fibromyalgia&design=rct&year_min=2010&year_max=2024",
        {"condition": "fibromyalgia", "design": "rct", "year_min": 2010, "year_max": 2024},
        1,
    ),
    ("search", "/studies/?q=pain", {"q": "pain"}, 1),
    ("deep page", "/studies/?page=500", {}, 500),
]


TSQUERY = "websearch_to_tsquery('english', %s)"


def where_clause(filters, postgres, without=()):
    """WHERE for the filters, but for those named in ``without``."""
    clauses, params = [], []
    filters = {name: value for name, value in filters.items() if name not in without}
    if "condition" in filters:
        clauses.append(
            "s.id IN (SELECT sc.study_id FROM studies_study_conditions sc"
            " JOIN studies_condition c ON c.id = sc.condition_id WHERE c.slug = %s)"
        )
        params.append(filters["condition"])
    if "design" in filters:
        clauses.append("s.design = %s")
        params.append(filters["design"])
    if "year_min" in filters:
        clauses.append("s.year >= %s")
        params.append(filters["year_min"])
    if "year_max" in filters:
        clauses.append("s.year <= %s")
        params.append(filters["year_max"])
    if "q" in filters and postgres:
        # The page's full-text search: the stored vectors of migration 0005, a union of
        # two index scans (with OR, PostgreSQL checks each study against the outcomes'
        # matches one by one once they outgrow work_mem: hours at a million studies).
        clauses.append(
            f"s.id IN (SELECT id FROM studies_study WHERE search_vector @@ {TSQUERY}"
            f" UNION SELECT study_id FROM studies_outcome WHERE search_vector @@ {TSQUERY})"
        )
        params += [filters["q"]] * 2
    elif "q" in filters:
        # The page's substring search (LIKE ignores ASCII case in SQLite).
        columns = ("s.title", "s.authors", "s.journal", "s.summary", "o.name", "o.figures")
        clauses.append(
            "(s.title LIKE %s OR s.authors LIKE %s OR s.journal LIKE %s OR s.summary LIKE %s"
            " OR EXISTS (SELECT 1 FROM studies_outcome o WHERE o.study_id = s.id"
            " AND (o.name LIKE %s OR o.figures LIKE %s)))"
        )
        params += [f"%{filters['q']}%"] * len(columns)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


# Each facet counts the results without its own selection, as the page's facets do
# (studies/facets.py): the filters a facet ignores, by the column it counts.
OWN_FILTERS = {"design": ("design",), "year": ("year_min", "year_max")}


def floor(cursor, filters, page, postgres):
    """What a list page shows, by the least SQL a person would write for it.

    The same data as the page: the number of results, one page of 25 rows with their
    conditions, and the facets for condition, design, level, status and year, each
    counted without its own selection. One GROUP BY over the results gives the number and
    every facet whose filter is not in use; a facet whose filter is in use takes one more
    GROUP BY without it. Free text matches as the page's search does: the five columns
    and the outcomes by substring on SQLite, the stored full-text vectors on PostgreSQL
    (ranked).
    """
    where, params = where_clause(filters, postgres)
    cursor.execute(
        "SELECT s.design, s.evidence_level, s.status, s.year, COUNT(*)"
        f" FROM studies_study s{where} GROUP BY s.design, s.evidence_level, s.status, s.year",
        params,
    )
    groups = cursor.fetchall()
    total = sum(group[-1] for group in groups)
    facets = {}
    for index, column in enumerate(("design", "evidence_level", "status", "year")):
        counts = facets[column] = {}
        for group in groups:
            counts[group[index]] = counts.get(group[index], 0) + group[-1]
    for column, own in OWN_FILTERS.items():
        if any(name in filters for name in own):
            where, params = where_clause(filters, postgres, without=own)
            cursor.execute(
                f"SELECT s.{column}, COUNT(*) FROM studies_study s{where} GROUP BY s.{column}",
                params,
            )
            facets[column] = dict(cursor.fetchall())
    where, params = where_clause(filters, postgres, without=("condition",))
    cursor.execute(
        "SELECT sc.condition_id, COUNT(*) FROM studies_study_conditions sc"
        f" JOIN studies_study s ON s.id = sc.study_id{where} GROUP BY sc.condition_id",
        params,
    )
    facets["condition"] = cursor.fetchall()
    where, params = where_clause(filters, postgres)
    # The page's order: "newest" (SQLite puts NULLs last when descending), after the
    # full-text rank when searching on PostgreSQL.
    order = f"s.year DESC{' NULLS LAST' if postgres else ''}, s.created_at DESC, s.id"
    order_params = []
    if "q" in filters and postgres:
        order = f"ts_rank(s.search_vector, {TSQUERY}) DESC, {order}"
        order_params = [filters["q"]]
    cursor.execute(
        "SELECT s.id, s.slug, s.title, s.year, s.authors, s.journal, s.design,"
        f" s.evidence_level, s.status FROM studies_study s{where}"
        f" ORDER BY {order} LIMIT %s OFFSET %s",
        [*params, *order_params, PAGE_SIZE, (page - 1) * PAGE_SIZE],
    )
    rows = cursor.fetchall()
    ids = [row[0] for row in rows]
    if ids:
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            "SELECT sc.study_id, c.slug, c.name FROM studies_study_conditions sc"
            f" JOIN studies_condition c ON c.id = sc.condition_id WHERE sc.study_id IN ({marks})",
            ids,
        )
        cursor.fetchall()
    return total, facets, rows


def time_calls(call, repeat, before=None):
    call()  # warm caches: every figure is a warm repeat view
    times = []
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def in_process(database_url, repeat):
    setup_django(database_url)
    logging.getLogger("django.request").setLevel(logging.ERROR)  # 404s until the pages exist
    from django.core.cache import cache
    from django.db import connection
    from django.http import QueryDict
    from django.test import Client

    from studies.filters import StudyFilter

    client = Client(raise_request_exception=False)
    postgres = connection.vendor == "postgresql"
    results = []
    for label, url, filters, page in URLS:
        response = client.get(url)
        if response.status_code in (301, 302):  # time the canonical URL the page redirects to
            url = response["Location"]
            response = client.get(url)
        status = response.status_code
        failed = status >= 500  # e.g. over the statement timeout (503): not worth repeating
        # Cold: the cached catalog version and facet counts cleared before each view, as
        # after any change to the catalog. Warm: the same page again, counts from the cache.
        cold_times = (
            [] if failed else time_calls(lambda url=url: client.get(url), repeat, cache.clear)
        )
        page_times = [] if failed else time_calls(lambda url=url: client.get(url), repeat)
        with connection.cursor() as cursor:
            total = floor(cursor, filters, page, postgres)[0]
        ours = StudyFilter(QueryDict(urlsplit(url).query)).qs.count()
        if ours != total:
            print(f"{label}: the page has {ours} studies, the floor {total}", flush=True)
        with connection.cursor() as cursor:
            floor_times = time_calls(
                lambda filters=filters, page=page: floor(cursor, filters, page, postgres), repeat
            )
        results.append((label, url, status, total, cold_times, page_times, floor_times))
    return results


def datasette_setup(path):
    """A view with each study's condition slugs as a JSON array, for Datasette's facets."""
    import sqlite3

    db = sqlite3.connect(path)
    db.execute(
        "CREATE VIEW IF NOT EXISTS study_list AS SELECT s.id, s.slug, s.title, s.year,"
        " s.authors, s.journal, s.design, s.evidence_level, s.status,"
        " (SELECT json_group_array(c.slug) FROM studies_study_conditions sc"
        "  JOIN studies_condition c ON c.id = sc.condition_id WHERE sc.study_id = s.id)"
        " AS conditions FROM studies_study s"
    )
    db.commit()
    db.close()


def datasette_path(database_name, filters, page):
    """The Datasette JSON URL with the same filters, facets, order and page."""
    params = [
        "_facet_array=conditions",
        "_facet=design",
        "_facet=evidence_level",
        "_facet=status",
        "_facet=year",
        "_sort_desc=year",
        f"_size={PAGE_SIZE}",
    ]
    if "condition" in filters:
        params.append(f"conditions__arraycontains={filters['condition']}")
    if "design" in filters:
        params.append(f"design__exact={filters['design']}")
    if "year_min" in filters:
        params.append(f"year__gte={filters['year_min']}")
    if "year_max" in filters:
        params.append(f"year__lte={filters['year_max']}")
    if "q" in filters:
        params.append(f"title__contains={filters['q']}")
    if page > 1:
        params.append(f"_next={(page - 1) * PAGE_SIZE}")  # a view pages by offset
    return f"/{database_name}/study_list.json?" + "&".join(params)


def over_http(database_url, repeat, our_urls):
    path = database_url.removeprefix("sqlite:///")
    datasette_setup(path)
    env = django_env(database_url)
    collectstatic(env)
    ours, peer = free_port(), free_port()
    datasette = [
        str(BIN / "datasette"),
        "serve",
        path,
        "--host",
        "127.0.0.1",
        "--port",
        str(peer),
        "--setting",
        "sql_time_limit_ms",
        "60000",
        "--setting",
        "facet_time_limit_ms",
        "60000",
        "--setting",
        "suggest_facets",
        "off",
        "--setting",
        "default_facet_size",
        "30",
    ]
    results = []
    with gunicorn(env, ours, workers=1), server(datasette, peer, env=env):
        our_client, peer_client = HttpTimer(ours), HttpTimer(peer)
        for (label, _, filters, page), url in zip(URLS, our_urls, strict=True):
            peer_url = datasette_path(Path(path).stem, filters, page)
            our_status = our_client.get(url)[0]
            status, _, body = peer_client.get(peer_url)
            peer_total = (
                json.loads(body).get("filtered_table_rows_count") if status == 200 else None
            )
            our_times = time_calls(lambda url=url: our_client.get(url), repeat)
            peer_times = time_calls(lambda u=peer_url: peer_client.get(u), repeat)
            results.append((label, our_status, status, peer_total, our_times, peer_times))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pg-name", help="an existing PostgreSQL database to use")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--timeout",
        type=int,
        default=120,
        help="PostgreSQL statement timeout (s); a page over it is a 500",
    )
    parser.add_argument("--peer", action="store_true", help="also time ours vs Datasette (SQLite)")
    args = parser.parse_args()
    url = database(args.db, args.n, args.seed, args.pg_name)
    collectstatic(django_env(url))  # DEBUG is off: pages need the static manifest
    print(f"{args.db}, {args.n} studies, {args.repeat} warm repeats; times in ms\n")
    print(
        f"{'URL':24} {'status':>6} {'rows':>8} {'cold p50':>9} {'p95':>8} {'warm p50':>9}"
        f" {'p95':>8} {'floor p50':>9} {'p95':>8} {'cold/floor':>10}"
    )
    # A runaway page query is stopped, not waited for.
    timeout = f"?options=-c%20statement_timeout%3D{args.timeout * 1000}" if args.db == "pg" else ""
    local = in_process(url + timeout, args.repeat)
    for label, _, status, total, cold_times, page_times, floor_times in local:
        if status >= 500:
            print(
                f"{label:24} {status:>6} {total:>8}  page failed (over --timeout?); floor p50 "
                f"{ms(percentile(floor_times, 50))}"
            )
            continue
        ratio = percentile(cold_times, 50) / percentile(floor_times, 50)
        print(
            f"{label:24} {status:>6} {total:>8} {ms(percentile(cold_times, 50))} "
            f"{ms(percentile(cold_times, 95))} {ms(percentile(page_times, 50))} "
            f"{ms(percentile(page_times, 95))} {ms(percentile(floor_times, 50))}  "
            f"{ms(percentile(floor_times, 95))} {ratio:10.2f}"
            + ("   (page not there yet)" if status == 404 else "")
        )
    if args.peer:
        if args.db != "sqlite":
            parser.error("--peer compares with Datasette, which serves SQLite")
        print("\nover HTTP on loopback: gunicorn (1 worker, warm) vs Datasette, same file")
        print(
            f"{'URL':24} {'ours':>6} {'peer':>6} {'peer rows':>9} {'ours p50':>9} {'p95':>8}"
            f" {'peer p50':>9} {'p95':>8} {'ours/peer':>9}"
        )
        for label, ours, status, total, our_times, peer_times in over_http(
            url, args.repeat, [row[1] for row in local]
        ):
            ratio = percentile(our_times, 50) / percentile(peer_times, 50)
            print(
                f"{label:24} {ours:>6} {status:>6} {total!s:>9} {ms(percentile(our_times, 50))} "
                f"{ms(percentile(our_times, 95))} {ms(percentile(peer_times, 50))}  "
                f"{ms(percentile(peer_times, 95))} {ratio:9.2f}"
            )


if __name__ == "__main__":
    main()
