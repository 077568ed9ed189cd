from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studies.forms import StudyAdminForm
from studies.models import ImportJob, Study
from tests.factories import (
    make_condition,
    make_effect_summary,
    make_mention,
    make_outcome,
    make_source,
    make_study,
)

CHANGELIST = reverse("admin:studies_study_changelist")
ADD = reverse("admin:studies_study_add")
IMPORT = reverse("admin:studies_study_import")
CONFIRM = reverse("admin:studies_study_import_confirm")
INLINE_PREFIXES = ["condition_tags", "outcomes", "effect_summaries", "claims", "mentions"]


def make_curator(username="curator"):
    user = User.objects.create_user(username, password="a long curator password", is_staff=True)
    user.groups.add(Group.objects.get(name="Curators"))
    return user


def study_form_data(**fields):
    data = {"title": "A new study", "slug": "a-new-study", "design": "rct"}
    data["design_basis"] = "stated"
    data["status"] = "published"
    data.update(fields)
    for prefix in INLINE_PREFIXES:
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return data


class AdminPagesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()
        cls.condition = make_condition(name="Fibromyalgia")
        cls.source = make_source()
        cls.study = make_study(
            title="Quoted study", year=2014, sample_size=31, conditions=[cls.condition]
        )
        make_outcome(cls.study, source=cls.source)
        make_outcome(cls.study, name="Fatigue")
        make_mention(cls.study, source=cls.source)
        make_effect_summary(cls.study, cls.condition)
        cls.bare = make_study(title="Bare study", year=2020, authors=["Müller, Jürgen"])

    def setUp(self):
        self.client.force_login(self.curator)

    def test_anonymous_users_are_sent_to_the_login_page(self):
        self.client.logout()
        for url in [CHANGELIST, ADD, IMPORT, reverse("admin:studies_condition_changelist")]:
            response = self.client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))

    def test_pages_render_for_a_curator(self):
        urls = [
            reverse("admin:index"),
            CHANGELIST,
            ADD,
            reverse("admin:studies_study_change", args=[self.study.pk]),
            reverse("admin:studies_study_history", args=[self.study.pk]),
            IMPORT,
            reverse("admin:studies_condition_changelist"),
            reverse("admin:studies_condition_add"),
            reverse("admin:studies_source_changelist"),
            reverse("admin:studies_source_change", args=[self.source.pk]),
            reverse("admin:studies_outcome_changelist"),
            reverse("admin:studies_effectsummary_changelist"),
            reverse("admin:studies_claim_changelist"),
            reverse("admin:studies_mention_changelist"),
        ]
        for url in urls:
            response = self.client.get(url)
            assert response.status_code == 200, url
            # The catalog's icon (without it, browsers asked for /favicon.ico: a 404).
            assert b'<link rel="icon" href="/static/studies/favicon' in response.content, url
        login = self.client.logout() or self.client.get(reverse("admin:login"))
        assert b'<link rel="icon"' in login.content

    def test_change_page_has_inlines_autocomplete_and_view_on_site(self):
        response = self.client.get(reverse("admin:studies_study_change", args=[self.study.pk]))
        content = response.content.decode()
        for prefix in INLINE_PREFIXES:
            assert f'name="{prefix}-TOTAL_FORMS"' in content
        assert "admin-autocomplete" in content
        assert "View on site" in content
        # No inline script of our own: the admin runs under the CSP.
        assert "<script>" not in content

    def test_conditions_autocomplete(self):
        make_condition(name="Crohn's disease")
        response = self.client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": "studies",
                "model_name": "studycondition",
                "field_name": "condition",
                "term": "fibro",
            },
        )
        assert [r["text"] for r in response.json()["results"]] == ["Fibromyalgia"]

    def test_list_shows_counts(self):
        response = self.client.get(CHANGELIST)
        rows = {study.pk: study for study in response.context["cl"].result_list}
        assert (rows[self.study.pk].outcome_count, rows[self.study.pk].source_count) == (2, 1)
        assert (rows[self.bare.pk].outcome_count, rows[self.bare.pk].source_count) == (0, 0)

    def test_list_runs_a_fixed_number_of_queries(self):
        def count():
            with CaptureQueriesContext(connection) as queries:
                assert self.client.get(CHANGELIST).status_code == 200
            return len(queries)

        before = count()
        for n in range(5):
            study = make_study(title=f"More {n}")
            make_outcome(study)
            make_mention(study, source=self.source)
        assert count() == before

    def test_filters(self):
        def titles(query):
            response = self.client.get(CHANGELIST + query)
            return {study.title for study in response.context["cl"].result_list}

        assert titles("?provenance=no") == {"Bare study"}
        assert titles("?provenance=yes") == {"Quoted study"}
        assert titles("?outcomes=no") == {"Bare study"}
        assert titles(f"?conditions__id__exact={self.condition.pk}") == {"Quoted study"}
        assert titles("?year=2020") == {"Bare study"}
        assert titles("?design__exact=rct") == {"Quoted study", "Bare study"}

    def test_search_over_authors_with_accents(self):
        response = self.client.get(CHANGELIST + "?q=Müller")
        assert list(response.context["cl"].result_list) == [self.bare]

    def test_markup_in_a_title_is_shown_as_text(self):
        make_study(title="<script>alert(1)</script>")
        content = self.client.get(CHANGELIST).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
        assert "<script>alert(1)" not in content

    def test_mark_as_reviewed_checkbox(self):
        url = reverse("admin:studies_study_change", args=[self.bare.pk])
        data = study_form_data(
            title="Bare study",
            slug=self.bare.slug,
            year="2020",
            mark_reviewed="on",
            version=self.bare.version,
        )
        response = self.client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        self.bare.refresh_from_db()
        assert self.bare.reviewed_by == self.curator
        assert self.bare.reviewed_at is not None

    def test_mark_as_reviewed_action(self):
        response = self.client.post(
            CHANGELIST,
            {"action": "mark_reviewed", "_selected_action": [self.study.pk, self.bare.pk]},
        )
        assert response.status_code == 302
        assert Study.objects.filter(reviewed_by=self.curator).count() == 2
        assert self.study.history.latest().history_change_reason == "Marked as reviewed"


class IdentifierValidationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()

    def setUp(self):
        self.client.force_login(self.curator)

    def test_identifiers_are_normalised(self):
        data = study_form_data(
            doi="https://doi.org/10.1000/XYZ.",
            pmid="PMID: 0123456",
            pmcid="pmc 3962576",
            registry_id="nct04270877",
            authors="Younger, Jarred\n\n  Mackey, Sean  \n",
        )
        response = self.client.post(ADD, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        study = Study.objects.get()
        assert (study.doi, study.pmid, study.pmcid, study.registry_id) == (
            "10.1000/xyz",
            "123456",
            "PMC3962576",
            "NCT04270877",
        )
        assert study.authors == ["Younger, Jarred", "Mackey, Sean"]

    def test_invalid_identifiers_are_form_errors(self):
        data = study_form_data(pmid="12a45", pmcid="PMC", registry_id="NCT123", doi="not a doi")
        response = self.client.post(ADD, data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert errors["pmid"] == [
            "“12a45” is not a PMID: a PubMed id is digits only, e.g. 24526250."
        ]
        assert errors["pmcid"][0].startswith("“PMC” is not a PMCID")
        assert errors["registry_id"][0].startswith(
            "“NCT123” is not a trial registry id the catalog recognises"
        )
        assert errors["doi"][0].startswith("“not a doi” is not a DOI")
        assert not Study.objects.exists()

    def test_registry_dates_that_are_not_dates_are_form_errors(self):
        data = study_form_data(registry_checked="2024-13", expected_completion="soon")
        response = self.client.post(ADD, data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert errors["registry_checked"] == [
            "“2024-13” is not a date as a registry gives it: YYYY, YYYY-MM or YYYY-MM-DD."
        ]
        assert errors["expected_completion"][0].startswith("“soon” is not a date")
        assert not Study.objects.exists()
        data = study_form_data(registry_checked="2024-02-29", expected_completion="2026-05")
        assert self.client.post(ADD, data).status_code == 302

    def test_authors_are_edited_one_per_line(self):
        study = make_study(authors=["A, B", "C, D"])
        form = StudyAdminForm(instance=study)
        assert "A, B\nC, D</textarea>" in str(form["authors"])


class DuplicateWarningTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()
        cls.existing = make_study(
            title="Low-dose naltrexone in fibromyalgia: a pilot study",
            year=2009,
            doi="10.1111/j.1526-4637.2009.00613.x",
            pmid="19453963",
        )

    def setUp(self):
        self.client.force_login(self.curator)

    def _post(self, **fields):
        return self.client.post(ADD, study_form_data(**fields))

    def test_same_identifier_shows_the_existing_study_instead_of_saving(self):
        response = self._post(doi="https://doi.org/10.1111/J.1526-4637.2009.00613.X")
        assert response.status_code == 200
        [error] = response.context["adminform"].form.errors["doi"]
        link = reverse("admin:studies_study_change", args=[self.existing.pk])
        assert f'<a href="{link}">' in error
        assert "The catalog holds this DOI already" in error
        assert Study.objects.count() == 1

        response = self._post(pmid="19453963", save_anyway="on")
        assert "pmid" in response.context["adminform"].form.errors
        assert Study.objects.count() == 1

    def test_near_identical_title_and_year_needs_confirmation(self):
        title = "Low dose naltrexone in fibromyalgia - a pilot study."
        response = self._post(title=title, year="2009")
        assert response.status_code == 200
        [error] = response.context["adminform"].form.non_field_errors()
        assert "near-identical title and the same year" in error
        assert reverse("admin:studies_study_change", args=[self.existing.pk]) in error
        assert Study.objects.count() == 1

        response = self._post(title=title, year="2009", save_anyway="on")
        assert response.status_code == 302
        assert Study.objects.count() == 2

    def test_similar_title_of_another_year_is_not_a_duplicate(self):
        response = self._post(title=self.existing.title, year="2010")
        assert response.status_code == 302

    def test_editing_a_study_does_not_flag_itself(self):
        url = reverse("admin:studies_study_change", args=[self.existing.pk])
        data = study_form_data(
            title=self.existing.title,
            slug=self.existing.slug,
            year="2009",
            doi=self.existing.doi,
            pmid=self.existing.pmid,
            version=self.existing.version,
        )
        assert self.client.post(url, data).status_code == 302

    def test_markup_in_the_existing_title_is_escaped_in_the_warning(self):
        make_study(title="<b>Bold</b> claim", year=2001, pmid="1")
        response = self._post(pmid="1")
        [error] = response.context["adminform"].form.errors["pmid"]
        assert "&lt;b&gt;Bold&lt;/b&gt; claim" in error


BIB = b"""@article{new1, title = {A new study}, year = {2020}, doi = {10.1000/new1}}
@article{dup, title = {Existing}, pmid = {555}}
@article{broken, title = {Broken} year = {2020}}
@article{xss, title = {<script>alert(1)</script>}}
"""


class ImportAdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()
        cls.existing = make_study(title="Existing", pmid="555")

    def setUp(self):
        self.client.force_login(self.curator)

    def _upload(self, content=BIB, name="refs.bib"):
        return self.client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})

    def test_changelist_links_to_the_import(self):
        assert IMPORT in self.client.get(CHANGELIST).content.decode()

    def _preview(self, content=BIB, name="refs.bib"):
        """Upload, and follow to the job's page (the tests' task backend runs at once)."""
        response = self._upload(content, name)
        assert response.status_code == 302
        job = ImportJob.objects.latest("pk")
        assert response.url == reverse("admin:studies_study_import_job", args=[job.pk])
        return self.client.get(response.url), job

    def test_preview_then_confirm(self):
        response, job = self._preview()
        assert response.status_code == 200
        report = response.context["report"]
        assert [(row["key"], row["status"]) for row in report["rows"]] == [
            ("new1", "new"),
            ("dup", "duplicate"),
            ("broken", "error"),
            ("xss", "new"),
        ]
        content = response.content.decode()
        assert reverse("admin:studies_study_change", args=[self.existing.pk]) in content
        assert "a missing comma after the “title” field (line 3)" in content
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
        assert "<script>alert(1)" not in content
        assert 'value="Import 2 new studies"' in content
        assert 'http-equiv="refresh"' not in content  # checked: it waits for the curator
        # Nothing is written before the curator confirms.
        assert Study.objects.count() == 1
        assert (job.status, job.user, job.file_name, job.text) == (
            "previewed",
            self.curator,
            "refs.bib",
            BIB.decode(),
        )

        response = self.client.post(
            CONFIRM, {"token": response.context["token"], "skip_errors": "1"}
        )
        # The import is queued (run at once by the tests' backend); its page follows it.
        assert response.status_code == 302
        assert response.url == job.get_absolute_url()
        assert set(Study.objects.values_list("title", flat=True)) == {
            "Existing",
            "A new study",
            "<script>alert(1)</script>",
        }
        created = Study.objects.get(doi="10.1000/new1").history.earliest()
        assert created.history_user == self.curator
        assert created.history_change_reason == "Imported from refs.bib"
        job.refresh_from_db()
        assert (job.status, job.done, job.total, job.data) == ("done", 4, 4, b"")
        assert job.task_id
        page = self.client.get(response.url).content.decode()
        assert "2 created</strong>, 1 duplicate," in page
        assert reverse("admin:studies_study_change", args=[created.id]) in page
        assert "a missing comma after the “title” field (line 3)" in page
        assert 'http-equiv="refresh"' not in page  # finished: no more reloading

        # Confirming twice, or re-importing the file, creates nothing more.
        self.client.post(CONFIRM, {"token": job.token})
        self._preview()
        assert Study.objects.count() == 3

    def test_pasted_text(self):
        self.client.post(IMPORT, {"text": BIB.decode()})
        job = ImportJob.objects.get()
        assert job.file_name == "pasted BibTeX"
        assert job.report["new"] == 2

    def test_confirm_revalidates(self):
        response, job = self._preview()
        make_study(title="Sneaked in", doi="10.1000/new1")
        self.client.post(CONFIRM, {"token": response.context["token"], "skip_errors": "1"})
        assert Study.objects.filter(doi="10.1000/new1").count() == 1
        assert Study.objects.count() == 3

    def test_wrong_token_imports_nothing(self):
        self._preview()
        response = self.client.post(CONFIRM, {"token": "forged"}, follow=True)
        assert "no longer pending" in response.content.decode()
        assert Study.objects.count() == 1

    def test_only_the_uploader_confirms(self):
        _, job = self._preview()
        other = make_curator("other")
        self.client.force_login(other)
        page = self.client.get(job.get_absolute_url())
        assert page.context["token"] == ""
        assert "Only curator, who uploaded the file, can confirm this import." in (
            page.content.decode()
        )
        self.client.post(CONFIRM, {"token": job.token})
        assert Study.objects.count() == 1

    def test_nothing_new_offers_no_confirmation(self):
        response, _ = self._preview(b"@article{dup, title = {Existing}, pmid = {555}}\n")
        assert response.context["token"] == ""
        assert "Nothing to import" in response.content.decode()

    @override_settings(BIBTEX_UPLOAD_MAX_BYTES=1024)
    def test_oversized_upload_is_a_form_error(self):
        response = self._upload(b"%" * 2048)
        assert response.status_code == 200
        [error] = response.context["form"].errors["file"]
        assert "the largest file the catalog imports is 1.0\xa0KB" in error

    def test_a_file_over_the_real_limit_is_a_form_error(self):
        # One byte over BIBTEX_UPLOAD_MAX_BYTES (20 MB): refused before it is read.
        response = self._upload(b" " * (settings.BIBTEX_UPLOAD_MAX_BYTES + 1), "huge.bib")
        assert response.status_code == 200
        [error] = response.context["form"].errors["file"]
        assert error.startswith("The file is 20.0\xa0MB; the largest file the catalog imports")
        assert not ImportJob.objects.exists()

    def test_binary_upload_is_a_form_error(self):
        response = self._upload(b"\x00\x01\x02PK", "junk.bib")
        assert response.context["form"].errors["file"] == [
            "This is a binary file, not text. The catalog imports BibTeX, RIS, PubMed MEDLINE, "
            "CSL JSON, ClinicalTrials.gov study JSON, the catalog's JSON export or the "
            "catalog's CSV export."
        ]

    def test_empty_and_double_submissions_are_form_errors(self):
        response = self.client.post(IMPORT, {})
        assert "Choose a file or paste text." in response.content.decode()
        response = self.client.post(
            IMPORT, {"text": "@misc{a, title={A}}", "file": SimpleUploadedFile("a.bib", BIB)}
        )
        assert "Upload a file or paste text, not both." in response.content.decode()

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
    def test_oversized_paste_is_refused_whole_saying_to_upload_a_file(self):
        # A maxlength made browsers cut a longer paste without a word, and only the first
        # records were imported. The box has none: it carries the limit for the page's
        # script (static/studies/import-form.js), which refuses before sending.
        box = self.client.get(IMPORT).context["form"]["text"].as_widget()
        assert "maxlength" not in box
        assert 'data-max-bytes="1000"' in box
        # Without the script the server refuses the whole text, and says what to do.
        response = self.client.post(IMPORT, {"text": "x" * 5000})
        assert response.status_code == 413
        page = response.content.decode()
        assert "The text sent with this form is larger than the catalog accepts" in page
        assert "save the text as a file and upload that file instead" in page
        assert "(files of up to 20.0 MB are accepted)" in page
        assert Study.objects.count() == 1
        assert not ImportJob.objects.exists()


class OutcomeEstimateAdminTests(TestCase):
    """The study admin refuses an estimate no plot could draw, saying which number is wrong."""

    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()

    def setUp(self):
        self.client.force_login(self.curator)

    def post_outcome(self, **estimate):
        data = study_form_data()
        data.update({"outcomes-TOTAL_FORMS": "1", "outcomes-0-name": "Pain"})
        data.update({"outcomes-0-position": "0", "outcomes-0-domain": "pain"})
        data["outcomes-0-direction"] = "improved"
        data.update({f"outcomes-0-{key}": value for key, value in estimate.items()})
        return self.client.post(ADD, data)

    def outcome_errors(self, response):
        assert response.status_code == 200
        assert not Study.objects.exists()  # nothing saved, nothing lost: the form comes back
        [formset] = [
            f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "outcomes"
        ]
        return formset.formset.forms[0].errors

    def test_a_sound_hazard_ratio_is_saved(self):
        response = self.post_outcome(
            effect_measure="HR", value="5.04", ci_low="1.22", ci_high="20.77"
        )
        assert response.status_code == 302
        outcome = Study.objects.get().outcomes.get()
        assert (outcome.value, outcome.ci_low, outcome.ci_high) == (
            Decimal("5.04"),
            Decimal("1.22"),
            Decimal("20.77"),
        )

    def test_a_negative_ratio_is_refused(self):
        errors = self.outcome_errors(self.post_outcome(effect_measure="OR", value="-0.5"))
        assert errors["value"] == ["An odds ratio is above zero; -0.5 cannot be one."]

    def test_an_interval_that_excludes_its_estimate_is_refused(self):
        errors = self.outcome_errors(
            self.post_outcome(effect_measure="HR", value="5.04", ci_low="1.22", ci_high="2.77")
        )
        assert "outside its own confidence interval (1.22 to 2.77)" in errors["value"][0]

    def test_a_missing_bound_is_refused(self):
        errors = self.outcome_errors(
            self.post_outcome(effect_measure="MD", value="-1", ci_low="-2")
        )
        assert errors["ci_high"] == ["Give both bounds of the confidence interval, or neither."]
