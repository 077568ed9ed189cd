"""List pages at scale: our page cold and warm, the floor, and Datasette, in one run.

    python -m benchmarks.list_pages --sqlite /tmp/perf_100k.sqlite3 \\
        --redis redis://127.0.0.1:6379/6 --repeat 15
    python -m benchmarks.list_pages --db pg --pg-name ldn_perf_1m --n 1000000 \\
        --redis redis://127.0.0.1:6379/6 --repeat 10

Our site runs under gunicorn (``--workers``, DEBUG off) with a Redis cache (``--redis``,
a database of its own: the benchmark empties it). Per round, for every URL in turn:

- **cold**: the Redis database emptied, then the page over HTTP. Every worker's cache is
  that one Redis database, so nothing the page computes (catalog version, facet counts,
  the page's row ids) is left anywhere;
- **warm**: the same page again at once, everything read from the cache;
- **floor**: the same data by the fastest hand-written SQL (below), in this process, on
  the same database: its time is SQL only, no HTTP, no rendering;
- **peer** (SQLite): Datasette serving a denormalised copy of the same rows with indexes
  and FTS, asked for the same filters, facets, order and page.

Rounds interleave the four, so that a busy moment of the machine falls on all of them.
Before timing, the floor's count, facets and page ids are checked against what the page
computes (``facets.compute_summary`` and the page's row ids): a floor that returned less
than the page would flatter it.
"""

import argparse
import json
import logging
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

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
from benchmarks.load import resolve
from studies.search_index import CONFIG, FTS5_WEIGHTS

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
# The filters each facet ignores (it counts the results without its own selection).
OWN_FILTERS = {
    "design": ("design",),
    "status": ("status",),
    "year": ("year_min", "year_max"),
    "dose_band": ("dose_band",),
}


