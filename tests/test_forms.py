from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import SimpleTestCase, override_settings

from studies.forms import AuthorsField, BibtexImportForm


class AuthorsFieldTests(SimpleTestCase):
    def test_one_name_per_line_blank_lines_dropped(self):
        field = AuthorsField(required=False)
        assert field.clean("Younger J\n\n  Mackey S  \n") == ["Younger J", "Mackey S"]
        assert field.prepare_value(["Younger J", "Mackey S"]) == "Younger J\nMackey S"


class BibtexImportFormTests(SimpleTestCase):
    def form(self, text="", upload=None):
        files = {"file": upload} if upload else {}
        return BibtexImportForm(data={"text": text}, files=files)

    def test_pasted_text_is_taken_as_it_is(self):
        form = self.form(text="@article{a, title={T}}")
        assert form.is_valid()
        assert form.cleaned_data["bibtex"] == "@article{a, title={T}}"

    def test_a_file_or_text_not_both_and_not_neither(self):
        upload = SimpleUploadedFile("refs.bib", b"@article{a, title={T}}")
        both = self.form(text="@article{b, title={U}}", upload=upload)
        assert not both.is_valid()
        assert "not both" in str(both.errors)
        neither = self.form()
        assert not neither.is_valid()
        assert "Choose a file or paste text" in str(neither.errors)

    @override_settings(BIBTEX_UPLOAD_MAX_BYTES=10)
    def test_a_file_over_the_limit_is_refused_with_its_size(self):
        upload = SimpleUploadedFile("refs.bib", b"@article{a, title={Too long}}")
        form = self.form(upload=upload)
        assert not form.is_valid()
        assert "Split it into smaller files" in str(form.errors["file"])
