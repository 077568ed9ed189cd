"""Exports of the whole catalog over HTTP: time and the server's peak memory.

    python -m benchmarks.exports --db sqlite --n 100000

Serves the site with gunicorn (1 sync worker, DEBUG off) on loopback, downloads
/studies.csv and /studies.bib in full, and reads the worker's peak resident memory
(VmHWM in /proc/<pid>/status) before and after each download. Goal: under 150 MB,
whatever the list size (the exports stream).
"""

import argparse
import http.client
import time
from pathlib import Path

from benchmarks.common import collectstatic, database, django_env, free_port, gunicorn

PATHS = ["/studies.csv", "/studies.bib"]


def memory_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def worker_pid(master_pid):
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def download(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    first_byte = time.perf_counter() - started
    size = lines = 0
    while chunk := response.read(256 * 1024):
        size += len(chunk)
        lines += chunk.count(b"\n")
    connection.close()
    return response.status, first_byte, time.perf_counter() - started, size, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--pg-name")
    args = parser.parse_args()
    env = django_env(database(args.db, args.n, pg_name=args.pg_name))
    collectstatic(env)
    port = free_port()
    with gunicorn(env, port, workers=1, extra=["--timeout", "600"]) as master:
        download(port, "/")  # the worker has imported everything
        worker = worker_pid(master.pid)
        print(f"{args.db}, {args.n} studies; gunicorn, 1 worker (pid {worker})")
        print(f"worker memory after start: {memory_kb(worker, 'VmRSS') / 1024:.0f} MB\n")
        print(
            f"{'path':14} {'status':>6} {'first byte':>10} {'total':>8} {'MB':>7} "
            f"{'lines':>9} {'peak RSS':>9}"
        )
        for path in PATHS:
            status, first_byte, total, size, lines = download(port, path)
            peak = memory_kb(worker, "VmHWM") / 1024
            print(
                f"{path:14} {status:>6} {first_byte:9.2f}s {total:7.1f}s {size / 2**20:7.1f} "
                f"{lines:>9} {peak:7.0f}MB"
            )


if __name__ == "__main__":
    main()
