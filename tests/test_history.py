from html import unescape

from django.contrib.auth.models import User
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.test import RequestFactory, TestCase, override_settings
from django.urls import include, path, reverse

from studies.gone import deleted_study, gone_or_404
from studies.importers import import_bibtex
from studies.models import Study
from tests.factories import make_condition, make_outcome, make_study
from tests.forms_in_pages import form_data
from tests.test_admin import make_curator, study_form_data


def study_detail(request, slug):
    """How the public study page uses gone_or_404 (the real view is wired in on merge)."""
    try:
        study = get_object_or_404(Study, slug=slug)
    except Http404:
        return gone_or_404(request, slug)
    return HttpResponse(study.title)


urlpatterns = [
    path("gone/<slug:slug>/", study_detail, name="gone_detail"),
    path("", include("ldn_catalog.urls")),
]


class EditHistoryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()
        cls.condition = make_condition(name="Fibromyalgia")
        cls.study = make_study(title="Original title", year=2014, conditions=[cls.condition])

    def setUp(self):
        self.client.force_login(self.curator)

    def _edit(self, **fields):
        url = reverse("admin:studies_study_change", args=[self.study.pk])
        version = Study.objects.get(pk=self.study.pk).version  # the form as opened now
        data = study_form_data(slug=self.study.slug, year="2014", version=version, **fields)
        response = self.client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors

    def test_an_edit_records_who_when_and_what(self):
        self._edit(title="Corrected title")
        latest, previous = self.study.history.all()[:2]
        assert latest.history_user == self.curator
        assert latest.history_type == "~"
        assert latest.history_date is not None
        changed = {change.field for change in latest.diff_against(previous).changes}
        assert "title" in changed
        page = self.client.get(reverse("admin:studies_study_history", args=[self.study.pk]))
        assert page.status_code == 200
        assert "Corrected title" in page.content.decode()
        assert "curator" in page.content.decode()

    def test_an_earlier_version_can_be_restored_from_the_admin(self):
        original = self.study.history.latest()
        self._edit(title="Vandalised title")
        url = reverse(
            "admin:studies_study_simple_history", args=[self.study.pk, original.history_id]
        )
        form = self.client.get(url).context["adminform"].form
        assert form.initial["title"] == "Original title"
        self._edit(title=form.initial["title"])
        self.study.refresh_from_db()
        assert self.study.title == "Original title"
        assert [h.title for h in self.study.history.all()[:3]] == [
            "Original title",
            "Vandalised title",
            "Original title",
        ]

    def test_an_edit_of_the_condition_tags_is_in_the_record_of_that_edit(self):
        crohns = make_condition(name="Crohn's disease")
        url = reverse("admin:studies_study_change", args=[self.study.pk])
        form = form_data(self.client.get(url), "study_form")
        form |= {
            "condition_tags-0-basis": "citing",
            "condition_tags-TOTAL_FORMS": "2",
            "condition_tags-1-condition": str(crohns.pk),
            "condition_tags-1-basis": "study",
        }
        assert self.client.post(url, form).status_code == 302

        latest = self.study.history.first()
        assert latest.history_user == self.curator
        tags = {(tag.condition_id, tag.basis) for tag in latest.conditions.all()}
        assert tags == {(self.condition.pk, "citing"), (crohns.pk, "study")}

    def _retag(self, **rows):
        """Save the change form with the condition tags edited: ``rows`` adds to the form."""
        url = reverse("admin:studies_study_change", args=[self.study.pk])
        form = form_data(self.client.get(url), "study_form") | rows
        assert self.client.post(url, form).status_code == 302

    def _revert(self, record):
        url = reverse("admin:studies_study_simple_history", args=[self.study.pk, record.history_id])
        page = self.client.get(url)
        response = self.client.post(url, form_data(page, "historicalstudy_form"), follow=True)
        assert response.redirect_chain, response.context["adminform"].form.errors
        return page, response

    def _tags(self):
        return {(t.condition.name, t.basis, t.note) for t in self.study.condition_tags.all()}

    def test_reverting_restores_the_condition_tags_of_that_version(self):
        tagged = self.study.history.first()  # Fibromyalgia, named by the study
        crohns = make_condition(name="Crohn's disease")
        self._retag(
            **{
                "condition_tags-0-basis": "citing",
                "condition_tags-0-note": "Only a review names it.",
                "condition_tags-TOTAL_FORMS": "2",
                "condition_tags-1-condition": str(crohns.pk),
                "condition_tags-1-basis": "study",
            }
        )
        page, _ = self._revert(tagged)
        assert self._tags() == {("Fibromyalgia", "study", "")}
        text = unescape(page.content.decode())
        assert "Reverting also sets the study's condition tags back" in text
        assert "Fibromyalgia" in text
        # The revert's own history record holds the tags it restored.
        latest = self.study.history.first()
        assert {(t.condition_id, t.basis) for t in latest.conditions.all()} == {
            (self.condition.pk, "study")
        }

    def test_a_tag_whose_condition_was_deleted_since_is_named_before_and_after(self):
        crohns = make_condition(name="Crohn's disease")
        self._retag(
            **{
                "condition_tags-TOTAL_FORMS": "2",
                "condition_tags-1-condition": str(crohns.pk),
                "condition_tags-1-basis": "study",
            }
        )
        both = self.study.history.first()
        crohns.delete()  # its tags go with it; the history keeps them
        page, response = self._revert(both)
        assert self._tags() == {("Fibromyalgia", "study", "")}
        warning = "Not restored: the condition tag “Crohn's disease”"
        assert warning in unescape(page.content.decode())  # before the curator confirms
        assert warning in unescape(response.content.decode())  # and after

    def test_outcomes_and_conditions_keep_history(self):
        outcome = make_outcome(self.study, name="Pain")
        outcome.name = "Pain (VAS)"
        outcome.save()
        assert [h.name for h in outcome.history.all()] == ["Pain (VAS)", "Pain"]

        self.condition.description = "Chronic widespread pain."
        self.condition.save()
        assert self.condition.history.count() == 2
        url = reverse("admin:studies_condition_history", args=[self.condition.pk])
        assert self.client.get(url).status_code == 200

    def test_bulk_import_is_recorded(self):
        import_bibtex("@misc{a, title = {Imported}}", "batch.bib", user=self.curator)
        record = Study.objects.get(title="Imported").history.get()
        assert (record.history_type, record.history_user) == ("+", self.curator)
        assert record.history_change_reason == "Imported from batch.bib"


