"""The admin's import page with every format: upload or paste, the import job's preview,
confirm; a file with errors writes nothing unless the curator ticks “Import the valid
entries”; a trial's newer registry status is an update the curator may accept, refused if
the trial changed since the preview. (The tests' task backend runs each job at once.)"""

import json
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings
from django.urls import reverse

from studies.models import Condition, ImportJob, Study
from tests.factories import make_condition, make_study
from tests.test_admin import make_curator

IMPORT = reverse("admin:studies_study_import")
CONFIRM = reverse("admin:studies_study_import_confirm")
CORPUS = Path(__file__).parent / "import_corpus"


class ImportFormatsAdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()
        make_condition(name="Fibromyalgia", slug="fibromyalgia")

    def setUp(self):
        self.client.force_login(self.curator)

    def _upload(self, name, content=None, **data):
        content = (CORPUS / name).read_bytes() if content is None else content
        return self.client.post(IMPORT, {"file": SimpleUploadedFile(name, content), **data})

    def _preview(self, name=None, content=None, **data):
        """Upload (or paste, with ``text=``) and follow to the job's preview."""
        if name is None:
            response = self.client.post(IMPORT, data)
        else:
            response = self._upload(name, content, **data)
        assert response.status_code == 302, response.content.decode()[-2000:]
        job = ImportJob.objects.latest("pk")
        assert response.url == job.get_absolute_url()
        assert job.status == "previewed", job.message
        return self.client.get(response.url), job

    def test_every_corpus_file_previews_without_a_server_error(self):
        for path in sorted(CORPUS.iterdir()):
            response = self._upload(path.name)
            if response.status_code == 302:  # a job: its page shows the preview
                response = self.client.get(response.url)
            assert response.status_code == 200, path.name
        assert not Study.objects.exists()

    def test_a_duplicate_shows_its_differing_authors_and_conditions_as_text(self):
        make_study(
            [Condition.objects.get(slug="fibromyalgia")],
            title="Pilot",
            year=2009,
            doi="10.1000/pilot",
            authors=["Younger J", "Mackey S"],
        )
        make_condition(name="Chronic pain", slug="chronic-pain")
        text = (
            "@article{p, title={Pilot}, year={2009}, doi={10.1000/pilot},\n"
            "  author={Younger, J. and Mackey, S.}, keywords={chronic pain}}\n"
        )
        content = self._preview(text=text)[0].content.decode()
        assert (
            "authors differs: catalog “Younger J; Mackey S”, file “Younger, J.; Mackey, S.”"
            in content
        )
        assert "conditions differs: catalog “Fibromyalgia”, file “Chronic pain”" in content

    def test_a_file_with_errors_writes_nothing_unless_the_curator_chooses(self):
        response, job = self._preview("no_er.ris")
        content = response.content.decode()
        assert "(RIS (Zotero, EndNote, Mendeley, PubMed citation manager))" in content
        assert "3 entries" in content and "0 duplicates," in content
        assert "no “ER  -” line ends this record: the record on line 10 starts inside it" in content
        assert "Import the valid entries and skip the 1 with errors" in content
        token = response.context["token"]

        response = self.client.post(CONFIRM, {"token": token}, follow=True)
        content = response.content.decode()
        assert "Nothing was imported: 1 entry of no_er.ris has errors" in content
        # The preview is shown again, still pending, with the box to tick.
        job.refresh_from_db()
        assert (job.status, job.confirmed) == ("previewed", False)
        assert response.context["token"] == token
        assert 'name="skip_errors"' in content
        assert not Study.objects.exists()

        # The curator may now choose to skip the errors.
        response = self.client.post(CONFIRM, {"token": token, "skip_errors": "1"})
        assert response.status_code == 302
        job.refresh_from_db()
        assert (job.status, job.skip_errors, job.report["created"]) == ("done", True, 2)
        assert Study.objects.count() == 2
        record = Study.objects.get(title="First study of low-dose naltrexone").history.get()
        assert record.history_change_reason == "Imported from no_er.ris"

    def test_a_worker_told_not_to_skip_errors_writes_nothing(self):
        response, job = self._preview("no_er.ris")
        assert job.confirm(skip_errors=False)
        job.refresh_from_db()
        assert (job.status, job.report["errors"], job.report["created"]) == ("done", 1, 0)
        assert not Study.objects.exists()

    def test_pasted_medline_with_a_chosen_format(self):
        text = (CORPUS / "truncated.nbib").read_text().split("\n\n")[0]
        response, job = self._preview(text=text, format="medline")
        report = response.context["report"]
        assert (job.file_name, job.format, report["format"]) == (
            "pasted PubMed MEDLINE",
            "medline",
            "medline",
        )
        assert [row["status"] for row in report["rows"]] == ["new"]
        self.client.post(CONFIRM, {"token": response.context["token"]})
        assert Study.objects.get().pmid == "90000011"

    def _trial_offered_an_update(self):
        response, _ = self._preview("ctgov_studies.json")
        self.client.post(CONFIRM, {"token": response.context["token"], "skip_errors": "1"})
        trial = Study.objects.get(registry_id="NCT90000101")
        assert trial.results_posted is False

        response, job = self._preview("ctgov_one.json")
        content = response.content.decode()
        assert 'name="update" value="0"' in content
        assert "results_posted: False → <strong>True</strong>" in content
        assert response.context["token"]  # nothing new, but an update to offer
        return trial, response, job

    def test_a_registry_update_is_accepted_with_its_checkbox(self):
        trial, response, job = self._trial_offered_an_update()
        self.client.post(CONFIRM, {"token": response.context["token"], "update": "0"})
        job.refresh_from_db()
        assert job.accepted_updates == {"0": trial.version}
        assert (job.status, job.report["updated"]) == ("done", 1)
        trial.refresh_from_db()
        assert (trial.results_posted, trial.registry_checked) == (True, "2025-02")
        assert trial.history.latest().history_user == self.curator

    def test_an_update_not_ticked_is_not_applied(self):
        trial, response, job = self._trial_offered_an_update()
        self.client.post(CONFIRM, {"token": response.context["token"]})
        job.refresh_from_db()
        assert (job.status, job.report["updated"]) == ("done", 0)
        trial.refresh_from_db()
        assert trial.results_posted is False

    def test_an_update_of_a_trial_changed_since_the_preview_is_refused(self):
        trial, response, job = self._trial_offered_an_update()
        trial.refresh_from_db()
        trial.summary = "Edited by another curator meanwhile."
        trial.save()
        self.client.post(CONFIRM, {"token": response.context["token"], "update": "0"})
        job.refresh_from_db()
        assert job.status == "failed"
        assert "changed by another curator since the preview" in job.message
        trial.refresh_from_db()
        assert (trial.results_posted, trial.summary) == (
            False,
            "Edited by another curator meanwhile.",
        )

    def test_empty_undecodable_and_unknown_files_are_form_errors(self):
        response = self._upload("empty.ris")
        assert response.context["form"].errors["file"] == ["The submitted file is empty."]
        response = self._upload("latin1.ris")
        [error] = response.context["form"].errors["file"]
        assert "not UTF-8 text" in error
        response = self._upload("notes.txt", b"Dear curator, three studies follow.")
        [error] = response.context["form"].non_field_errors()
        assert error.startswith("The file is empty, or in no format the catalog reads: BibTeX")

    def test_json_of_the_wrong_shape_is_reported_not_imported(self):
        response, job = self._preview("ctgov_wrong_shape.json")
        assert response.status_code == 200
        assert response.context["token"] == ""
        assert "not a JSON file the catalog reads" in response.content.decode()

    def test_a_nul_character_in_an_entrys_key_or_message_is_previewed(self):
        """JSON spells it “\\u0000”: a ClinicalTrials.gov id or a CSL id holding one went
        into the job's report, which PostgreSQL cannot store (the job failed, and with the
        tests' task backend the upload was a server error)."""
        study = {
            "identificationModule": {"nctId": "NCT90000999\u0000", "briefTitle": "T"},
            "statusModule": {"overallStatus": "COMPLETED\u0000"},
        }
        for name, content in (
            ("trial.json", json.dumps({"protocolSection": study})),
            ("zotero.json", json.dumps([{"id": "x\u0000", "type": "article", "title": "T"}])),
        ):
            response, job = self._preview(name, content.encode())
            assert response.status_code == 200
            assert "\\u0000" not in json.dumps(job.report), name
            assert job.report["rows"][0]["key"].startswith(("NCT90000999", "x")), name

    @override_settings(BIBTEX_MAX_ENTRIES=3)
    def test_a_file_over_the_entry_limit_is_a_form_error_in_every_format(self):
        text = "".join(f"TY  - JOUR\nTI  - T{n}\nER  - \n" for n in range(4))
        response = self._upload("four.ris", text.encode())
        [error] = response.context["form"].errors["file"]
        assert error.startswith("The file holds 4 entries; the catalog imports at most 3 ")
        response = self.client.post(IMPORT, {"text": text})
        [error] = response.context["form"].errors["text"]
        assert error.startswith("The text holds 4 entries; the catalog imports at most 3 ")
        assert not ImportJob.objects.exists()

    def test_the_import_page_links_the_curators_own_recent_imports(self):
        # A curator who left a job's page (to check a study, say) finds it again here.
        _, job = self._preview("zotero.ris")
        ImportJob.objects.create(file_name="someone-elses.ris", user=make_curator("bob"))
        content = self.client.get(IMPORT).content.decode()
        assert (
            f'<a href="{job.get_absolute_url()}">zotero.ris</a>: checked, waiting for confirmation'
            in content
        )
        assert "someone-elses.ris" not in content

    def test_a_preview_with_only_updates_offers_to_update_not_to_import_none(self):
        _, response, _ = self._trial_offered_an_update()
        content = response.content.decode()
        assert 'value="Update the ticked trials"' in content
        assert "Import 0 new" not in content

    def test_the_updates_to_tick_come_before_the_confirm_button(self):
        # Tab order is the page's order: a keyboard user reaches every checkbox of the
        # confirmation before the button that sends it.
        _, response, _ = self._trial_offered_an_update()
        content = response.content.decode()
        button = content.index('value="Update the ticked trials"')
        assert content.index('name="update" value="0"') < button
        assert content.index('id="import-preview"') < button
        assert content.count('form="import-confirm" value="Update the ticked trials"') == 1

    def test_with_errors_the_skip_box_and_the_updates_come_before_the_button(self):
        self._trial_offered_an_update()
        update = json.loads((CORPUS / "ctgov_one.json").read_text())
        new = json.loads(json.dumps(update))
        new["protocolSection"]["identificationModule"] = {
            "nctId": "NCT90000999",
            "briefTitle": "A trial the catalog does not hold",
        }
        studies = {"studies": [update, {"protocolSection": {}}, new]}
        response, job = self._preview("three.json", json.dumps(studies).encode())
        assert (job.report["new"], job.report["errors"], job.report["updates"]) == (1, 1, 1)
        content = response.content.decode()
        button = content.index('value="Import 1 new study and the ticked updates"')
        assert content.index('name="skip_errors"') < button
        assert content.index('name="update"') < button
        assert content.rindex('name="update"') < button

    def test_a_job_not_yet_counted_shows_no_empty_progress_bar(self):
        job = ImportJob.objects.create(file_name="big.ris", user=self.curator)
        content = self.client.get(job.get_absolute_url()).content.decode()
        assert "Waiting for a worker" in content
        assert "<progress" not in content and "0 of 0" not in content
        ImportJob.objects.filter(pk=job.pk).update(status="checking")
        content = self.client.get(job.get_absolute_url()).content.decode()
        assert "Reading the file." in content and "0 of 0" not in content

    def test_the_page_of_a_confirmed_import_offers_no_update_to_tick(self):
        trial, response, job = self._trial_offered_an_update()
        self.client.post(CONFIRM, {"token": response.context["token"], "update": "0"})
        content = self.client.get(job.get_absolute_url()).content.decode()
        assert "1 trial updated" in content
        assert 'name="update"' not in content
        assert "Update the catalog's record" not in content

    def test_half_of_a_character_in_a_json_entry_is_its_error_not_a_server_error(self):
        """JSON spells a lone UTF-16 surrogate (“\\ud800”), which no text can hold: the
        job's page failed on it (a server error), and PostgreSQL refused the job's report."""
        items = [
            {"id": "a", "type": "article", "title": "Pain \ud800 relief"},
            {"id": "b", "type": "article", "title": "Fatigue"},
        ]
        response, job = self._preview("zotero.json", json.dumps(items).encode())
        assert response.status_code == 200
        assert (job.report["errors"], job.report["new"]) == (1, 1)
        assert "half of a character" in response.content.decode()
