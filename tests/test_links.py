"""Canonical, share and feed links come from SITE_URL, not from the Host header: a page
cached for everyone must not carry the address one client chose."""

import re
from xml.etree import ElementTree

from django.test import TestCase, override_settings

from tests.factories import make_condition, make_study

HOSTILE = "localhost:99999"
ATOM = "{http://www.w3.org/2005/Atom}"


@override_settings(SITE_URL="https://ldn.example.org", ALLOWED_HOSTS=["localhost"])
class SiteUrlTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.study = make_study([cls.condition], title="Low-dose naltrexone in fibromyalgia")

    def get(self, url):
        response = self.client.get(url, HTTP_HOST=HOSTILE)
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
