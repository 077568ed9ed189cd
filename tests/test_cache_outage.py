"""Redis is optional at run time: with the cache at a closed port the public pages, the
exports and signing in to the admin work, /healthz says "degraded" with 200, and the
cache comes back by itself when Redis does."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import TestCase, override_settings

from ldn_catalog.settings import redis_cache
from tests.factories import make_condition, make_study

PORT = 8101  # this branch's port: nothing else listens there unless this file starts it
CLOSED = f"redis://127.0.0.1:{PORT}/1"


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def redis_server():
    """A Redis of the test's own on PORT: start() and stop() it at will."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    processes = []

    class Server:
        def start(self):
            process = subprocess.Popen(
                ["redis-server", "--port", str(PORT), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
            processes.append(process)
            for _ in range(100):
                if listening(PORT):
                    return
                time.sleep(0.05)
            raise RuntimeError("redis-server did not start")

        def stop(self):
            process = processes.pop()
            process.terminate()
            process.wait(timeout=10)

    yield Server()
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@override_settings(CACHES={"default": redis_cache(CLOSED)}, RATELIMIT_ENABLE=True)
class CacheAtAClosedPortTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.study = make_study([condition], title="Low-dose naltrexone in fibromyalgia")
        cls.curator = User.objects.create_superuser("curator", password="a long passphrase")

    def setUp(self):
        assert not listening(PORT)

    def test_public_pages_and_exports_are_served(self):
        for url in (
            "/",
            "/studies/",
            "/studies/?q=naltrexone",
            f"/studies/{self.study.slug}/",
            "/conditions/",
            "/conditions/fibromyalgia/",
            "/studies.csv",
            "/studies.atom",
        ):
            response = self.client.get(url)
            assert response.status_code == 200, url
        assert "Low-dose naltrexone" in self.client.get("/studies/").content.decode()

    def test_a_curator_can_sign_in_and_stays_signed_in(self):
        response = self.client.post(
            "/admin/login/?next=/admin/",
            {"username": "curator", "password": "a long passphrase"},
        )
        assert response.status_code == 302
        assert response["Location"] == "/admin/"
        assert self.client.get("/admin/").status_code == 200
        assert self.client.get("/admin/studies/study/").status_code == 200

    def test_healthz_is_degraded_not_down(self):
        response = self.client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "degraded",
            "checks": {"database:default": "ok", "cache": "degraded"},
        }

    def test_a_cache_operation_fails_within_the_timeout(self):
        durations = []
        for _ in range(9):
            started = time.monotonic()
            assert cache.get("anything") is None
            durations.append(time.monotonic() - started)
        # A closed port refuses at once; REDIS_TIMEOUT bounds a host that does not answer.
        assert sorted(durations)[4] < settings.REDIS_TIMEOUT


@pytest.mark.django_db
def test_the_cache_goes_away_mid_run_and_comes_back_by_itself(client, settings, redis_server):
    redis_server.start()
    settings.CACHES = {"default": redis_cache(CLOSED)}
    assert client.get("/healthz").json()["checks"]["cache"] == "ok"
    cache.set("kept", "yes")
    assert cache.get("kept") == "yes"

    redis_server.stop()  # the same cache object, its pooled connections now dead
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").json()["checks"]["cache"] == "degraded"
    assert client.get("/studies/").status_code == 200

    redis_server.start()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["cache"] == "ok"
    cache.set("kept", "again")
    assert cache.get("kept") == "again"


@pytest.mark.slow
def test_sessions_only_in_the_cache_are_refused():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(SECRET_KEY="x" * 50, SESSION_ENGINE="django.contrib.sessions.backends.cache")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "use django.contrib.sessions.backends.cached_db" in result.stderr
