import tempfile
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from ldn_catalog.settings import redis_cache
from studies import warmup

from .factories import make_condition, make_study


class WarmCatalogTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        for year in (2010, 2015, 2020):
            make_study([cls.fibro], year=year)

    def queries(self, path):
        with CaptureQueriesContext(connection) as captured:
            assert self.client.get(path).status_code == 200
        return len(captured)

    def test_a_per_process_cache_cannot_be_warmed_from_another_process(self):
        with pytest.raises(CommandError, match="CACHE_DIR"):
            call_command("warm_catalog")

    def test_the_pages_most_readers_open_are_warmed(self):
        paths = warmup.pages()
        assert "/" in paths and "/conditions/fibromyalgia/" in paths
        assert "/studies/?condition=fibromyalgia" in paths and "/studies/?design=rct" in paths

    def test_warmed_pages_read_their_counts_from_the_shared_cache(self):
        with (
            tempfile.TemporaryDirectory() as directory,
            override_settings(
                CACHES={
                    "default": {
                        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                        "LOCATION": directory,
                    }
                }
            ),
        ):
            paths = ["/", "/conditions/fibromyalgia/", "/studies/?condition=fibromyalgia"]
            cold = {}
            for path in paths:
                cache.clear()
                cold[path] = self.queries(path)
            cache.clear()
            out = StringIO()
            call_command("warm_catalog", stdout=out)
            assert out.getvalue().startswith(f"Warmed {len(warmup.pages())} pages")
            for path in paths:
                assert self.queries(path) < cold[path], path

    def test_a_cache_that_keeps_nothing_is_reported_not_warmed(self):
        # Redis away: every cache operation is a miss, which the site survives.
        with override_settings(CACHES={"default": redis_cache("redis://127.0.0.1:1/13")}):
            out = StringIO()
            with pytest.raises(CommandError, match="The cache keeps nothing"):
                call_command("warm_catalog", stdout=out)
        assert "Warmed" not in out.getvalue()

    @override_settings(ALLOWED_HOSTS=[".example.org"])
    def test_a_domain_and_its_subdomains_allowed_is_a_host_to_warm(self):
        assert dict(warmup.warm(["/", "/conditions/fibromyalgia/"])) == {
            "/": 200,
            "/conditions/fibromyalgia/": 200,
        }
