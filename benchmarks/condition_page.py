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
"""

import argparse
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
    verdict = "met" if worst * 1000 <= GOAL_MS else "NOT met"
    print(f"goal: cold median ≤ {GOAL_MS} ms for every page: {verdict} (worst {worst * 1000:.0f})")


if __name__ == "__main__":
    main()
