"""Would evaluating a search once per page be faster? SQLite, in this process.

    python -m benchmarks.search_once --sqlite /tmp/perf_100k.sqlite3 --repeat 7

Issue 11 asks for the search to be evaluated once per page rather than once per facet.
For each search this prints, as medians in ms of CPU time (wall time until the third
pass): the FTS5 MATCH alone (a count over the index); the matching ids read into Python
once (what "once per page" needs); and the page's main facet query (GROUP BY design,
status, year over the matches) written both ways: joined to the MATCH as the page does,
and over the ids read once, passed back as one JSON parameter. The facet query's cost is
reading each matching study's row, which either way is the same; the MATCH itself costs a
few ms.

Then the page's two other costly queries, as it writes them: the condition facet with its
"none" (one pass over the matches joined to their links) and the 25 best matches (bm25,
then newest first); and the query plans of the three, which show whether each reads the
study's row ("USING INTEGER PRIMARY KEY") or a narrow index ("USING COVERING INDEX").
"""

import argparse
import json
import sqlite3
import statistics
import time

from studies.search import parse
from studies.search_index import FTS5_WEIGHTS

SEARCHES = ["pain", "crohn remission", "planopilaris", "fibromialgia"]
FACETS = "SELECT s.design, s.status, s.year, COUNT(*) FROM studies_study s"
MATCHES = (
    "FROM studies_study s JOIN studies_search f ON f.rowid = s.id WHERE f.studies_search MATCH ?"
)
PAGE_QUERIES = {
    "facets": (
        f"SELECT s.design, s.status, s.year, s.dose_band, COUNT(*) {MATCHES} GROUP BY 1, 2, 3, 4"
    ),
    "conditions": (
        "SELECT l.condition_id, COUNT(*) FROM studies_study s"
        " JOIN studies_search f ON f.rowid = s.id"
        " LEFT JOIN studies_study_conditions l ON l.study_id = s.id"
        " WHERE f.studies_search MATCH ? GROUP BY 1"
    ),
    "best 25": (
        f"SELECT s.id {MATCHES} ORDER BY bm25(f.studies_search,"
        f" {', '.join(str(w) for w in FTS5_WEIGHTS.values())}),"
        " s.year DESC, s.created_at DESC, s.id LIMIT 25"
    ),
}


def median_ms(function, repeat):
    times = []
    for _ in range(repeat):
        # CPU time: SQLite runs in this process, and the machine may be shared.
        started = time.process_time()
        function()
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite", required=True, help="a SQLite file of synthetic studies")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    db = sqlite3.connect(args.sqlite)
    print(f"{'search':18} {'found':>7} {'MATCH':>7} {'ids once':>9} {'by MATCH':>9} {'by ids':>8}")
    for text in SEARCHES:
        match = parse(text).fts5()

        def count(match=match):
            return db.execute(
                "SELECT COUNT(*) FROM studies_search WHERE studies_search MATCH ?", [match]
            ).fetchone()[0]

        def ids(match=match):
            rows = db.execute(
                "SELECT rowid FROM studies_search WHERE studies_search MATCH ?", [match]
            )
            return json.dumps([pk for (pk,) in rows])

        def by_match(match=match):
            return db.execute(
                f"{FACETS} JOIN studies_search f ON f.rowid = s.id"
                " WHERE f.studies_search MATCH ? GROUP BY 1, 2, 3",
                [match],
            ).fetchall()

        listed = ids()

        def by_ids(listed=listed):
            return db.execute(
                f"{FACETS} WHERE s.id IN (SELECT value FROM json_each(?)) GROUP BY 1, 2, 3",
                [listed],
            ).fetchall()

        assert sorted(by_match()) == sorted(by_ids())
        print(
            f"{text:18} {count():>7} {median_ms(count, args.repeat):7.1f}"
            f" {median_ms(ids, args.repeat):9.1f} {median_ms(by_match, args.repeat):9.1f}"
            f" {median_ms(by_ids, args.repeat):8.1f}"
        )
    print(f"\n{'search':18} " + " ".join(f"{name:>10}" for name in PAGE_QUERIES))
    for text in SEARCHES:
        match = parse(text).fts5()
        times = [
            median_ms(lambda sql=sql, match=match: db.execute(sql, [match]).fetchall(), args.repeat)
            for sql in PAGE_QUERIES.values()
        ]
        print(f"{text:18} " + " ".join(f"{t:10.1f}" for t in times))
    print()
    for name, sql in PAGE_QUERIES.items():
        plan = db.execute(f"EXPLAIN QUERY PLAN {sql}", ["pain"]).fetchall()
        print(f"{name}: {' | '.join(row[3] for row in plan)}")


if __name__ == "__main__":
    main()
