"""Shared pieces of the benchmarks: databases of N synthetic studies, servers, timing.

A benchmark database is built once and kept: a SQLite file under benchmarks/out/
(gitignored) or a PostgreSQL database; both are filled by `manage.py generate_studies`.
"""

import contextlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")


def django_env(database_url, **extra):
    """The environment of a production-like process: DEBUG off, plain HTTP on loopback."""
    env = dict(os.environ)
    env.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-secret-key-not-for-production"),
        DATABASE_URL=database_url,
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        LOG_LEVEL="ERROR",
        AXES_ENABLED="0",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def manage(env, *args, quiet=True):
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def sqlite_url(n, seed=0):
    return f"sqlite:///{OUT / f'catalog-{n}-seed{seed}.sqlite3'}"


def pg_url(n, seed=0, name=None):
    return f"{PG_SERVER}/{name or f'ldn_perf_bench_{n}_seed{seed}'}"


def database(kind, n, seed=0, pg_name=None):
    """The URL of a database holding N synthetic studies, built on first use."""
    OUT.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(n, seed) if kind == "sqlite" else pg_url(n, seed, pg_name)
    env = django_env(url)
    if kind == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists():
            return url
    else:
        name = url.rsplit("/", 1)[1]
        exists = subprocess.run(
            [
                "psql",
                PG_SERVER + "/postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname='{name}'",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if exists:
            return url
        subprocess.run(
            ["psql", PG_SERVER + "/postgres", "-qc", f'CREATE DATABASE "{name}"'], check=True
        )
    manage(env, "migrate", "--noinput")
    started = time.perf_counter()
    manage(env, "generate_studies", str(n), "--seed", str(seed), quiet=False)
    print(f"built {url} with {n} studies in {time.perf_counter() - started:.1f} s", flush=True)
    return url


def psql(statement, database="postgres"):
    command = ["psql", f"{PG_SERVER}/{database}", "-tAc", statement]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def collectstatic(env):
    manage(env, "collectstatic", "--noinput")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@contextlib.contextmanager
def server(command, port, env=None, log=None):
    """Run a server as a subprocess until the block ends; stop it by its own pid."""
    log_file = open(log or os.devnull, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
    try:
        wait_for_port(port, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


def gunicorn(env, port, workers=1, log=None, extra=()):
    command = [
        str(BIN / "gunicorn"),
        "ldn_catalog.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-" if log else "/dev/null",
        *extra,
    ]
    return server(command, port, env=env, log=log)


def worker_pid(master_pid):
    """The one worker of a gunicorn master (started with --workers 1), once it has started."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


class HttpTimer:
    """GETs over one keep-alive connection; each timing covers the whole response body."""

    def __init__(self, port, headers=None):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.headers = headers or {}

    def get(self, path):
        try:
            return self._get(path)
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closed an idle keep-alive connection (uvicorn does after 5 s).
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            return self._get(path)

    def _get(self, path):
        started = time.perf_counter()
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        return response.status, time.perf_counter() - started, body

    def close(self):
        self.connection.close()


def percentile(values, p):
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[p - 1]


def ms(seconds):
    return f"{seconds * 1000:8.1f}"


def setup_django(database_url, **extra):
    """Configure this process like `django_env` and import Django."""
    os.environ.update(django_env(database_url, **extra))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ldn_catalog.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
