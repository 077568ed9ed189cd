"""Soak test: the production server on PostgreSQL under load while a curator edits.

Starts gunicorn (several sync workers, whitenoise for static files, DEBUG off) on
127.0.0.1 against a PostgreSQL database it creates and fills, drives it with wrk (or a
Python thread pool when wrk is missing) at 32 connections for a bounded time on a mix of
pages (home, list pages with search, filters and paging, study, condition and source pages,
the feed), while two curator threads edit the same studies with the admin's optimistic
check (a stale save is refused and re-applied) and one imports BibTeX files through the
catalog's importer (studies/importers.py). At the end it checks that no edit was lost,
that the server answered without errors, and prints requests per second, latency
percentiles and the server's memory over time.

    python benchmarks/soak.py --seconds 60
"""

import argparse
import concurrent.futures
import itertools
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
OUT_DIR = BASE_DIR / "benchmarks" / "out"
HOST = "127.0.0.1"  # loopback only


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="load duration (default 60)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--studies", type=int, default=300, help="studies to create")
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432",
        help="server URL, without a database name",
    )
    parser.add_argument("--database", default="ldn_ops_soak", help="created and dropped")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    return parser.parse_args()


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def recreate_database(server_url, name):
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url, name):
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(database_url):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback; TLS ends at the proxy
        CONN_MAX_AGE="60",
        RATELIMIT_ENABLE="0",  # one client address would be limited, not what is measured
        LOG_FORMAT="json",
        DJANGO_SETTINGS_MODULE="ldn_catalog.settings",
    )
    return env


def manage(env, *args):
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def setup_django(env):
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def fill_catalog(count):
    from tests.factories import make_condition, make_outcome, make_source, make_study

    conditions = [make_condition(name=f"Condition {n}") for n in range(20)]
    source = make_source(title="Soak source")
    for n in range(count):
        study = make_study(
            conditions=random.sample(conditions, 2), year=1990 + n % 35, summary="initial"
        )
        make_outcome(study, source=source)
    return conditions


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return total


def server_pids(master_pid):
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [master_pid, *map(int, children)]


