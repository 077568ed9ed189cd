"""Condition pages at scale: the page (bottom line, harvest and forest plots), its JSON.

    python -m benchmarks.condition_page --db-file /tmp/synth_100k.sqlite3 --n 100000

Builds the SQLite file with `generate_studies N` if it does not exist (keep it outside the
repository). Then, in-process (django.test.Client: the full stack minus the socket, DEBUG
off), for the largest, a middling and the smallest synthetic condition, times:

- cold: every cache emptied before each request (Django's cache, so the catalog version,
  the condition's evidence counts, its synthesis and its plots' layouts are all computed;
  and the database connection closed, so SQLite's page cache starts empty too);
- warm: the same request again, the layouts coming from the cache;

and prints the medians and p95 in milliseconds of wall time, the median CPU time of this
process (SQLite runs in it; on a shared machine the wall time also counts waiting for a
core), the response size, and what the page holds (estimates drawn, pooled groups), with
the goal: cold ≤ 300 ms.

Then the floor: the same data read with hand-written SQL on a bare sqlite3 connection,
opened afresh before each round (`floor()` below: the counts, the ids of each section's
rows, every estimate's numbers and the details of those shown, the harvest plot's studies
and cells), checked against what the page computes (same counts, same rows in the same
order), timed the same way, with the page's cold CPU time as a multiple of the floor's.
The floor renders nothing: the difference is the ORM, the pools and the template.
"""

import argparse
import sqlite3
import statistics
import time
from pathlib import Path

from benchmarks.common import collectstatic, django_env, manage, ms, percentile, setup_django

GOAL_MS = 300
CONDITIONS = ("fibromyalgia", "long-covid", "lichen-planopilaris")


def build(path, n, seed):
    url = f"sqlite:///{path}"
    if not Path(path).exists():
        env = django_env(url)
        manage(env, "migrate", "--noinput")
        started = time.perf_counter()
        manage(env, "generate_studies", str(n), "--seed", str(seed), quiet=False)
        print(f"built {path} with {n} studies in {time.perf_counter() - started:.1f} s")
    return url


LINKED = (
    "EXISTS (SELECT 1 FROM studies_study_conditions sc"
    " WHERE sc.condition_id = :c AND sc.study_id = {study})"
)
OF_CONDITION = (
    f"(o.condition_id = :c OR (o.condition_id IS NULL AND {LINKED.format(study='o.study_id')}))"
)
DRAWN = "o.direction IN ('improved', 'no_difference', 'worsened', 'mixed')"
ONGOING = "(s.status IN ('ongoing', 'protocol') OR s.evidence_level = 7)"
BY_LEVEL = "s.evidence_level, s.year DESC NULLS LAST, s.id"