@override_settings(ROOT_URLCONF=__name__)
class DeletedStudyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.admin = User.objects.create_superuser("admin", password="a long admin password")
        cls.study = make_study(title="<b>Gone</b> study", year=2012, slug="gone-study-2012")

    def _delete(self):
        self.client.force_login(self.admin)
        url = reverse("admin:studies_study_delete", args=[self.study.pk])
        confirmation = self.client.get(url)
        assert "Are you sure" in confirmation.content.decode()
        assert Study.objects.filter(pk=self.study.pk).exists()
        self.client.post(url, {"post": "yes"})
        self.client.logout()

    def test_deleting_keeps_the_history(self):
        self._delete()
        assert not Study.objects.filter(pk=self.study.pk).exists()
        records = Study.history.filter(id=self.study.pk)
        assert [r.history_type for r in records] == ["-", "+"]
        assert records[0].history_user == self.admin

    def test_a_deleted_study_can_be_restored(self):
        self._delete()
        Study.history.filter(id=self.study.pk).earliest().instance.save()
        assert Study.objects.get(pk=self.study.pk).title == "<b>Gone</b> study"
        assert deleted_study("gone-study-2012") is None

    def test_public_url_of_a_deleted_study_answers_410(self):
        self._delete()
        assert deleted_study("gone-study-2012") is not None
        response = self.client.get("/gone/gone-study-2012/")
        assert response.status_code == 410
        content = response.content.decode()
        assert "This study was removed from the catalog" in content
        assert "&lt;b&gt;Gone&lt;/b&gt; study" in content

    def test_unknown_and_live_slugs_are_not_gone(self):
        assert deleted_study("never-existed") is None
        assert deleted_study("gone-study-2012") is None
        request = RequestFactory().get("/")
        with self.assertRaises(Http404):
            gone_or_404(request, "never-existed")
        assert self.client.get("/gone/never-existed/").status_code == 404

    def test_a_renamed_slug_is_not_gone(self):
        self.study.slug = "renamed"
        self.study.save()
        assert deleted_study("gone-study-2012") is None