def where_clause(filters, postgres, condition_ids, without=(), rows=False):
    """FROM and WHERE for the filters, but for those named in ``without``.

    Each in its fastest form, measured: a condition, for counting, as a join from the link
    table (its index on the condition gives the studies); for a page of rows, as EXISTS
    (the newest-first index is walked to the first 25 matches); search, for counting, as a
    join from the search index.
    """
    tables, clauses, params = "studies_study s", [], []
    filters = {name: value for name, value in filters.items() if name not in without}
    if "condition" in filters and rows:
        clauses.append(
            "EXISTS (SELECT 1 FROM studies_study_conditions sc WHERE sc.study_id = s.id"
            " AND sc.condition_id = %s)"
        )
        params.append(condition_ids[filters["condition"]])
    elif "condition" in filters:
        tables = "studies_study_conditions sc JOIN studies_study s ON s.id = sc.study_id"
        clauses.append("sc.condition_id = %s")
        params.append(condition_ids[filters["condition"]])
    if "design" in filters:
        clauses.append("s.design = %s")
        params.append(filters["design"])
    if "year_min" in filters:
        clauses.append("s.year >= %s")
        params.append(filters["year_min"])
    if "year_max" in filters:
        clauses.append("s.year <= %s")
        params.append(filters["year_max"])
    if "q" in filters:
        # The page's search index (studies/search_index.py): one document per study, an
        # FTS5 table on SQLite, a GIN-indexed tsvector on PostgreSQL, joined by study id;
        # the search text in the form the page writes it (studies.search.parse).
        from studies.search import parse

        tables += " JOIN studies_search f ON f.rowid = s.id"
        if postgres:
            clauses.append(f"f.document @@ to_tsquery('{CONFIG}'::regconfig, %s)")
            params.append(parse(filters["q"]).tsquery())
        else:
            clauses.append("f.studies_search MATCH %s")
            params.append(parse(filters["q"]).fts5())
    return tables, (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def floor(cursor, filters, page, postgres):
    """A list page's data by the least SQL a person would write for it.

    The conditions (their names label the facet); one GROUP BY over the results on the
    columns of the covering index (design, status, year, dose band), which gives the number of
    results and every facet whose own filter is not in use (level from design and decade
    from year, in Python); one more GROUP BY for a facet whose own filter is in use; the
    condition facet and its "none" from the link table alone when nothing else filters,
    otherwise both from one pass over the matching studies joined to their links; the
    catalog's first and last year (the decade facet's range,
    two index lookups); one page of 25 rows in the page's order, their conditions and
    their verdicts. Returns (total, facets, ids).
    """
    cursor.execute("SELECT id, slug, name FROM studies_condition ORDER BY name")
    conditions = cursor.fetchall()
    condition_ids = {slug: pk for pk, slug, _ in conditions}
    tables, where, params = where_clause(filters, postgres, condition_ids)
    cursor.execute(
        f"SELECT s.design, s.status, s.year, s.dose_band, COUNT(*) FROM {tables}{where}"
        " GROUP BY s.design, s.status, s.year, s.dose_band",
        params,
    )
    groups = cursor.fetchall()
    facets = {"design": {}, "status": {}, "year": {}, "dose_band": {}}
    for *values, n in groups:
        for facet, value in zip(facets, values, strict=True):
            facets[facet][value] = facets[facet].get(value, 0) + n
    total = sum(group[-1] for group in groups)
    for column, own in OWN_FILTERS.items():
        if any(name in filters for name in own):
            tables, where, params = where_clause(filters, postgres, condition_ids, without=own)
            cursor.execute(
                f"SELECT s.{column}, COUNT(*) FROM {tables}{where} GROUP BY s.{column}", params
            )
            facets[column] = dict(cursor.fetchall())
    tables, where, params = where_clause(filters, postgres, condition_ids, without=("condition",))
    if where:
        # Each matching study joined to its links: those tied to no condition (the facet's
        # "none") count under NULL.
        cursor.execute(
            f"SELECT l.condition_id, COUNT(*) FROM {tables} LEFT JOIN studies_study_conditions l"
            f" ON l.study_id = s.id{where} GROUP BY l.condition_id",
            params,
        )
        by_id = dict(cursor.fetchall())
        untagged = by_id.pop(None, 0)
    else:
        cursor.execute(
            "SELECT condition_id, COUNT(*) FROM studies_study_conditions GROUP BY condition_id"
        )
        by_id = dict(cursor.fetchall())
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM studies_study)"
            " - (SELECT COUNT(DISTINCT study_id) FROM studies_study_conditions)"
        )
        untagged = cursor.fetchone()[0]
    facets["condition"] = {slug: by_id.get(pk, 0) for pk, slug, _ in conditions}
    facets["condition"]["none"] = untagged
    cursor.execute(
        "SELECT (SELECT MIN(year) FROM studies_study), (SELECT MAX(year) FROM studies_study)"
    )
    cursor.fetchone()
    tables, where, params = where_clause(filters, postgres, condition_ids, rows=True)
    # The page's order: newest first, after the search's rank (best match first).
    order = f"s.year DESC{' NULLS LAST' if postgres else ''}, s.created_at DESC, s.id"
    order_params = []
    if "q" in filters and postgres:
        order = f"ts_rank(f.document, to_tsquery('{CONFIG}'::regconfig, %s)) DESC, {order}"
        order_params = [params[-1]]
    elif "q" in filters:
        weights = ", ".join(str(w) for w in FTS5_WEIGHTS.values())
        order = f"bm25(f.studies_search, {weights}), {order}"
    cursor.execute(
        "SELECT s.id, s.slug, s.title, s.descriptive_title, s.year, s.design,"
        f" s.evidence_level, s.sample_size, s.status FROM {tables}{where}"
        f" ORDER BY {order} LIMIT %s OFFSET %s",
        [*params, *order_params, PAGE_SIZE, (page - 1) * PAGE_SIZE],
    )
    ids = [row[0] for row in cursor.fetchall()]
    if ids:
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            "SELECT study_id, condition_id FROM studies_study_conditions"
            f" WHERE study_id IN ({marks})",
            ids,
        )
        cursor.fetchall()
        cursor.execute(
            "SELECT study_id, condition_id, verdict, certainty FROM studies_effectsummary"
            f" WHERE study_id IN ({marks})",
            ids,
        )
        cursor.fetchall()
    return total, facets, ids


def page_data(url):
    """What our page computes for ``url``: (total, facets, ids), as the floor returns them."""
    from django.core.paginator import Paginator
    from django.http import QueryDict

    from studies import facets
    from studies.filters import StudyFilter

    query = QueryDict(urlsplit(url).query)
    filterset = StudyFilter(query)
    summary = facets.compute_summary(filterset)
    paginator = Paginator(filterset.qs, PAGE_SIZE)
    page = paginator.get_page(query.get("page", 1))
    ids = list(page.object_list.values_list("pk", flat=True))
    shown = {
        facet: {option.value: option.count for option in summary.facets[facet] if option.count}
        for facet in ("condition", "design", "status", "decade", "dose_band")
    }
    return summary.total, shown, ids