def floor(db, condition_id, section_size=10, shown=30, strongest=5):
    """What the condition page shows, by hand: the counts, the ids of the rows of each
    section, the estimates shown per group with each group's size, the harvest plot's
    studies, their cells and certainties. Returns the values the benchmark compares."""
    p = {"c": condition_id}
    levels = {
        level: (n, ongoing, harms)
        for level, n, ongoing, harms in db.execute(
            "SELECT s.evidence_level, COUNT(*), SUM(" + ONGOING + "), SUM(s.adverse_events <> '')"
            " FROM studies_study_conditions sc JOIN studies_study s ON s.id = sc.study_id"
            " WHERE sc.condition_id = :c GROUP BY 1",
            p,
        )
    }
    findings = db.execute(
        "SELECT e.id, COUNT(*) OVER () FROM studies_effectsummary e"
        " JOIN studies_study s ON s.id = e.study_id"
        " WHERE e.condition_id = :c AND s.evidence_level <= 3"
        " ORDER BY s.evidence_level, s.year DESC, s.title LIMIT :n",
        {**p, "n": section_size},
    ).fetchall()
    linked = LINKED.format(study="s.id")

    def first(where, order, n):
        return [
            row[0]
            for row in db.execute(
                f"SELECT s.id FROM studies_study s WHERE {linked}{where} ORDER BY {order} LIMIT :n",
                {**p, "n": n},
            )
        ]

    newest = "s.year DESC NULLS LAST, s.created_at DESC, s.id"
    ongoing = first(f" AND {ONGOING}", newest, section_size)
    harms = first(" AND s.adverse_events <> ''", BY_LEVEL, section_size)
    best = first("", BY_LEVEL, strongest)
    rows = ",".join(str(pk) for pk in {*ongoing, *harms, *best})
    # What a list row shows besides the study: its conditions and verdicts.
    db.execute(
        "SELECT sc.study_id, c.name, c.slug FROM studies_study_conditions sc"
        f" JOIN studies_condition c ON c.id = sc.condition_id WHERE sc.study_id IN ({rows})"
    ).fetchall()
    db.execute(
        "SELECT e.study_id, e.verdict, e.certainty, c.name FROM studies_effectsummary e"
        f" JOIN studies_condition c ON c.id = e.condition_id WHERE e.study_id IN ({rows})"
    ).fetchall()
    db.execute(
        "SELECT s.id, s.title, s.slug, s.year, s.design, s.evidence_level, s.sample_size,"
        f" s.adverse_events FROM studies_study s WHERE s.id IN ({rows})"
    ).fetchall()
    line = db.execute(
        "SELECT id, text, certainty, reviewed FROM studies_bottomline WHERE condition_id = :c", p
    ).fetchone()
    if line:
        db.execute(
            "SELECT s.slug FROM studies_bottomline_studies b JOIN studies_study s"
            " ON s.id = b.study_id WHERE b.bottomline_id = ?",
            [line[0]],
        ).fetchall()
    # Estimates: every one's numbers (for the pools), the first `shown` of each group.
    groups, order = {}, {}
    for domain, measure, value, low, high, level, year, pk in db.execute(
        "SELECT o.domain, o.effect_measure, CAST(o.value AS REAL), CAST(o.ci_low AS REAL),"
        " CAST(o.ci_high AS REAL), s.evidence_level, s.year, o.id"
        " FROM studies_outcome o JOIN studies_study s ON s.id = o.study_id"
        f" WHERE {OF_CONDITION} AND o.effect_measure <> '' AND o.value IS NOT NULL"
        " AND o.ci_low IS NOT NULL AND o.ci_high IS NOT NULL",
        p,
    ):
        groups.setdefault((domain, measure), []).append((value, low, high))
        order.setdefault((domain, measure), []).append((level, year is None, -(year or 0), pk))
    heads = {key: [k[-1] for k in sorted(keys)[:shown]] for key, keys in order.items()}
    ids = ",".join(str(pk) for pks in heads.values() for pk in pks)
    details = {
        pk: (slug, name)
        for pk, slug, name, *_ in db.execute(
            "SELECT o.id, s.slug, o.name, s.title, s.authors, s.year, o.value, o.ci_low,"
            " o.ci_high, o.p_value, s.sample_size FROM studies_outcome o"
            f" JOIN studies_study s ON s.id = o.study_id WHERE o.id IN ({ids or 'NULL'})"
        )
    }
    # The harvest plot: the first `shown` studies with a direction, their cells.
    studies = db.execute(
        "SELECT s.id, s.slug, s.title, s.authors, s.year, s.evidence_level, s.sample_size,"
        " COUNT(*) OVER () FROM studies_study s WHERE s.id IN"
        f" (SELECT o.study_id FROM studies_outcome o WHERE {OF_CONDITION} AND {DRAWN})"
        " ORDER BY s.evidence_level, s.sample_size DESC NULLS LAST, s.slug LIMIT :n",
        {**p, "n": shown},
    ).fetchall()
    pks = ",".join(str(row[0]) for row in studies) or "NULL"
    cells = db.execute(
        f"SELECT o.study_id, o.domain, o.direction FROM studies_outcome o"
        f" WHERE o.study_id IN ({pks}) AND {OF_CONDITION} AND {DRAWN}",
        p,
    ).fetchall()
    db.execute(
        "SELECT study_id, certainty FROM studies_effectsummary"
        f" WHERE condition_id = :c AND study_id IN ({pks})",
        p,
    ).fetchall()
    return {
        "levels": {level: n for level, (n, _, _) in levels.items()},
        "ongoing_total": sum(o for _, o, _ in levels.values()),
        "harms_total": sum(h for _, _, h in levels.values()),
        "findings": ([row[0] for row in findings], findings[0][1] if findings else 0),
        "ongoing": ongoing,
        "harms": harms,
        "strongest": best,
        "groups": {
            key: (len(values), [details[pk] for pk in heads[key]]) for key, values in groups.items()
        },
        "harvest": ([row[1] for row in studies], studies[0][7] if studies else 0),
        "cells": len({(study, domain) for study, domain, _ in cells}),
    }