def wait_until_up(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:  # refused while gunicorn starts, or slow to answer
            time.sleep(0.2)
    raise SystemExit(f"The server did not answer {url} within {timeout} s.")


def check_paths(base, paths):
    """Keep the pages that answer 200; say which do not (e.g. routes not merged yet)."""
    usable = []
    for path in paths:
        try:
            with urllib.request.urlopen(base + path, timeout=10):
                usable.append(path)
        except urllib.error.HTTPError as error:
            print(f"  skipped {path}: HTTP {error.code}")
    return usable


IMPORT_ENTRIES = 5
WRK_TIMEOUT = "10s"


def import_file(n):
    """A small BibTeX file of new studies, filed under two of the soak's conditions."""
    return "\n".join(
        f"@article{{soak{n}x{k},\n  title = {{Imported study {n}.{k} of low-dose naltrexone}},\n"
        f"  author = {{Curator, A and Other, B}},\n  year = {{{1990 + (n + k) % 35}}},\n"
        f"  doi = {{10.5555/soak.{n}.{k}}},\n"
        f"  keywords = {{Condition {k}, Condition {n % 20}}}\n}}\n"
        for k in range(IMPORT_ENTRIES)
    )


class Shared:
    """What the curators share: the last edit saved to each study, and the refusals."""

    def __init__(self):
        self.lock = threading.Lock()
        self.expected = {}
        self.refused = 0


class Curator(threading.Thread):
    """Edits studies (and, for the first curator, imports new ones) while the site is under
    load. Each edit is made as in the admin: the study is read, the curator takes a moment
    (another curator may save meanwhile), and the save names the version it was opened at;
    a stale save is refused (EditConflict) and made again on the study as it is now."""

    def __init__(self, name, study_ids, stop, shared, imports=False):
        super().__init__(daemon=True)
        self.name, self.study_ids, self.stop, self.shared = name, study_ids, stop, shared
        self.with_imports = imports
        self.edits = self.imports = 0
        self.imported_slugs = []
        self.errors = []

    def run(self):
        from django.db import connection

        from studies.importers import import_bibtex
        from studies.models import Study
        from studies.versions import EditConflict

        counter = itertools.count(1)
        try:
            while not self.stop.is_set():
                n = next(counter)
                if self.with_imports and n % 10 == 0:  # several studies, all or nothing
                    report = import_bibtex(import_file(n), file_name=f"soak-{n}.bib")
                    if len(report.created) != IMPORT_ENTRIES:
                        self.errors.append(f"import {n}: {len(report.created)} studies created")
                    self.imported_slugs += [study.slug for study in report.created]
                    self.imports += 1
                    continue
                pk = random.choice(self.study_ids)
                while not self.stop.is_set():
                    study = Study.objects.get(pk=pk)
                    opened = study.version
                    time.sleep(random.uniform(0, 0.05))  # the curator types
                    study.summary = f"edit {n} by {self.name}"
                    # Saving and noting the save together, so that "the last edit saved"
                    # is well defined; reading and typing are outside, so edits overlap.
                    with self.shared.lock:
                        try:
                            study.save(expected_version=opened)
                        except EditConflict:
                            self.shared.refused += 1
                            continue  # re-applied on the study as it is now
                        self.shared.expected[pk] = study.summary
                    self.edits += 1
                    break
                time.sleep(0.02)
        except Exception as error:  # reported at the end as a failed soak
            self.errors.append(repr(error))
        finally:
            connection.close()


def run_wrk(base, paths, seconds, connections):
    quoted = ", ".join(f'"{p}"' for p in paths)
    script_path = OUT_DIR / "soak-paths.lua"
    script_path.write_text(
        f"local paths = {{{quoted}}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
    )
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            # A request slower than this counts as an error (wrk's default is 2 s, which a
            # small shared machine misses under 32 connections without anything failing).
            f"--timeout={WRK_TIMEOUT}",
            "-s",
            str(script_path),
            base + "/",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return {
        "tool": "wrk",
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency.get("50"),
        "p99": latency.get("99"),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(map(int, sockets.groups())) if sockets else 0),
        "raw": out,
    }


def run_python_load(base, paths, seconds, connections):
    deadline = time.monotonic() + seconds
    cycle = itertools.cycle(paths)
    lock = threading.Lock()
    latencies, errors = [], []

    def client():
        while time.monotonic() < deadline:
            with lock:
                path = next(cycle)
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(base + path, timeout=30) as response:
                    response.read()
            except OSError as error:
                errors.append(f"{path}: {error}")
            latencies.append(time.perf_counter() - start)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        for future in [pool.submit(client) for _ in range(connections)]:
            future.result()
    elapsed = time.monotonic() - started
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "tool": "python urllib thread pool",
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": f"{quantiles[49] * 1000:.1f}ms",
        "p99": f"{quantiles[98] * 1000:.1f}ms",
        "errors": len(errors),
        "raw": "\n".join(errors[:10]),
    }


