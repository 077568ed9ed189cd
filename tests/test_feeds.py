import xml.etree.ElementTree as ET
from datetime import timedelta
from unittest.mock import patch

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from django.utils.http import parse_http_date

from studies.caching import read_catalog_version
from studies.models import Study
from tests.factories import make_condition, make_effect_summary, make_study

ATOM = "{http://www.w3.org/2005/Atom}"


class FeedTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.tagged = make_study(title="LDN in fibromyalgia", conditions=[cls.condition])
        cls.other = make_study(title="LDN in Crohn's disease")

    def entries(self, query=""):
        response = self.client.get(reverse("studies:feed") + query)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/atom+xml")
        root = ET.fromstring(response.content)
        return root, [entry.find(f"{ATOM}title").text for entry in root.iter(f"{ATOM}entry")]

    def test_the_feed_lists_the_studies_of_the_filter(self):
        root, titles = self.entries("?condition=fibromyalgia")
        assert titles == ["LDN in fibromyalgia"]
        assert "Fibromyalgia" in root.find(f"{ATOM}title").text

    def test_without_a_filter_every_study(self):
        _, titles = self.entries()
        assert sorted(titles) == ["LDN in Crohn's disease", "LDN in fibromyalgia"]

    def test_characters_xml_cannot_hold_are_dropped(self):
        root, _ = self.entries("?q=%08pain")
        assert "\x08" not in root.find(f"{ATOM}title").text

    def test_an_entry_is_updated_when_its_verdict_changes(self):
        # The entry's text holds the study's verdicts: a feed reader learns of a change
        # from the entry's <updated>, and the feed's.
        summary = make_effect_summary(self.tagged, self.condition, verdict="benefit")

        def updated(query="?condition=fibromyalgia"):
            root, _ = self.entries(query)
            entry = root.find(f"{ATOM}entry")
            return root.find(f"{ATOM}updated").text, entry.find(f"{ATOM}updated").text

        before = updated()
        later = timezone.now() + timedelta(hours=1)
        for change in (
            lambda: setattr(summary, "verdict", "no_benefit") or summary.save(),
            summary.delete,
        ):
            with patch("django.utils.timezone.now", return_value=later):
                change()
            after = updated()
            assert after[0] > before[0] and after[1] > before[1]
            before, later = after, later + timedelta(hours=1)

    def test_the_feed_carries_the_catalog_revisions_date_and_answers_304_to_it(self):
        # The syndication framework dates a feed by its newest entry; the 304 check uses
        # the catalog revision, which every change moves on, entries or not.
        Study.objects.filter(pk=self.tagged.pk).update(
            updated_at=timezone.now() + timedelta(days=1)
        )
        self.other.title = "LDN in Crohn's disease: a retitled study"
        self.other.save()
        _, revision_date = read_catalog_version()
        # Asked once the clock is past the revision's time (a burst of changes, as this
        # test's, runs it ahead: caching._not_after_now).
        with patch("django.utils.timezone.now", return_value=revision_date + timedelta(seconds=5)):
            response = self.client.get(reverse("studies:feed"))
            assert parse_http_date(response["Last-Modified"]) == int(revision_date.timestamp())
            headers = {"if_modified_since": response["Last-Modified"]}
            assert self.client.get(reverse("studies:feed"), headers=headers).status_code == 304
        make_study(title="A later study")
        assert self.client.get(reverse("studies:feed"), headers=headers).status_code == 200