def page_data(condition):
    """What the page computes, in the floor's terms."""
    from studies import synthesis
    from studies.views import SECTION_SIZE

    evidence = condition.evidence(section_size=SECTION_SIZE)
    found = synthesis.for_condition(condition)
    return {
        "levels": {level.value: n for level, n in evidence["pyramid"] if n},
        "ongoing_total": evidence["ongoing"]["total"],
        "harms_total": evidence["harms"]["total"],
        "findings": (
            [summary.pk for summary in evidence["findings"]["rows"]],
            evidence["findings"]["total"],
        ),
        "ongoing": [study.pk for study in evidence["ongoing"]["rows"]],
        "harms": [study.pk for study in evidence["harms"]["rows"]],
        "strongest": [study.pk for study in evidence["strongest"]],
        "groups": {
            (group.domain, group.measure): (
                group.k,
                [(e.study, e.outcome) for e in group.estimates],
            )
            for group in found.groups
        },
        "harvest": ([row.study for row in found.rows], found.studies_with_direction),
        "cells": len(found.directions),
    }


def measure_floor(path, condition_id, rounds):
    times, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        floor(db, condition_id)
        db.close()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return times, cpu


def measure(client, url, rounds, cold):
    from django.core.cache import cache
    from django.db import connection

    times, cpu, size = [], [], 0
    for _ in range(rounds):
        if cold:
            cache.clear()
            connection.close()
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        body = response.content
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200, (url, response.status_code)
        size = len(body)
    return times, cpu, size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db-file", default="/tmp/synth_100k.sqlite3")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    url = build(args.db_file, args.n, args.seed)
    collectstatic(django_env(url))  # DEBUG off: templates read the static manifest
    setup_django(url)
    from django.test import Client

    from studies import synthesis
    from studies.models import Condition, Study

    client = Client(raise_request_exception=True)
    print(
        f"{Study.objects.count()} studies (SQLite {args.db_file}); {args.rounds} rounds; "
        "milliseconds, in-process"
    )
    print(
        f"{'condition':20}{'studies':>8}{'shown':>6}{'pooled':>7}"
        f"{'page':>5}{'cold p50':>9}{'p95':>8}{'cpu':>7}{'warm p50':>9}{'p95':>8}{'cpu':>7}"
        f"{'KB':>6}"
    )
    worst = 0.0
    floors = []
    for slug in CONDITIONS:
        condition = Condition.objects.get(slug=slug)
        found = synthesis.for_condition(condition)
        studies = Study.objects.for_any_condition_id([condition.pk]).count()
        for label, path in (
            ("html", condition.get_absolute_url()),
            ("json", f"/conditions/{slug}.json"),
        ):
            cold, cold_cpu, size = measure(client, path, args.rounds, cold=True)
            warm, warm_cpu, _ = measure(client, path, args.rounds, cold=False)
            worst = max(worst, statistics.median(cold))
            print(
                f"{slug:20}{studies:8}{len(found.estimates):6}{len(found.pooled):7}"
                f"{label:>5}{ms(statistics.median(cold)):>9}{ms(percentile(cold, 95)):>8}"
                f"{ms(statistics.median(cold_cpu)):>7}{ms(statistics.median(warm)):>9}"
                f"{ms(percentile(warm, 95)):>8}{ms(statistics.median(warm_cpu)):>7}"
                f"{size / 1024:6.0f}"
            )
            if label == "html":
                page_cpu = statistics.median(cold_cpu)
        db = sqlite3.connect(f"file:{args.db_file}?mode=ro", uri=True)
        assert floor(db, condition.pk) == page_data(condition), f"{slug}: floor differs"
        db.close()
        floor_wall, floor_cpu = measure_floor(args.db_file, condition.pk, args.rounds)
        floors.append((slug, floor_wall, floor_cpu, page_cpu))
    print("\nfloor: the same data by hand-written SQL (checked equal), cold connection each round")
    print(f"{'condition':20}{'wall p50':>9}{'cpu p50':>8}{'page html cold cpu / floor cpu':>33}")
    for slug, floor_wall, floor_cpu, page_cpu in floors:
        print(
            f"{slug:20}{ms(statistics.median(floor_wall)):>9}{ms(statistics.median(floor_cpu)):>8}"
            f"{page_cpu / statistics.median(floor_cpu):>32.1f}×"
        )
    verdict = "met" if worst * 1000 <= GOAL_MS else "NOT met"
    print(f"goal: cold median ≤ {GOAL_MS} ms for every page: {verdict} (worst {worst * 1000:.0f})")


if __name__ == "__main__":
    main()
