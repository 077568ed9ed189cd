"""Downloads of the whole catalog over HTTP against Datasette's streamed CSV, and memory.

    python -m benchmarks.exports --sqlite /tmp/perf_100k.sqlite3 --repeat 3

Serves the site with gunicorn (1 sync worker, DEBUG off) and Datasette (the denormalised
copy of list_pages.py: one row per study with its conditions, verdicts and outcomes) on
loopback. Each round downloads /studies.csv, .bib, .ris and .json in full and Datasette's
``study_list.csv?_stream=on`` (every row, Datasette's own fastest order), interleaved.
Prints the median time of each, its ratio to Datasette's, the median CPU seconds the
serving process spent on it (utime + stime in /proc/<pid>/stat: the worker, or Datasette's
process with its threads) and that ratio, which others' work on a shared machine disturbs
far less than the time; size and lines; and the worker's peak resident memory (VmHWM in
/proc/<pid>/status) after all the downloads: goal under 150 MB whatever the list size (the
downloads stream).
"""

import argparse
import http.client
import os
import statistics
import time
from pathlib import Path

from benchmarks.common import (
    collectstatic,
    database,
    django_env,
    free_port,
    gunicorn,
    worker_pid,
)
from benchmarks.list_pages import datasette, peer_file

PATHS = ["/studies.csv", "/studies.bib", "/studies.ris", "/studies.json"]


def memory_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def cpu_seconds(pid):
    """User and system CPU time of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def download(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    size = lines = 0
    while chunk := response.read(256 * 1024):
        size += len(chunk)
        lines += chunk.count(b"\n")
    connection.close()
    return response.status, time.perf_counter() - started, size, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--sqlite", help="an existing SQLite file of synthetic studies")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--pg-name")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--formats", nargs="+", choices=[p.rsplit(".", 1)[1] for p in PATHS], help="default: all"
    )
    args = parser.parse_args()
    paths = [p for p in PATHS if not args.formats or p.rsplit(".", 1)[1] in args.formats]
    if args.sqlite:
        url = f"sqlite:///{args.sqlite}"
    else:
        url = database(args.db, args.n, pg_name=args.pg_name)
    env = django_env(url, RATELIMIT_ENABLE="0")
    collectstatic(env)
    peer = None if url.startswith("postgres") else peer_file(url.removeprefix("sqlite:///"))
    ours, other = free_port(), free_port()
    peer_path = f"/{peer.stem}/study_list.csv?_stream=on&_size=max" if peer else None
    times = {path: [] for path in [*paths, peer_path] if path}
    cpu = {path: [] for path in times}
    sizes = {}
    with gunicorn(env, ours, workers=1, extra=["--timeout", "900"]) as master:
        download(ours, "/")  # the worker has imported everything
        worker = worker_pid(master.pid)
        started_rss = memory_kb(worker, "VmRSS") / 1024
        server = datasette(peer, other, "--setting", "max_csv_mb", "0") if peer else None
        peer_pid = server.__enter__().pid if server else None
        try:
            for _ in range(args.repeat):
                for path in times:
                    port, pid = (other, peer_pid) if path == peer_path else (ours, worker)
                    started_cpu = cpu_seconds(pid)
                    status, seconds, size, lines = download(port, path)
                    cpu[path].append(cpu_seconds(pid) - started_cpu)
                    times[path].append(seconds)
                    sizes[path] = (status, size, lines)
        finally:
            if server:
                server.__exit__(None, None, None)
        peak = memory_kb(worker, "VmHWM") / 1024
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{kind}; gunicorn 1 worker (pid {worker}); {args.repeat} interleaved rounds")
    print(f"worker memory after start {started_rss:.0f} MB, peak after all downloads {peak:.0f} MB")
    peer_median = statistics.median(times[peer_path]) if peer_path else None
    peer_cpu = statistics.median(cpu[peer_path]) if peer_path else None
    print(
        f"{'path':24} {'status':>6} {'median':>8} {'÷ peer':>7} {'CPU':>7} {'÷ peer':>7}"
        f" {'MB':>7} {'lines':>9}"
    )
    for path, values in times.items():
        status, size, lines = sizes[path]
        median, median_cpu = statistics.median(values), statistics.median(cpu[path])
        ratio = f"{median / peer_median:7.2f}" if peer_median else "      -"
        cpu_ratio = f"{median_cpu / peer_cpu:7.2f}" if peer_cpu else "      -"
        label = "Datasette CSV" if path == peer_path else path
        print(
            f"{label:24} {status:>6} {median:7.1f}s {ratio} {median_cpu:6.1f}s {cpu_ratio}"
            f" {size / 2**20:7.1f} {lines:>9}"
        )


if __name__ == "__main__":
    main()
