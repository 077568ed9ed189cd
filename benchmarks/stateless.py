"""Are the app servers stateless? Two gunicorn processes, one PostgreSQL, one Redis.

    python -m benchmarks.stateless

Starts server A and server B on two loopback ports, sharing a PostgreSQL database and
Redis (REDIS_URL=redis://127.0.0.1:6379/<--redis-db>) with sessions in the database, read
through the cache (SESSION_ENGINE=django.contrib.sessions.backends.cached_db; the
cache-only engine is refused since sessions must survive a Redis outage). Logs into the
admin through A, uses that session on B, then sends a round-robin of signed-in requests
across both, logs out through B and checks that A no longer knows the session. Then the
same run with each process on its own local-memory cache: sessions being in the
database, it must pass too.
"""

import argparse
import http.client
import re
import urllib.parse
from http.cookies import SimpleCookie

from benchmarks.common import collectstatic, django_env, free_port, gunicorn, manage, pg_url, psql

USERNAME, PASSWORD = "bench-curator", "a-long-benchmark-password-42"
CACHE_SESSIONS = "django.contrib.sessions.backends.cached_db"


class Browser:
    """Just enough of a browser: cookies (Secure ones too, over loopback) and forms."""

    def __init__(self):
        self.cookies = {}

    def request(self, port, method, path, form=None):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        connection.close()
        return response.status, response.headers.get("Location", ""), text


def signed_in(status, text):
    return status == 200 and USERNAME in text and "Log out" in text


def run(env, label):
    ports = free_port(), free_port()
    print(f"\n{label}")
    with gunicorn(env, ports[0], workers=2), gunicorn(env, ports[1], workers=2):
        a, b = ports
        browser = Browser()
        status, _, page = browser.request(a, "GET", "/admin/login/?next=/admin/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {
            "username": USERNAME,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        }
        status, location, _ = browser.request(a, "POST", "/admin/login/?next=/admin/", form)
        print(f"  log in through A (:{a}): {status} → {location}")
        status, location, text = browser.request(b, "GET", "/admin/")
        first_hop = signed_in(status, text)
        print(f"  same session on B (:{b}) /admin/: {status} {location} signed in: {first_hop}")
        hits = []
        for n in range(20):
            port = ports[n % 2]
            status, _, text = browser.request(port, "GET", "/admin/auth/user/")
            hits.append(signed_in(status, text))
        print(f"  round-robin A/B, 20 requests to /admin/auth/user/: {sum(hits)}/20 signed in")
        status, _, page = browser.request(b, "GET", "/admin/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token:
            browser.request(b, "POST", "/admin/logout/", {"csrfmiddlewaretoken": token.group(1)})
        status, location, text = browser.request(a, "GET", "/admin/")
        print(
            f"  after logging out through B, A says: {status} → {location or 'page'}"
            f" (signed in: {signed_in(status, text)})"
        )
        return first_hop and all(hits)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-name", default="ldn_perf_stateless")
    parser.add_argument("--redis-db", type=int, default=13)
    args = parser.parse_args()
    url = pg_url(0, name=args.pg_name)
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{args.pg_name}'"):
        psql(f'CREATE DATABASE "{args.pg_name}"')
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    shared = django_env(url, REDIS_URL=redis_url, SESSION_ENGINE=CACHE_SESSIONS)
    manage(shared, "migrate", "--noinput")
    collectstatic(shared)
    psql(f"DELETE FROM auth_user WHERE username = '{USERNAME}'", args.pg_name)
    manage(
        dict(shared, DJANGO_SUPERUSER_PASSWORD=PASSWORD),
        "createsuperuser",
        "--noinput",
        "--username",
        USERNAME,
        "--email",
        "bench@example.org",
    )
    shared_ok = run(shared, f"Two servers, sessions in Redis ({redis_url}), PostgreSQL {url}")
    local = dict(shared, REDIS_URL="")
    local_ok = run(local, "The same, but each process has its own local-memory cache")
    print(
        f"\nstateless with Redis: {'yes' if shared_ok else 'NO'}; "
        f"with per-process cache: {'yes' if local_ok else 'NO'}"
    )


if __name__ == "__main__":
    main()
