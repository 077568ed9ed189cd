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
  tokenizer). Its table page counts the matches and shows 25 of them **in row id order**:
  Datasette 0.65 does not rank a table's search (``rowid in (select rowid from <table>_fts
  where <table>_fts match escape_fts(:search))``, ordered by the key). Timed five ways,
  interleaved with ours in the same run, over keep-alive connections:

  - ``ds``: the JSON, no facets;
  - ``ds+3``: the JSON with three facets (design, status, year), as timed before;
  - ``ds+all``: the JSON with the facets our page counts (design, which gives the level;
    status; year, which gives the decade; dose band; the conditions, an array facet);
  - ``ds html``: the same as an HTML page, as ours is;
  - ``ds ranked``: Datasette's own SQL page for what its table page cannot do, the 25
    best matches (``order by rank``) and their count, no facets.

  Datasette runs with ``facet_time_limit_ms`` and ``sql_time_limit_ms`` at 60 s, so that it
  computes every facet; before timing, each search is asked once of a Datasette with the
  default limits (a facet gives up after 200 ms), and the facets that gave up are printed:
  a facet that timed out is work not done.

Medians (p50) and ratios are printed; on a shared machine, repeat and compare ratios.
"""

import argparse
import json
import os
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
    worker_pid,
)
from benchmarks.list_pages import floor as list_floor

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

SEARCHES = [
    ("pain (most studies)", "pain"),
    ("two words", "crohn remission"),
    ("rare word", "planopilaris"),
    ("misspelling", "fibromialgia"),
]
PAGE_SIZE = 25
REDIS_DB = 5
DENORMALISED = "search_peer"


def cpu_seconds(pid):
    """User and system CPU time of a process, all its threads (Linux: /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuTimer(HttpTimer):
    """GETs that also say how much CPU the server process spent on each: on a shared
    machine, CPU time moves less than wall time. In clock ticks (10 ms), so only a mean
    over many requests means much."""

    def __init__(self, port, pid):
        super().__init__(port)
        self.pid = pid

    def get(self, path):
        before = cpu_seconds(self.pid)
        status, seconds, body = super().get(path)
        return status, seconds, body, cpu_seconds(self.pid) - before


def datasette_setup(path):
    """A denormalised table of the searched fields, with Datasette's FTS5 convention."""
    import sqlite3

    db = sqlite3.connect(path)
    # Built once; again if it predates the dose band and the conditions array.
    exists = db.execute(
        f"SELECT 1 FROM pragma_table_info('{DENORMALISED}') WHERE name = 'condition_slugs'"
    ).fetchone()
    if not exists:
        db.executescript(
            f"""
            DROP TABLE IF EXISTS {DENORMALISED}_fts;
            DROP TABLE IF EXISTS {DENORMALISED};
            CREATE TABLE {DENORMALISED} AS
            SELECT s.id, s.slug, s.title, s.year, s.design, s.status, s.dose_band,
              (SELECT json_group_array(c.slug) FROM studies_condition c
                 JOIN studies_study_conditions l ON l.condition_id = c.id
                 WHERE l.study_id = s.id) AS condition_slugs,
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


FACETS_3 = [("_facet", "design"), ("_facet", "status"), ("_facet", "year")]
# Our page's facets: the level follows from the design and the decade from the year.
FACETS_ALL = [*FACETS_3, ("_facet", "dose_band"), ("_facet_array", "condition_slugs")]
RANKED = f"""select s.id, s.slug, s.title, s.year, s.design, s.status, count(*) over () as found
from {DENORMALISED}_fts f join {DENORMALISED} s on s.id = f.rowid
where {DENORMALISED}_fts match escape_fts(:q) order by rank limit {PAGE_SIZE}"""


def datasette_path(database_name, text, facets, html=False):
    params = [("_search", text), ("_size", str(PAGE_SIZE))]
    if not html:
        params.append(("_shape", "objects"))
    params += facets
    return f"/{database_name}/{DENORMALISED}{'' if html else '.json'}?" + urlencode(params)


def datasette_ranked_path(database_name, text):
    return f"/{database_name}.json?" + urlencode({"sql": RANKED, "q": text, "_shape": "array"})


def datasette_command(path, port, *settings):
    return [
        str(BIN / "datasette"),
        "serve",
        path,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--setting",
        "suggest_facets",
        "off",
        "--setting",
        "num_sql_threads",
        "1",
        *settings,
    ]


def datasette_defaults_check(path, name):
    """Each search asked once of a Datasette with its default time limits: {text: (ms,
    the facets that gave up)} for our page's facets."""
    port = free_port()
    checked = {}
    with server(datasette_command(path, port), port):
        timer = HttpTimer(port)
        for _, text in SEARCHES:
            timer.get(datasette_path(name, text, FACETS_ALL))  # the first is slower
            _, seconds, body = timer.get(datasette_path(name, text, FACETS_ALL))
            checked[text] = (seconds, json.loads(body).get("facets_timed_out", []))
    return checked


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

    name = args.sqlite.rsplit("/", 1)[1].removesuffix(".sqlite3") if peer else ""
    defaults = datasette_defaults_check(args.sqlite, name) if peer else {}
    ours_port, peer_port = free_port(), free_port()
    datasette = datasette_command(
        args.sqlite or "",
        peer_port,
        *("--setting", "sql_time_limit_ms", "60000"),
        *("--setting", "facet_time_limit_ms", "60000"),
    )
    rows = []
    with gunicorn(env, ours_port, workers=1) as master:
        peer_server = server(datasette, peer_port) if peer else None
        peer_process = peer_server.__enter__() if peer_server else None
        try:
            ours = CpuTimer(ours_port, worker_pid(master.pid))
            theirs = CpuTimer(peer_port, peer_process.pid) if peer else None
            peer_paths = {
                "ds": lambda text: datasette_path(name, text, []),
                "ds+3": lambda text: datasette_path(name, text, FACETS_3),
                "ds+all": lambda text: datasette_path(name, text, FACETS_ALL),
                "ds html": lambda text: datasette_path(name, text, FACETS_ALL, html=True),
                "ds ranked": lambda text: datasette_ranked_path(name, text),
            }
            for label, text in SEARCHES:
                path = our_path(text)
                status, _, body, _ = ours.get(path)
                total = our_total(body)
                times = {"cold": [], "warm": [], **{kind: [] for kind in peer_paths}}
                cpu = {kind: [] for kind in times}
                peer_total = ranked_total = None
                if peer:
                    for kind, peer_path in peer_paths.items():
                        status_p, _, body_p, _ = theirs.get(peer_path(text))
                        assert status_p == 200, (kind, status_p, body_p[:300])
                    body_p = theirs.get(peer_paths["ds"](text))[2]
                    peer_total = json.loads(body_p).get("filtered_table_rows_count")
                    ranked = json.loads(theirs.get(peer_paths["ds ranked"](text))[2])
                    ranked_total = ranked[0]["found"] if ranked else 0
                for _ in range(args.repeat):
                    # Interleaved: ours cold, ours warm, then each of Datasette's.
                    flush()
                    for kind in ("cold", "warm"):
                        _, seconds, _, cpu_seconds = ours.get(path)
                        times[kind].append(seconds)
                        cpu[kind].append(cpu_seconds)
                    if peer:
                        for kind, peer_path in peer_paths.items():
                            _, seconds, _, cpu_seconds = theirs.get(peer_path(text))
                            times[kind].append(seconds)
                            cpu[kind].append(cpu_seconds)
                floor_total, floor_times = floors[text]
                times["floor"] = floor_times
                rows.append(
                    (label, text, status, total, floor_total, peer_total, ranked_total, times, cpu)
                )
        finally:
            if peer_server:
                peer_server.__exit__(None, None, None)

    report(args, rows, defaults)


def report(args, rows, defaults):
    median = statistics.median
    kind = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"{kind}, {args.repeat} repeats, medians in ms (p50) unless marked p95\n")
    peer_kinds = ["ds", "ds+3", "ds+all", "ds html", "ds ranked"]
    print(
        f"{'search':22} {'status':>6} {'found':>7} {'floor':>7} {'peer':>7}"
        f" {'cold':>8} {'cold p95':>8} {'warm':>8} {'floor':>8}"
        + "".join(f" {kind:>9}" for kind in peer_kinds)
        + f" {'cold/fl':>8} {'c/ds+all':>8} {'c/html':>8}"
    )
    for label, text, status, total, floor_total, peer_total, ranked_total, times, _ in rows:
        peer = {kind: median(times[kind]) if times[kind] else None for kind in peer_kinds}

        def ratio(kind, peer=peer, times=times):
            return f" {median(times['cold']) / peer[kind]:8.2f}" if peer[kind] else "        -"

        print(
            f"{label:22} {status:>6} {total!s:>7} {floor_total!s:>7} {peer_total!s:>7}"
            f" {ms(median(times['cold']))} {ms(percentile(times['cold'], 95))}"
            f" {ms(median(times['warm']))} {ms(median(times['floor']))}"
            + "".join(f" {ms(peer[kind]) if peer[kind] else '       -':>9}" for kind in peer_kinds)
            + f" {median(times['cold']) / median(times['floor']):8.2f}"
            + ratio("ds+all")
            + ratio("ds html")
        )
        if total != floor_total:
            print(f"  ! {text!r}: the page says {total}, the floor finds {floor_total}")
        if peer_total is not None and ranked_total != peer_total:
            print(f"  ! {text!r}: Datasette's ranked SQL finds {ranked_total}, not {peer_total}")
    print(
        "\nServer CPU per request, mean ms (gunicorn's worker; Datasette's process),"
        " and ratios of ours cold to Datasette's:"
    )
    kinds = ["cold", "warm", *peer_kinds]
    print(f"{'search':22}" + "".join(f" {kind:>9}" for kind in kinds) + "  c/ds+all   c/html")
    for label, *_, cpu in rows:
        mean = {kind: statistics.fmean(cpu[kind]) if cpu[kind] else None for kind in kinds}
        print(
            f"{label:22}"
            + "".join(
                f" {ms(mean[kind]) if mean[kind] is not None else '       -':>9}" for kind in kinds
            )
            + "".join(
                f" {mean['cold'] / mean[kind]:8.2f}" if mean.get(kind) else "        -"
                for kind in ("ds+all", "ds html")
            )
        )
    if defaults:
        print("\nDatasette with its default time limits (facet_time_limit_ms 200), all facets:")
        for text, (seconds, timed_out) in defaults.items():
            gave_up = ", ".join(timed_out) or "none"
            print(f"  {text!r:20} {ms(seconds)} ms; facets that timed out: {gave_up}")
    print(f"\nqueries: {', '.join(repr(quote(t)) for _, t in SEARCHES)}")


if __name__ == "__main__":
    main()
