"""HEAD is GET without a body on every public page, every export and /healthz."""

from datetime import timedelta
from unittest.mock import patch

from django.test import TestCase
from django.urls import get_resolver

from studies import urls as public_urls
from studies.caching import read_catalog_version
from tests.factories import make_claim, make_condition, make_mention, make_source, make_study

# Headers a HEAD must give exactly as the GET does.
SAME_HEADERS = ("Content-Type", "Content-Disposition", "ETag", "Last-Modified", "Cache-Control")


class HeadTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.study = make_study([cls.condition], title="Low-dose naltrexone in fibromyalgia")
        cls.source = make_source(slug="a-blog")
        make_mention(cls.study, cls.source)
        make_claim(cls.study, cls.source)
        gone = make_study(title="Withdrawn")
        cls.gone_slug = gone.slug
        gone.delete()

    def urls(self):
        """One URL for each public route (by name), and some answers besides 200."""
        return {
            "home": ["/"],
            "study_list": [
                "/studies/",
                "/studies/?design=rct&sort=level",
                "/studies/?page=x",
                "/studies/?sort=level&design=rct",
            ],
            "export_bib": ["/studies.bib", "/studies.bib?design=nonsense"],
            "export_ris": ["/studies.ris"],
            "export_csv": ["/studies.csv?condition=fibromyalgia"],
            "export_json": ["/studies.json"],
            "feed": ["/studies.atom"],
            "study_detail": [f"/studies/{self.study.slug}/", f"/studies/{self.gone_slug}/"],
            "study_bibtex": [f"/studies/{self.study.slug}.bib", "/studies/nothing-here.bib"],
            "condition_list": ["/conditions/"],
            "condition_detail": ["/conditions/fibromyalgia/", "/conditions/nothing-here/"],
            "condition_json": ["/conditions/fibromyalgia.json", "/conditions/nothing-here.json"],
            "source_detail": ["/sources/a-blog/"],
            "healthz": ["/healthz"],
        }

    def test_every_public_route_is_covered(self):
        names = {pattern.name for pattern in public_urls.urlpatterns}
        names.add("healthz")
        assert set(self.urls()) == names
        assert get_resolver().resolve("/healthz").url_name == "healthz"

    def test_head_answers_as_get_without_a_body(self):
        statuses = set()
        # The clock stopped past the revision's time: until the clock catches up with a
        # revision made ahead of it, Last-Modified is the response's own second
        # (caching._not_after_now), which a GET and its HEAD may straddle.
        _, changed_at = read_catalog_version()
        clock = patch("django.utils.timezone.now", return_value=changed_at + timedelta(seconds=5))
        for name, urls in self.urls().items():
            for url in urls:
                with clock:
                    get = self.client.get(url)
                    head = self.client.head(url)
                assert head.status_code == get.status_code, (name, url)
                statuses.add(get.status_code)
                for header in SAME_HEADERS:
                    assert head.headers.get(header) == get.headers.get(header), (url, header)
                body = b"".join(head.streaming_content) if head.streaming else head.content
                assert body == b"", url
        assert {200, 301, 400, 404, 410} <= statuses  # not only the happy paths

    def test_a_conditional_head_gets_304(self):
        etag = self.client.head("/studies/").headers["ETag"]
        assert self.client.head("/studies/", headers={"if_none_match": etag}).status_code == 304

    def test_other_methods_are_still_refused(self):
        for url in ("/", "/studies/", "/studies.csv", "/healthz"):
            assert self.client.post(url).status_code == 405, url
