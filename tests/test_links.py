"""Canonical, share and feed links come from SITE_URL, not from the Host header: a page
cached for everyone must not carry the address one client chose."""

import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.test import TestCase, override_settings

from tests.factories import make_condition, make_study

BASE_DIR = Path(__file__).resolve().parent.parent
HOSTILE = "localhost:99999"
ATOM = "{http://www.w3.org/2005/Atom}"


@override_settings(SITE_URL="https://ldn.example.org", ALLOWED_HOSTS=["localhost"])
class SiteUrlTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.study = make_study([cls.condition], title="Low-dose naltrexone in fibromyalgia")

    def get(self, url):
        response = self.client.get(url, headers={"host": HOSTILE})
        assert response.status_code == 200, url
        text = response.content.decode()
        assert "99999" not in text, url
        return text

    def test_a_study_page_links_to_itself_on_the_site_url(self):
        html = self.get(f"/studies/{self.study.slug}/?utm_source=x")
        url = f"https://ldn.example.org/studies/{self.study.slug}/"
        assert f'<link rel="canonical" href="{url}">' in html
        assert f'data-copy-url="{url}"' in html

    def test_the_list_links_to_its_canonical_query_on_the_site_url(self):
        html = self.get("/studies/?condition=fibromyalgia")
        url = "https://ldn.example.org/studies/?condition=fibromyalgia"
        assert f'<link rel="canonical" href="{url}">' in html

    def test_the_feed_links_are_on_the_site_url(self):
        feed = ElementTree.fromstring(self.get("/studies.atom?condition=fibromyalgia"))
        links = [link.get("href") for link in feed.iter(f"{ATOM}link")]
        ids = [element.text for element in feed.iter(f"{ATOM}id")]
        assert "https://ldn.example.org/studies/?condition=fibromyalgia" in links
        assert "https://ldn.example.org/studies.atom?condition=fibromyalgia" in links
        assert f"https://ldn.example.org/studies/{self.study.slug}/" in links
        absolute = [u for u in links + ids if re.match(r"\w+:", u)]
        assert absolute
        assert all(
            u.startswith(("https://ldn.example.org/", "tag:ldn.example.org")) for u in absolute
        )

    def test_every_public_page_ignores_the_host(self):
        for url in ("/", "/conditions/", "/conditions/fibromyalgia/", "/studies/"):
            self.get(url)


def settings_in_a_process(**env):
    """manage.py run with this environment: (exit code, SITE_URL or the error)."""
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SITE_URL"}}
    environment.update(SECRET_KEY="x" * 50, **env)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SITE_URL)",
        ],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        return result.returncode, result.stderr
    return 0, result.stdout.strip().splitlines()[-1]  # after shell's note of its imports


@pytest.mark.slow
def test_site_url_from_the_environment_or_the_allowed_hosts():
    assert settings_in_a_process(SITE_URL="https://ldn.example.org/", ALLOWED_HOSTS="x.org") == (
        0,
        "https://ldn.example.org",
    )
    assert settings_in_a_process(ALLOWED_HOSTS=".example.org,ldn.example.org") == (
        0,
        "https://ldn.example.org",
    )
    code, error = settings_in_a_process(SITE_URL="ldn.example.org", ALLOWED_HOSTS="x.org")
    assert code != 0
    assert "SITE_URL must be an http:// or https:// address." in error
