from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils.http import http_date, parse_http_date

from studies.caching import (
    bump_catalog_revision,
    catalog_version,
    public_page,
    read_catalog_version,
)
from studies.models import Study
from studies.vocabulary import ConditionBasis, Design
from tests.factories import make_condition, make_outcome, make_study


@public_page
def study_count(request):
    return HttpResponse(f"{Study.objects.count()} studies")


@public_page
def missing(request):
    return HttpResponse("gone", status=404)


urlpatterns = [path("count/", study_count), path("missing/", missing)]


@override_settings(ROOT_URLCONF=__name__, PUBLIC_PAGE_MAX_AGE=120)
class PublicPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition()
        cls.study = make_study(title="Low-dose naltrexone in fibromyalgia")

    def setUp(self):
        cache.clear()

    def get(self, **headers):
        return self.client.get("/count/", headers=headers)

    def test_a_page_carries_validators_and_public_cache_control(self):
        response = self.get()
        assert response.status_code == 200
        assert response.headers["ETag"].startswith('"')
        assert "Last-Modified" in response.headers
        assert set(response.headers["Cache-Control"].split(", ")) == {"public", "max-age=120"}
        assert "Cookie" in response.headers["Vary"].split(", ")

    def test_a_repeat_request_with_the_etag_gets_304(self):
        etag = self.get().headers["ETag"]
        response = self.get(if_none_match=etag)
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["ETag"] == etag

    def test_a_repeat_request_with_the_date_gets_304(self):
        # Asked once the clock is past the revision's time (the test data's burst of
        # changes runs it a second or two ahead: caching._not_after_now).
        _, changed_at = read_catalog_version()
        with patch("django.utils.timezone.now", return_value=changed_at + timedelta(seconds=5)):
            last_modified = self.get().headers["Last-Modified"]
            assert self.get(if_modified_since=last_modified).status_code == 304

    def test_a_change_in_the_same_second_as_the_last_one_changes_the_last_modified(self):
        # Last-Modified is in whole seconds: a client that revalidates by date alone (a
        # crawler, a feed reader) must not be told the page before a change is current.
        start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=200_000)
        asked = start + timedelta(seconds=5)  # readers ask once the burst of changes is over
        self.get()
        clock = [start]
        with patch("django.utils.timezone.now", side_effect=lambda: clock[0]):
            self.study.save()
            clock[0] = asked
            first = self.get()
            assert first.headers["Last-Modified"] == http_date(start.timestamp())
            for later in (500_000, 900_000):  # two more changes within that second
                clock[0] = start.replace(microsecond=later)
                self.study.save()
                clock[0] = asked
                response = self.get(if_modified_since=first.headers["Last-Modified"])
                assert response.status_code == 200
                assert parse_http_date(response.headers["Last-Modified"]) > parse_http_date(
                    first.headers["Last-Modified"]
                )
                modified = response.headers["Last-Modified"]
                assert self.get(if_modified_since=modified).status_code == 304
                first = response
            # Once the clock is past the revision's time, the revision takes the clock's.
            clock[0] = start + timedelta(minutes=1)
            self.study.save()
            assert self.get().headers["Last-Modified"] == http_date(start.timestamp() + 60)

    def test_a_revision_ahead_of_the_clock_is_dated_no_later_than_the_response(self):
        # A burst of changes runs the revision's time ahead of the clock: the page is then
        # dated by the clock (RFC 9110, 8.8.2.1), and a client sending that date back is
        # told the page changed, never that its copy is current.
        now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        with patch("django.utils.timezone.now", return_value=now):
            for _ in range(3):  # three changes in one second: the third is 2 s ahead
                bump_catalog_revision()
            response = self.get()
            assert response.headers["Last-Modified"] == http_date(now.timestamp())
            modified = response.headers["Last-Modified"]
            assert self.get(if_modified_since=modified).status_code == 200
        later = now + timedelta(seconds=3)  # the clock has caught up
        with patch("django.utils.timezone.now", return_value=later):
            response = self.get()
            assert response.headers["Last-Modified"] == http_date(now.timestamp() + 2)
            modified = response.headers["Last-Modified"]
            assert self.get(if_modified_since=modified).status_code == 304

    def test_editing_a_study_changes_the_etag(self):
        etag = self.get().headers["ETag"]
        with self.captureOnCommitCallbacks(execute=True):
            self.study.title = "Low-dose naltrexone in fibromyalgia: a pilot"
            self.study.save()
        response = self.get(if_none_match=etag)
        assert response.status_code == 200
        assert response.headers["ETag"] != etag

    def test_adding_a_study_changes_the_page_and_the_etag(self):
        first = self.get()
        make_study()
        second = self.get(if_none_match=first.headers["ETag"])
        assert second.status_code == 200
        assert second.content == b"2 studies"

    def test_renaming_or_deleting_a_reviewer_changes_the_etag_and_a_login_does_not(self):
        curator = User.objects.create_user("ann", first_name="Ann", last_name="Lee")
        other = User.objects.create_user("bob")
        self.study.reviewed_by = curator
        self.study.save()
        etag = self.get().headers["ETag"]
        other.first_name = "Bob"
        other.save()  # reviewed nothing: no page shows the name
        curator.last_login = datetime.now(UTC)
        curator.save(update_fields=["last_login"])
        assert self.get(if_none_match=etag).status_code == 304
        curator.last_name = "Smith"
        curator.save()
        renamed = self.get(if_none_match=etag)
        assert renamed.status_code == 200
        etag = renamed.headers["ETag"]
        curator.delete()
        assert self.get(if_none_match=etag).status_code == 200

    def test_changing_conditions_outcomes_and_deleting_change_the_etag(self):
        etags = {self.get().headers["ETag"]}
        self.study.conditions.add(self.condition)
        etags.add(self.get().headers["ETag"])
        outcome = make_outcome(self.study)
        etags.add(self.get().headers["ETag"])
        outcome.delete()
        etags.add(self.get().headers["ETag"])
        assert len(etags) == 4

    def test_editing_or_deleting_a_condition_tag_on_its_own_changes_the_etag(self):
        # The home page's map counts only the tags a study's own text names: a tag's basis
        # is on the page, and a tag saved or deleted alone sends no m2m_changed.
        self.study.conditions.add(self.condition)
        etag = self.get().headers["ETag"]
        tag = self.study.condition_tags.get()
        tag.basis = ConditionBasis.CITING
        tag.save()
        changed = self.get(if_none_match=etag)
        assert changed.status_code == 200
        tag.delete()
        assert self.get(if_none_match=changed.headers["ETag"]).status_code == 200

    def test_the_revision_is_one_primary_key_read_per_request(self):
        self.get()
        with CaptureQueriesContext(connection) as queries:
            self.get()
        assert len(queries) == 2  # the revision, then the page's own count
        assert "studies_catalogrevision" in queries[0]["sql"]

    def test_the_version_does_not_depend_on_the_cache(self):
        before = catalog_version()
        cache.clear()
        assert catalog_version() == before == read_catalog_version()

    def test_signed_in_users_get_private_pages_with_their_own_etag(self):
        anonymous = self.get().headers["ETag"]
        self.client.force_login(User.objects.create_user("curator"))
        response = self.get(if_none_match=anonymous)
        assert response.status_code == 200
        assert set(response.headers["Cache-Control"].split(", ")) == {"private", "no-cache"}
        assert self.get(if_none_match=response.headers["ETag"]).status_code == 304

    def test_error_pages_are_not_marked_cacheable(self):
        response = self.client.get("/missing/")
        assert response.status_code == 404
        assert "public" not in response.headers.get("Cache-Control", "")


