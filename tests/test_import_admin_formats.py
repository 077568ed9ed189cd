"""The admin's import page with every format: upload or paste, preview, confirm; a file
with errors writes nothing unless the curator ticks “Import the valid entries”; a trial's
newer registry status is an update the curator may accept."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from studies.admin.imports import PENDING
from studies.models import Study
from tests.factories import make_condition
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

    def test_every_corpus_file_previews_without_a_server_error(self):
        for path in sorted(CORPUS.iterdir()):
            response = self._upload(path.name)
            assert response.status_code == 200, path.name
        assert not Study.objects.exists()

    def test_a_file_with_errors_writes_nothing_unless_the_curator_chooses(self):
        response = self._upload("no_er.ris")
        content = response.content.decode()
        assert "(RIS (Zotero, EndNote, Mendeley, PubMed citation manager))" in content
        assert "no “ER  -” line ends this record: the record on line 10 starts inside it" in content
        assert "Import the valid entries and skip the 1 with errors" in content
        token = response.context["token"]

        response = self.client.post(CONFIRM, {"token": token})
        content = response.content.decode()
        assert "Nothing was imported: 1 entries of no_er.ris have errors" in content
        # The preview is shown again, with the box to tick.
        assert response.context["token"] == token
        assert 'name="skip_errors"' in content
        assert not Study.objects.exists()

        # The import is still pending: the curator may now choose to skip the errors.
        response = self.client.post(CONFIRM, {"token": token, "skip_errors": "1"})
        assert response.status_code == 302
        assert Study.objects.count() == 2
        record = Study.objects.get(title="First study of low-dose naltrexone").history.get()
        assert record.history_change_reason == "Imported from no_er.ris"
        assert PENDING not in self.client.session

    def test_pasted_medline_with_a_chosen_format(self):
        text = (CORPUS / "truncated.nbib").read_text().split("\n\n")[0]
        response = self.client.post(IMPORT, {"text": text, "format": "medline"})
        report = response.context["report"]
        assert (report.file_name, report.format) == ("pasted PubMed MEDLINE", "medline")
        assert [row.status for row in report.rows] == ["new"]
        self.client.post(CONFIRM, {"token": response.context["token"]})
        assert Study.objects.get().pmid == "90000011"

    def test_a_registry_update_is_accepted_with_its_checkbox(self):
        response = self._upload("ctgov_studies.json")
        self.client.post(CONFIRM, {"token": response.context["token"], "skip_errors": "1"})
        trial = Study.objects.get(registry_id="NCT90000101")
        assert trial.results_posted is False

        response = self._upload("ctgov_one.json")
        content = response.content.decode()
        assert 'name="update" value="0"' in content
        assert "results_posted: False → <strong>True</strong>" in content
        assert response.context["token"]  # nothing new, but an update to offer
        self.client.post(CONFIRM, {"token": response.context["token"], "update": "0"})
        trial.refresh_from_db()
        assert (trial.results_posted, trial.registry_checked) == (True, "2025-02")
        assert trial.history.latest().history_user == self.curator

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
        response = self._upload("ctgov_wrong_shape.json")
        assert response.status_code == 200
        assert response.context["token"] == ""
        assert "not a JSON file the catalog reads" in response.content.decode()