def main():
    args = parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    database_url = f"{args.postgres}/{args.database}"
    env = environment(database_url)
    print(f"Database {args.database}: creating, migrating, filling {args.studies} studies")
    recreate_database(args.postgres, args.database)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    setup_django(env)
    conditions = fill_catalog(args.studies)

    from studies.models import Source, Study

    studies = list(Study.objects.order_by("pk"))
    port = free_port()
    base = f"http://{HOST}:{port}"
    log_path = OUT_DIR / "soak-server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "ldn_catalog.wsgi",
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(args.workers),
                "--worker-class",
                "sync",
                "--no-control-socket",
                "--timeout",
                "60",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(base + "/healthz")
        paths = ["/", "/studies/", "/conditions/", "/studies.atom"]
        paths += [
            "/studies/?page=2",
            "/studies/?page=40",
            "/studies/?q=naltrexone",
            "/studies/?q=study+1",
            "/studies/?design=rct",
            "/studies/?sort=oldest",
        ]
        paths += [f"/studies/?condition={c.slug}" for c in random.sample(conditions, 5)]
        paths += [s.get_absolute_url() for s in random.sample(studies, 20)]
        paths += [c.get_absolute_url() for c in random.sample(conditions, 10)]
        paths += [Source.objects.get().get_absolute_url()]
        paths += ["/static/admin/css/base.css"]
        print("Warming up; checking the page mix")
        paths = check_paths(base, paths)
        for path in paths * 3:
            urllib.request.urlopen(base + path, timeout=10).read()
        rss_start = rss_kib(server_pids(server.pid))

        samples = []
        stop = threading.Event()

        def sample_memory():
            while not stop.wait(5):
                samples.append(rss_kib(server_pids(server.pid)))

        sampler = threading.Thread(target=sample_memory, daemon=True)
        shared = Shared()
        # Two curators on the same 20 studies, so that their edits often overlap.
        hot = [s.pk for s in random.sample(studies, 20)]
        curators = [
            Curator("curator A", hot, stop, shared, imports=True),
            Curator("curator B", hot, stop, shared),
        ]
        sampler.start()
        for curator in curators:
            curator.start()
        print(f"Load: {args.connections} connections for {args.seconds} s on {len(paths)} paths")
        if shutil.which("wrk") and not args.python_load:
            load = run_wrk(base, paths, args.seconds, args.connections)
        else:
            load = run_python_load(base, paths, args.seconds, args.connections)
        stop.set()
        for curator in curators:
            curator.join()
        sampler.join()
        rss_end = rss_kib(server_pids(server.pid))

        # No lost edits: the database and the site both show each study's last edit.
        lost = [
            pk for pk, text in shared.expected.items() if Study.objects.get(pk=pk).summary != text
        ]
        imported = [slug for curator in curators for slug in curator.imported_slugs]
        missing_imports = [
            slug for slug in imported if not Study.objects.filter(slug=slug).exists()
        ]
        edits = sum(curator.edits for curator in curators)
        imports = sum(curator.imports for curator in curators)
        curator_errors = [error for curator in curators for error in curator.errors]
        history_edits = Study.history.filter(summary__startswith="edit ").count()
        shown = 0
        for pk, text in shared.expected.items():
            page = urllib.request.urlopen(base + Study.objects.get(pk=pk).get_absolute_url())
            shown += text in page.read().decode()
        health = urllib.request.urlopen(base + "/healthz").read().decode()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(args.postgres, args.database)

    server_errors = log_path.read_text().count('"level": "ERROR"')
    print()
    print(
        f"load generator      {load['tool']}, {args.connections} connections, "
        f"{args.seconds} s, {args.workers} gunicorn workers, request timeout {WRK_TIMEOUT}"
    )
    print(f"requests            {load['requests']}")
    print(f"requests/s          {load['rps']:.1f}")
    print(f"latency p50 / p99   {load['p50']} / {load['p99']}")
    print(
        f"errors              {load['errors']} (non-2xx/3xx + socket), "
        f"{server_errors} error lines in the server log"
    )
    print(
        f"curators            2: {edits} edits saved, {shared.refused} stale saves refused and "
        f"re-applied, {imports} imports, {len(curator_errors)} errors {curator_errors[:3]}"
    )
    print(
        f"lost edits          {len(lost)} (of {len(shared.expected)} studies edited); "
        f"history rows for edits: {history_edits} (edits saved: {edits})"
    )
    print(f"last edit shown     on {shown} of {len(shared.expected)} study pages")
    print(f"missing imports     {len(missing_imports)} of {imports}")
    print(
        f"server RSS          start {rss_start / 1024:.1f} MiB, end {rss_end / 1024:.1f} MiB "
        f"(samples: {', '.join(f'{s / 1024:.0f}' for s in samples)})"
    )
    print(f"healthz at the end  {health}")
    failed = (
        load["errors"]
        or server_errors
        or lost
        or missing_imports
        or curator_errors
        or history_edits != edits
    )
    print("RESULT              " + ("FAIL" if failed else "PASS"))
    if load["errors"] and load["raw"]:
        print(load["raw"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
