"""Search pages: ours against Datasette's own full-text search on the same SQLite file.

    SECRET_KEY=x .venv/bin/python manage.py generate_studies 100000 --seed 0   # into the file
    .venv/bin/python -m benchmarks.search --sqlite /tmp/search_bench.sqlite3
    .venv/bin/python -m benchmarks.search --pg-name ldn_search_1m              # PostgreSQL

Four searches: ``pain`` (more than half the studies), two words, a rare word and a
misspelling. Each is timed over HTTP against gunicorn (one worker) with a Redis cache:

- cold: Redis emptied before every request (the catalog version, facet counts, page ids
  and the suggestion vocabulary gone, in every worker);
- warm: the same page again;
- floor: the fastest hand-written SQL for the page's data (the list's floor,
  benchmarks/list_pages.py: count, every facet, the 25 rows in best-match order), in
  process, checked to find as many studies as the page says;
- Datasette (SQLite only): ``_search=`` on a denormalised table of the same studies with
  FTS5 enabled the way Datasette expects (``<table>_fts``, external content, porter
  tokenizer), 25 rows, best match first; once without and once with the facets our page
  shows. Interleaved with ours in the same run, over keep-alive connections.

Medians (p50) and ratios are printed; on a shared machine, repeat and compare ratios.
"""

import argparse
import json
import re
import statistics
import time
from urllib.parse import quote, urlencode

from benchmarks.common import (
    BIN,
    PG_SERVER,
    HttpTimer,
    collectstatic,
    django_env,
    free_port,
    gunicorn,
    ms,
    percentile,
    server,
)
from benchmarks.list_pages import floor as list_floor

SEARCHES = [
    ("pain (most studies)", "pain"),
    ("two words", "crohn remission"),
    ("rare word", "planopilaris"),
    ("misspelling", "fibromialgia"),
]
PAGE_SIZE = 25
REDIS_DB = 5
DENORMALISED = "search_peer"


def datasette_setup(path):
    """A denormalised table of the searched fields, with Datasette's FTS5 convention."""
    import sqlite3

    db = sqlite3.connect(path)
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE name = ?", [f"{DENORMALISED}_fts"]
    ).fetchone()
    if not exists:
        db.executescript(
            f"""
            DROP TABLE IF EXISTS {DENORMALISED};
            CREATE TABLE {DENORMALISED} AS
            SELECT s.id, s.slug, s.title, s.year, s.design, s.status,
              (SELECT group_concat(value, ' ') FROM json_each(s.authors)) AS authors,
              s.journal, s.summary,
              (SELECT group_concat(o.name || ' ' || o.figures, ' ')
                 FROM studies_outcome o WHERE o.study_id = s.id) AS outcomes,
              (SELECT group_concat(c.name, ' ') FROM studies_condition c
                 JOIN studies_study_conditions l ON l.condition_id = c.id
                 WHERE l.study_id = s.id) AS conditions,
              coalesce(s.doi, '') || ' ' || coalesce(s.pmid, '') || ' '
                || coalesce(s.registry_id, '') AS identifiers
            FROM studies_study s;
            CREATE UNIQUE INDEX {DENORMALISED}_id ON {DENORMALISED}(id);
            CREATE VIRTUAL TABLE {DENORMALISED}_fts USING fts5(
              title, authors, journal, summary, outcomes, conditions, identifiers,
              content="{DENORMALISED}", content_rowid="id", tokenize="porter unicode61");
            INSERT INTO {DENORMALISED}_fts({DENORMALISED}_fts) VALUES ('rebuild');
            ANALYZE;
            """
        )
    db.commit()
    db.close()


def datasette_path(database_name, text, facets):
    params = [("_search", text), ("_size", str(PAGE_SIZE)), ("_shape", "objects")]
    if facets:
        params += [("_facet", "design"), ("_facet", "status"), ("_facet", "year")]
    return f"/{database_name}/{DENORMALISED}.json?" + urlencode(params)


def our_path(text):
    return "/studies/?" + urlencode({"q": text})


def our_total(body):
    match = re.search(rb"<h1[^>]*><bdi>[^<]*?([\d,]+) stud", body)
    return int(match.group(1).replace(b",", b"")) if match else None


def floor(cursor, text, postgres):
    """The page's data by the fastest hand-written SQL: the list's floor for ``?q=text``
    (the count, every facet with the condition facet's "none", the 25 best matches with
    their conditions and verdicts; benchmarks/list_pages.py, whose check compares it with
    what the page computes). Returns the number of studies found."""
    total, _, _ = list_floor(cursor, {"q": text}, 1, postgres)
    return total