class CountsPerVersionTests(TestCase):
    def setUp(self):
        cache.clear()

    def test_home_map_and_condition_index_are_counted_once_per_catalog_version(self):
        condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        make_study([condition], design="rct")
        for page in ("/", "/conditions/"):
            self.client.get(page)
            with CaptureQueriesContext(connection) as queries:
                assert self.client.get(page).status_code == 200
            assert not any("GROUP BY" in q["sql"] for q in queries.captured_queries), page
        with self.captureOnCommitCallbacks(execute=True):
            make_study([condition], design="rct")
        html = self.client.get("/conditions/").content.decode()
        assert '<a href="/studies/?condition=fibromyalgia">2</a>' in html
        home = self.client.get("/")
        cells = {design: count for design, count, _ in home.context["map_rows"][0][1]}
        assert cells[Design.RCT] == 2

    def test_a_list_page_keeps_its_rows_until_the_catalog_changes(self):
        condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        first = make_study([condition], title="Older", year=2001)
        url = "/studies/?condition=fibromyalgia"

        def titles():
            return [s.title for s in self.client.get(url).context["page"].object_list]

        assert titles() == ["Older"]
        with CaptureQueriesContext(connection) as queries:
            assert titles() == ["Older"]
        # The repeat view fetches its rows by primary key, not by filtering and sorting.
        assert not any("ORDER BY" in q["sql"] and "EXISTS" in q["sql"] for q in queries)
        assert any(f"IN ({first.pk})" in q["sql"] for q in queries)
        with self.captureOnCommitCallbacks(execute=True):
            make_study([condition], title="Newer", year=2020)
        assert titles() == ["Newer", "Older"]
        with self.captureOnCommitCallbacks(execute=True):
            first.delete()
        assert titles() == ["Newer"]
