"""Requests that used to answer 500 (issue 10, item 9): each is now a 400, a 404, a form
error or a clean result, on SQLite and PostgreSQL."""

from django.contrib.auth.models import User
from django.test import TestCase

from studies.models import Condition, Study
from tests.factories import make_condition, make_study

NUL = "\x00"


class AdminInputTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.admin = User.objects.create_superuser("admin", password="x")
        cls.condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.study = make_study([cls.condition], title="Low-dose naltrexone in fibromyalgia")

    def setUp(self):
        self.client.force_login(self.admin)

    def study_form(self, **changes):
        data = {
            "title": "A study with a NUL",
            "slug": "a-study-with-a-nul",
            "design": "rct",
            "status": "published",
            "authors": "Younger J",
            "outcomes-TOTAL_FORMS": "0",
            "outcomes-INITIAL_FORMS": "0",
            "effect_summaries-TOTAL_FORMS": "0",
            "effect_summaries-INITIAL_FORMS": "0",
            "claims-TOTAL_FORMS": "0",
            "claims-INITIAL_FORMS": "0",
            "mentions-TOTAL_FORMS": "0",
            "mentions-INITIAL_FORMS": "0",
        }
        data.update(changes)
        return data

    def test_a_nul_in_the_authors_is_a_form_error(self):
        response = self.client.post(
            "/admin/studies/study/add/", self.study_form(authors=f"Younger J\nSmith{NUL} A")
        )
        assert response.status_code == 200
        assert "Null characters are not allowed." in response.content.decode()
        assert not Study.objects.filter(slug="a-study-with-a-nul").exists()

    def test_a_nul_in_the_synonyms_is_a_form_error(self):
        response = self.client.post(
            "/admin/studies/condition/add/",
            {
                "name": "Crohn's disease",
                "slug": "crohns-disease",
                "category": "autoimmune",
                "synonyms": '["Crohn\\u0000"]',  # JSON's escape: the decoded name holds a NUL
            },
        )
        assert response.status_code == 200
        assert "Null characters are not allowed." in response.content.decode()
        assert not Condition.objects.filter(slug="crohns-disease").exists()

    def test_non_numeric_ids_in_history_urls_are_not_found(self):
        for url in (
            "/admin/studies/study/abc/history/",
            f"/admin/studies/study/{self.study.pk}/history/abc/",
            "/admin/studies/condition/abc/history/",
            f"/admin/studies/condition/{self.condition.pk}/history/abc/",
            f"/admin/studies/study/{self.study.pk}/history/99999999999999999999999/",
        ):
            assert self.client.get(url).status_code == 404, url

    def test_a_nul_in_a_changelist_filter_or_search_is_refused(self):
        for url in (
            "/admin/studies/study/?design__exact=%00",
            "/admin/studies/study/?conditions__id__exact=%00",
            "/admin/studies/study/?q=%00",
            "/admin/studies/condition/?q=a%00b",
            "/admin/studies/study/?%00=1",
            "/admin/studies/study/?design__exact=rct&design__exact=%00",
            "/admin/studies/study/?design__exact=%00&design__exact=rct",
        ):
            response = self.client.get(url)
            assert response.status_code == 400, url
            assert "NUL" in response.content.decode()
        assert self.client.get("/admin/studies/study/?design__exact=rct").status_code == 200

    def autocomplete(self, term):
        response = self.client.get(
            "/admin/autocomplete/",
            {
                "term": term,
                "app_label": "studies",
                "model_name": "study",
                "field_name": "conditions",
            },
        )
        assert response.status_code == 200
        return response.json()["results"]

    def test_a_nul_in_an_autocomplete_term_is_left_out(self):
        assert self.autocomplete(NUL) == self.autocomplete("")
        assert self.autocomplete(f"Fibro{NUL}") == [
            {"id": str(self.condition.pk), "text": "Fibromyalgia"}
        ]

    def test_a_nul_in_a_study_search_is_left_out(self):
        response = self.client.get(
            "/admin/autocomplete/",
            {
                "term": f"naltrexone{NUL}",
                "app_label": "studies",
                "model_name": "outcome",
                "field_name": "study",
            },
        )
        assert response.status_code == 200
        assert [r["text"] for r in response.json()["results"]] == [str(self.study)]


class ListPageTests(TestCase):
    def test_a_page_number_of_thousands_of_digits_is_not_a_500(self):
        response = self.client.get("/studies/?page=" + "9" * 4400)
        assert response.status_code in (400, 404)