def check(label, url, floor_result):
    """Say whether the floor returns what the page shows (count, facets, ids)."""
    total, facets, ids = floor_result
    decades = {}
    for year, n in facets["year"].items():
        if year is not None:
            decades[str(year // 10 * 10)] = decades.get(str(year // 10 * 10), 0) + n
    floor_shown = {
        "condition": {k: v for k, v in facets["condition"].items() if v},
        "dose_band": {k: v for k, v in facets["dose_band"].items() if v},
        "design": {k: v for k, v in facets["design"].items() if v},
        "status": {k: v for k, v in facets["status"].items() if v},
        "decade": decades,
    }
    page_total, page_facets, page_ids = page_data(url)
    problems = []
    if page_total != total:
        problems.append(f"count {page_total} vs {total}")
    for facet, counts in page_facets.items():
        if counts != floor_shown[facet]:
            problems.append(f"{facet} facet differs")
    if page_ids != ids:
        problems.append("page ids differ")
    print(f"  {label:24} {problems or 'same count, facets and ids'}")
    return not problems


PEER_COLUMNS = ["slug", "title", "year", "design", "evidence_level", "sample_size", "status"]


def peer_file(path):
    """A denormalised copy of the studies for Datasette, built once beside ``path``:
    one table with each study's condition slugs as a JSON array and its verdicts and
    outcomes as text, indexes on every column it filters, sorts or facets by, and an FTS5
    index over the text our search reads (title, authors, journal, summary, outcomes)."""
    peer = Path(path).with_name(Path(path).stem + "-datasette.sqlite3")
    if peer.exists():
        return peer
    db = sqlite3.connect(peer)
    db.execute("ATTACH DATABASE ? AS src", [str(path)])
    db.executescript(
        """
        CREATE TABLE study_list (
            id INTEGER PRIMARY KEY, slug TEXT, title TEXT, year INTEGER, created_at TEXT,
            authors TEXT, journal TEXT, summary TEXT, design TEXT, evidence_level INTEGER,
            sample_size INTEGER, status TEXT, conditions TEXT, verdicts TEXT, outcomes TEXT);
        INSERT INTO study_list SELECT s.id, s.slug, s.title, s.year, s.created_at, s.authors,
            s.journal, s.summary, s.design, s.evidence_level, s.sample_size, s.status,
            (SELECT json_group_array(c.slug) FROM src.studies_study_conditions sc
             JOIN src.studies_condition c ON c.id = sc.condition_id WHERE sc.study_id = s.id),
            (SELECT group_concat(c.name || ': ' || e.verdict || ' (' || e.certainty || ')', '; ')
             FROM src.studies_effectsummary e JOIN src.studies_condition c
             ON c.id = e.condition_id WHERE e.study_id = s.id),
            (SELECT group_concat(o.name || ' ' || o.figures, ' | ') FROM src.studies_outcome o
             WHERE o.study_id = s.id)
            FROM src.studies_study s;
        CREATE INDEX study_list_year ON study_list (year);
        CREATE INDEX study_list_design ON study_list (design, year);
        CREATE INDEX study_list_level ON study_list (evidence_level);
        CREATE INDEX study_list_status ON study_list (status);
        CREATE VIRTUAL TABLE study_list_fts USING fts5(
            title, authors, journal, summary, outcomes,
            content="study_list", content_rowid="id");
        INSERT INTO study_list_fts (rowid, title, authors, journal, summary, outcomes)
            SELECT id, title, authors, journal, summary, outcomes FROM study_list;
        ANALYZE;
        """
    )
    db.commit()
    db.close()
    return peer


def peer_path(peer, filters, page):
    """The Datasette JSON URL with the same filters, facets, order, columns and page."""
    params = [
        ("_facet_array", "conditions"),
        ("_facet", "design"),
        ("_facet", "evidence_level"),
        ("_facet", "status"),
        ("_facet", "year"),
        ("_sort_desc", "year"),
        ("_size", str(PAGE_SIZE)),
        *(("_col", column) for column in [*PEER_COLUMNS, "conditions", "verdicts"]),
    ]
    if "condition" in filters:
        params.append(("conditions__arraycontains", filters["condition"]))
    if "design" in filters:
        params.append(("design__exact", filters["design"]))
    if "year_min" in filters:
        params.append(("year__gte", str(filters["year_min"])))
    if "year_max" in filters:
        params.append(("year__lte", str(filters["year_max"])))
    if "q" in filters:
        params.append(("_search", filters["q"]))
    if page > 1:
        # Datasette pages by key, not offset: the token of the row before the page.
        db = sqlite3.connect(peer)
        year, pk = db.execute(
            "SELECT year, id FROM study_list ORDER BY year DESC, id LIMIT 1 OFFSET ?",
            [(page - 1) * PAGE_SIZE - 1],
        ).fetchone()
        db.close()
        params.append(("_next", f"{year},{pk}"))
    return f"/{peer.stem}/study_list.json?" + urlencode(params)


def datasette(peer, port, *extra):
    return server(
        [
            str(BIN / "datasette"),
            "serve",
            str(peer),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            # Compute every facet rather than give up, as our page does.
            *("--setting", "sql_time_limit_ms", "60000"),
            *("--setting", "facet_time_limit_ms", "60000"),
            *("--setting", "suggest_facets", "off"),
            *("--setting", "default_facet_size", "30"),
            *extra,
        ],
        port,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--sqlite", help="an existing SQLite file of synthetic studies")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pg-name", help="an existing PostgreSQL database to use")
    parser.add_argument(
        "--redis", required=True, help="a Redis database for our cache; it is emptied"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    import redis

    if args.sqlite:
        url = f"sqlite:///{args.sqlite}"
    else:
        url = database(args.db, args.n, args.seed, args.pg_name)
    postgres = url.startswith("postgres")
    env = django_env(url, REDIS_URL=args.redis, RATELIMIT_ENABLE="0")
    collectstatic(env)
    setup_django(url, REDIS_URL=args.redis, RATELIMIT_ENABLE="0")
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from django.db import connection

    flush = redis.Redis.from_url(args.redis).flushdb
    peer = None if postgres else peer_file(url.removeprefix("sqlite:///"))
    ours_port, peer_port = free_port(), free_port()
    peer_server = datasette(peer, peer_port) if peer else None
    with gunicorn(env, ours_port, workers=args.workers, extra=["--timeout", "300"]):
        if peer_server:
            peer_server.__enter__()
        try:
            ours = HttpTimer(ours_port)
            other = HttpTimer(peer_port) if peer else None
            pages = []
            print("floor checked against the page:")
            for label, path, filters, page in URLS:
                path, _ = resolve(ours_port, path)  # time the canonical URL
                with connection.cursor() as cursor:
                    result = floor(cursor, filters, page, postgres)
                check(label, path, result)
                peer_url = peer_path(peer, filters, page) if peer else None
                peer_rows = None
                if peer_url:
                    peer_status, _, body = other.get(peer_url)
                    data = json.loads(body) if peer_status == 200 else {}
                    peer_rows = (data.get("filtered_table_rows_count"), len(data.get("rows", [])))
                pages.append((label, path, filters, page, peer_url, result[0], peer_rows))
            times = {
                label: {"cold": [], "warm": [], "floor": [], "peer": []} for label, *_ in pages
            }
            for _ in range(args.repeat):
                for label, path, filters, page, peer_url, _, _ in pages:
                    flush()
                    times[label]["cold"].append(ours.get(path)[1])
                    times[label]["warm"].append(ours.get(path)[1])
                    with connection.cursor() as cursor:
                        started = time.perf_counter()
                        floor(cursor, filters, page, postgres)
                        times[label]["floor"].append(time.perf_counter() - started)
                    if peer_url:
                        times[label]["peer"].append(other.get(peer_url)[1])
        finally:
            if peer_server:
                peer_server.__exit__(None, None, None)
    report(args, url, pages, times)


def report(args, url, pages, times):
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"\n{kind}; gunicorn {args.workers} workers, Redis cache emptied before each cold"
        f" request; {args.repeat} interleaved rounds; ms"
    )
    print(
        f"{'URL':24} {'rows':>8} {'cold p50':>9} {'p95':>8} {'warm p50':>9} {'floor p50':>9}"
        f" {'peer p50':>9} {'peer rows':>10} {'cold/floor':>10} {'cold/peer':>9}"
    )
    for label, _, _, _, _, total, peer_rows in pages:
        t = times[label]
        cold, floor_ = percentile(t["cold"], 50), percentile(t["floor"], 50)
        peer = percentile(t["peer"], 50) if t["peer"] else None
        print(
            f"{label:24} {total:>8} {ms(cold)} {ms(percentile(t['cold'], 95))}"
            f" {ms(percentile(t['warm'], 50))} {ms(floor_)} "
            f"{ms(peer) if peer else '       -'} {(peer_rows or ('-',))[0]!s:>10}"
            f" {cold / floor_:10.2f} {(cold / peer) if peer else float('nan'):9.2f}"
        )


if __name__ == "__main__":
    main()
