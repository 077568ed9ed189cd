"""The production server under load: requests/s, p99 and errors at 32 connections.

    python -m benchmarks.load --db sqlite --n 100000 --workers 4 --duration 20
    python -m benchmarks.load --db pg --pg-name ldn_perf_1m --n 1000000 --redis redis://127.0.0.1:6379/3

Runs gunicorn (DEBUG off, static files by whitenoise, SECURE_SSL_REDIRECT=0) on loopback
and wrk (Debian package `wrk`) with a Lua script that picks each request at random from a
mix: list pages (filtered and not), study pages, condition pages and one static file.
Every path is resolved to its final URL first, so a redirect is not counted as a page.
"""

import argparse
import http.client
import json
import random
import re
import shutil
import subprocess

from benchmarks.common import (
    OUT,
    PYTHON,
    ROOT,
    collectstatic,
    database,
    django_env,
    free_port,
    gunicorn,
)

LIST_PATHS = [
    "/studies/",
    "/studies/?condition=fibromyalgia",
    "/studies/?condition=multiple-sclerosis&design=rct",
    "/studies/?condition=fibromyalgia&design=rct&year_min=2010&year_max=2024",
    "/studies/?q=pain",
    "/studies/?page=40",
]


def sample_paths(database_url, studies, seed=0):
    """Study and condition pages of this database, and one static file."""
    import sqlite3

    if database_url.startswith("sqlite"):
        db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        slugs = [row[0] for row in db.execute("SELECT slug FROM studies_study ORDER BY id")]
        conditions = [row[0] for row in db.execute("SELECT slug FROM studies_condition")]
    else:
        from benchmarks.common import psql

        name = database_url.rsplit("/", 1)[1]
        slugs = psql("SELECT slug FROM studies_study ORDER BY id LIMIT 200000", name).split()
        conditions = psql("SELECT slug FROM studies_condition", name).split()
    rnd = random.Random(seed)
    manifest = json.loads((ROOT / "staticfiles" / "staticfiles.json").read_text())["paths"]
    static = "/static/" + manifest[sorted(manifest)[0]]
    return (
        [f"/studies/{slug}/" for slug in rnd.sample(slugs, studies)]
        + [f"/conditions/{slug}/" for slug in conditions],
        static,
    )


def resolve(port, path):
    """The path a browser ends up on, and its status."""
    for _ in range(5):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status not in (301, 302):
            return path, response.status
        path = response.headers["Location"]
    return path, response.status


def lua_script(paths):
    quoted = ",\n  ".join(json.dumps(path) for path in paths)
    return (
        f"local paths = {{\n  {quoted}\n}}\n"
        "request = function()\n"
        "  return wrk.format('GET', paths[math.random(#paths)])\n"
        "end\n"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--pg-name")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20, help="seconds")
    parser.add_argument("--studies", type=int, default=200, help="study pages in the mix")
    parser.add_argument("--without-lists", action="store_true", help="study and condition pages")
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="share one Redis cache between the workers (e.g. redis://127.0.0.1:6379/3; "
        "flushed first) instead of each worker's local memory",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="share a file cache in DIR between the workers (emptied first)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="run manage.py warm_catalog before the run (a shared cache only)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no visit to the paths before the run (they are canonical already)",
    )
    parser.add_argument("--sqlite", help="an existing SQLite file of synthetic studies")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    if args.sqlite:
        url = f"sqlite:///{args.sqlite}"
    else:
        url = database(args.db, args.n, pg_name=args.pg_name)
    # wrk is one address standing for many readers: the per-address rate limits (searches
    # 120/min) would answer it 429, so they are off for the run.
    extra = {"REDIS_URL": args.redis} if args.redis else {}
    if args.cache_dir:
        extra["CACHE_DIR"] = args.cache_dir
        shutil.rmtree(args.cache_dir, ignore_errors=True)
    env = django_env(url, CONN_MAX_AGE=60, RATELIMIT_ENABLE=0, **extra)
    if args.redis:
        subprocess.run(["redis-cli", "-u", args.redis, "FLUSHDB"], check=True, capture_output=True)
    collectstatic(env)
    if args.warm:
        subprocess.run([PYTHON, "manage.py", "warm_catalog"], cwd=ROOT, env=env, check=True)
    pages, static = sample_paths(url, args.studies)
    port = free_port()
    with gunicorn(env, port, workers=args.workers, extra=["--timeout", "120"]):
        lists = [] if args.without_lists else LIST_PATHS
        paths = [*lists, *pages, static]
        if args.cold:
            resolved = {path: (path, "not visited") for path in paths}
        else:
            resolved = {path: resolve(port, path) for path in paths}
        statuses = {}
        for _, status in resolved.values():
            statuses[status] = statuses.get(status, 0) + 1
        # Lists weigh as much as study pages: they are what people browse.
        weights = dict.fromkeys(lists, len(pages) // len(LIST_PATHS))
        mix = [resolved[path][0] for path in resolved for _ in range(weights.get(path, 1))]
        OUT.mkdir(parents=True, exist_ok=True)
        script = OUT / "load.lua"
        script.write_text(lua_script(mix))
        cache = "Redis" if args.redis else "files" if args.cache_dir else "local memory"
        print(
            f"{args.db}, {args.n} studies; gunicorn {args.workers} workers; "
            f"cache: {cache}{', warmed' if args.warm else ''}; {len(mix)} paths "
            f"(statuses before the run: {statuses})"
        )
        result = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{args.connections}",
                f"-d{args.duration}s",
                "--latency",
                "--timeout",
                "30s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    output = result.stdout
    print(output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)
    p99 = re.search(r"99%\s+(\S+)", output).group(1)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    print(
        f"summary: {rps} requests/s, p99 {p99}, non-2xx/3xx {non_2xx.group(1) if non_2xx else 0}"
        f", socket errors: {socket_errors.group(1) if socket_errors else 'none'}"
    )


if __name__ == "__main__":
    main()
