"""Curators' forms: they validate and normalise what a curator typed, nothing more."""

from django import forms
from django.conf import settings
from django.core import validators
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .duplicates import IDENTIFIER_LABELS, identifier_duplicates, title_duplicates
from .formats import LABELS, detect_format
from .importers import UnreadableFile, check_entry_count, decode_upload
from .models import Study


def _holds_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


class CatalogAdminForm(forms.ModelForm):
    """Refuses a NUL character in any value, in lists and JSON too (authors, synonyms):
    PostgreSQL cannot store one, and only plain text fields check for it themselves."""

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if _holds_nul(value):
                self.add_error(name, validators.ProhibitNullCharactersValidator.message)
        return cleaned


class AuthorsField(forms.CharField):
    """A JSON list of names, edited as one name per line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        return [line.strip() for line in text.splitlines() if line.strip()]


def _admin_link(study):
    url = reverse("admin:studies_study_change", args=[study.pk])
    return format_html('<a href="{}">{}</a>', url, str(study))


class StudyAdminForm(CatalogAdminForm):
    authors = AuthorsField(required=False, help_text="One author per line, in order.")
    mark_reviewed = forms.BooleanField(
        label="Mark as reviewed",
        required=False,
        help_text="Record that you checked this study today.",
    )
    save_anyway = forms.BooleanField(
        label="Save anyway",
        required=False,
        help_text="Tick to save although a study with a near-identical title and the same "
        "year exists (only after checking that it is a different study).",
    )

    class Meta:
        model = Study
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Identifiers are checked for length after normalising: “PMID: 0123456” is fine.
        for name in Study.IDENTIFIER_FIELDS:
            field = self.fields[name]
            field.max_length = None
            field.validators = [
                v for v in field.validators if not isinstance(v, validators.MaxLengthValidator)
            ]
            field.widget.attrs.pop("maxlength", None)

    def _clean_identifier(self, name):
        try:
            return Study.IDENTIFIER_FIELDS[name](self.cleaned_data.get(name))
        except ValidationError as error:
            raise ValidationError(error.messages) from error

    def clean_doi(self):
        return self._clean_identifier("doi")

    def clean_pmid(self):
        return self._clean_identifier("pmid")

    def clean_pmcid(self):
        return self._clean_identifier("pmcid")

    def clean_registry_id(self):
        return self._clean_identifier("registry_id")

    def clean(self):
        cleaned = super().clean()
        candidate = Study(pk=self.instance.pk)
        for name in Study.IDENTIFIER_FIELDS:
            setattr(candidate, name, cleaned.get(name))
        candidate.title = cleaned.get("title") or ""
        candidate.year = cleaned.get("year")

        for name, existing in identifier_duplicates(candidate):
            self.add_error(
                name,
                format_html(
                    "The catalog holds this {} already: {}. Edit that study instead.",
                    IDENTIFIER_LABELS[name],
                    _admin_link(existing),
                ),
            )

        if not cleaned.get("save_anyway"):
            similar = title_duplicates(candidate)
            if similar:
                self.add_error(
                    None,
                    format_html(
                        "A study with a near-identical title and the same year exists: {}. "
                        "If this is a different study, tick “Save anyway” and save again.",
                        format_html_join(", ", "{}", ((_admin_link(s),) for s in similar)),
                    ),
                )
        return cleaned


class BibtexImportForm(forms.Form):
    """The import page's form: any format the importer reads, by upload or paste."""

    file = forms.FileField(label="File", required=False)
    text = forms.CharField(
        label="or paste the text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "false"}),
    )

    format = forms.ChoiceField(
        label="Format",
        choices=[("", "Recognise it from the content"), *LABELS.items()],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The server refuses a form whose fields (not its files) weigh more than this, with
        # a page that says to upload the text as a file (ldn_catalog/errors.py). No
        # maxlength: a browser cuts a paste at it without a word, and counts characters,
        # not bytes. The page's script (static/studies/import-form.js) checks the limit
        # before sending, keeping the text in the box.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None:
            self.fields["text"].widget.attrs["data-max-bytes"] = limit
            self.fields["text"].help_text = (
                f"Up to {filesizeformat(limit)} of text; upload a file for anything larger "
                f"(files up to {filesizeformat(settings.BIBTEX_UPLOAD_MAX_BYTES)})."
            )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > settings.BIBTEX_UPLOAD_MAX_BYTES:
            raise ValidationError(
                "The file is %(size)s; the largest file the catalog imports is %(limit)s. "
                "Split it into smaller files.",
                params={
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.BIBTEX_UPLOAD_MAX_BYTES),
                },
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), cleaned.get("text", "")
        if self.errors:
            return cleaned
        if upload and text.strip():
            raise ValidationError("Upload a file or paste text, not both.")
        if upload:
            try:
                cleaned["bibtex"] = decode_upload(upload.read())
            except UnreadableFile as error:
                self.add_error("file", str(error))
                return cleaned
            cleaned["file_name"] = upload.name
        elif text.strip():
            cleaned["bibtex"] = text
            cleaned["file_name"] = "pasted text"
        else:
            raise ValidationError("Choose a file or paste text.")
        if not cleaned.get("format"):
            cleaned["format"] = detect_format(cleaned["bibtex"], cleaned["file_name"])
            if cleaned["format"] is None:
                raise ValidationError(
                    "The file is empty, or in no format the catalog reads: "
                    + ", ".join(LABELS.values())
                    + "."
                )
        field = "file" if upload else "text"
        try:
            check_entry_count(cleaned["bibtex"], cleaned["format"], field)
        except UnreadableFile as error:
            self.add_error(field, str(error))
            return cleaned
        if not upload:
            name = LABELS[cleaned["format"]].split(" (")[0]
            cleaned["file_name"] = (
                f"pasted {name[:1].lower() if name.startswith('The') else name[:1]}{name[1:]}"
            )
        return cleaned