def time_floor(database_url, repeat):
    from benchmarks.common import setup_django

    setup_django(database_url)
    from django.db import connection

    postgres = connection.vendor == "postgresql"
    results = {}
    with connection.cursor() as cursor:
        for _, text in SEARCHES:
            total = floor(cursor, text, postgres)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                floor(cursor, text, postgres)
                times.append(time.perf_counter() - started)
            results[text] = (total, times)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite", help="a SQLite file with generated studies")
    parser.add_argument("--pg-name", help="a PostgreSQL database with generated studies")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-peer", action="store_true", help="leave Datasette out")
    parser.add_argument(
        "--redis",
        default=f"redis://127.0.0.1:6379/{REDIS_DB}",
        help="a Redis database for our cache; it is emptied (default: database %(default)s)",
    )
    args = parser.parse_args()
    if bool(args.sqlite) == bool(args.pg_name):
        parser.error("give one of --sqlite or --pg-name")
    url = f"sqlite:///{args.sqlite}" if args.sqlite else f"{PG_SERVER}/{args.pg_name}"
    peer = bool(args.sqlite) and not args.no_peer
    if peer:
        datasette_setup(args.sqlite)
    env = django_env(url, REDIS_URL=args.redis)
    import redis

    flush = redis.Redis.from_url(args.redis).flushdb
    collectstatic(env)
    floors = time_floor(url, args.repeat)

    ours_port, peer_port = free_port(), free_port()
    datasette = [
        str(BIN / "datasette"),
        "serve",
        args.sqlite or "",
        "--host",
        "127.0.0.1",
        "--port",
        str(peer_port),
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
        "num_sql_threads",
        "1",
    ]
    rows = []
    with gunicorn(env, ours_port, workers=1):
        peer_server = server(datasette, peer_port) if peer else None
        if peer_server:
            peer_server.__enter__()
        try:
            ours = HttpTimer(ours_port)
            theirs = HttpTimer(peer_port) if peer else None
            name = args.sqlite.rsplit("/", 1)[1].removesuffix(".sqlite3") if peer else ""
            for label, text in SEARCHES:
                path = our_path(text)
                status, _, body = ours.get(path)
                total = our_total(body)
                cold, warm, plain, faceted = [], [], [], []
                peer_total = None
                if peer:
                    status_p, _, body_p = theirs.get(datasette_path(name, text, False))
                    peer_total = json.loads(body_p).get("filtered_table_rows_count")
                for _ in range(args.repeat):
                    # Interleaved: ours cold, ours warm, Datasette plain, Datasette faceted.
                    flush()
                    cold.append(ours.get(path)[1])
                    warm.append(ours.get(path)[1])
                    if peer:
                        plain.append(theirs.get(datasette_path(name, text, False))[1])
                        faceted.append(theirs.get(datasette_path(name, text, True))[1])
                floor_total, floor_times = floors[text]
                rows.append(
                    (
                        label,
                        text,
                        status,
                        total,
                        floor_total,
                        peer_total,
                        cold,
                        warm,
                        floor_times,
                        plain,
                        faceted,
                    )
                )
        finally:
            if peer_server:
                peer_server.__exit__(None, None, None)

    kind = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"{kind}, {args.repeat} repeats, medians in ms (p50) unless marked p95\n")
    print(
        f"{'search':22} {'status':>6} {'found':>7} {'floor':>7} {'peer':>7}"
        f" {'cold':>8} {'cold p95':>8} {'warm':>8} {'warm p95':>8} {'floor':>8}"
        f" {'ds':>8} {'ds+fac':>8}"
        f" {'cold/ds':>8} {'cold/fl':>8}"
    )
    for (
        label,
        text,
        status,
        total,
        floor_total,
        peer_total,
        cold,
        warm,
        floor_times,
        plain,
        faceted,
    ) in rows:
        median = statistics.median
        ds = median(plain) if plain else None
        dsf = median(faceted) if faceted else None
        print(
            f"{label:22} {status:>6} {total!s:>7} {floor_total!s:>7} {peer_total!s:>7}"
            f" {ms(median(cold))} {ms(percentile(cold, 95))} {ms(median(warm))}"
            f" {ms(percentile(warm, 95))} {ms(median(floor_times))}"
            f" {ms(ds) if ds else '       -'} {ms(dsf) if dsf else '       -'}"
            f" {median(cold) / ds if ds else 0:8.2f} {median(cold) / median(floor_times):8.2f}"
        )
        if total != floor_total:
            print(f"  ! {text!r}: the page says {total}, the floor finds {floor_total}")
    print(f"\nqueries: {', '.join(repr(quote(t)) for _, t in SEARCHES)}")


if __name__ == "__main__":
    main()
