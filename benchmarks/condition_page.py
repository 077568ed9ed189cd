"""Condition pages at scale: the page (bottom line, harvest and forest plots), its JSON.

    python -m benchmarks.condition_page --db-file /tmp/synth_100k.sqlite3 --n 100000

Builds the SQLite file with `generate_studies N` if it does not exist (keep it outside the
repository). Then, in-process (django.test.Client: the full stack minus the socket, DEBUG
off), for the largest, a middling and the smallest synthetic condition, times:

- cold: every cache emptied before each request (Django's cache, so the catalog version,
  the condition's evidence counts, its synthesis and its plots' layouts are all computed;
  and the database connection closed, so SQLite's page cache starts empty too);
- warm: the same request again, the layouts coming from the cache;

and prints the medians and p95 in milliseconds, the response size, and what the page
holds (estimates, pooled groups, harvest rows), with the goal: cold ≤ 300 ms.
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

    times, size = [], 0
    for _ in range(rounds):
        if cold:
            cache.clear()
            connection.close()
        started = time.perf_counter()
        response = client.get(url)
        body = response.content
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        size = len(body)
    return times, size


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
        f"{'condition':22}{'studies':>8}{'estimates':>10}{'pooled':>7}{'harvest':>8}"
        f"{'page':>6}{'cold p50':>9}{'p95':>8}{'warm p50':>9}{'p95':>8}{'KB':>7}"
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
            cold, size = measure(client, path, args.rounds, cold=True)
            warm, _ = measure(client, path, args.rounds, cold=False)
            worst = max(worst, statistics.median(cold))
            print(
                f"{slug:22}{studies:8}{len(found.estimates):10}{len(found.pooled):7}"
                f"{len(found.rows):8}{label:>6}{ms(statistics.median(cold)):>9}"
                f"{ms(percentile(cold, 95)):>8}{ms(statistics.median(warm)):>9}"
                f"{ms(percentile(warm, 95)):>8}{size / 1024:7.0f}"
            )
    verdict = "met" if worst * 1000 <= GOAL_MS else "NOT met"
    print(f"goal: cold median ≤ {GOAL_MS} ms for every page: {verdict} (worst {worst * 1000:.0f})")


if __name__ == "__main__":
    main()
