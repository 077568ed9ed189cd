"""Importing BibTeX into the catalog: one code path for the admin and `manage.py import_bibtex`.

``preview_bibtex`` reads a file and says what would happen to each entry, writing nothing.
``import_bibtex`` does the same inside one transaction and then creates the new studies,
each with a history record naming the file. Every entry the file holds ends up in exactly
one of three piles: new, duplicate (of a study in the catalog or of an earlier entry in the
same file) or error, so the counts always add up to the number of entries.
"""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from . import bibtex
from .duplicates import IDENTIFIER_LABELS, normalised_title
from .models import YEAR_MAX, YEAR_MIN, Condition, Study
from .vocabulary import Design

NEW, DUPLICATE, ERROR = "new", "duplicate", "error"

# Model fields with a length limit, and the BibTeX field each is read from.
LIMITED_FIELDS = {"journal": "journal", "volume": "volume", "issue": "number", "pages": "pages"}
MAX_TITLE_LENGTH = 1000
MAX_AUTHOR_LENGTH = 300
AUTHOR_SEPARATOR = re.compile(r"\s+and\s+")
KEYWORD_SEPARATOR = re.compile(r"\s*[,;]\s*")
TRIAL_REGISTRATION = re.compile(r"Trial registration:\s*(\S+)", re.IGNORECASE)
PROGRESS_EVERY = 1000


class UnreadableFile(Exception):
    """The file is not BibTeX text at all (binary, or not UTF-8)."""


@dataclass
class Row:
    """What happens to one entry of the file."""

    entry: bibtex.ParsedEntry
    status: str = NEW
    reasons: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    study: Study | None = None
    condition_ids: list = field(default_factory=list)
    # For a duplicate: what matched, and the catalog's study or the earlier row.
    matched_by: str = ""
    existing: Study | None = None
    earlier: "Row | None" = None


@dataclass
class ImportReport:
    file_name: str
    rows: list
    created: list = field(default_factory=list)

    def _with(self, status):
        return [row for row in self.rows if row.status == status]

    @property
    def new(self):
        return self._with(NEW)

    @property
    def duplicates(self):
        return self._with(DUPLICATE)

    @property
    def errors(self):
        return self._with(ERROR)


def decode_upload(data):
    """The text of an uploaded file, or UnreadableFile saying why it is not BibTeX."""
    if b"\x00" in data[:65536]:
        raise UnreadableFile("This is a binary file, not BibTeX text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"The file is not UTF-8 text (undecodable byte at position {error.start}). "
            "Save it as UTF-8 and upload it again."
        ) from error


def _index_catalog():
    """Lookup tables over the catalog's studies: identifiers, title + year, slugs."""
    index = {name: {} for name in IDENTIFIER_LABELS}
    index["title"] = {}
    slugs = set()
    columns = ["pk", "slug", "title", "year", *IDENTIFIER_LABELS]
    for study in Study.objects.only(*columns).order_by("pk"):
        for name in IDENTIFIER_LABELS:
            value = getattr(study, name)
            if value:
                index[name][value] = study
        index["title"].setdefault((normalised_title(study.title), study.year), study)
        slugs.add(study.slug)
    return index, slugs


def _index_conditions():
    conditions = {}
    for condition in Condition.objects.only("pk", "name", "slug"):
        conditions[condition.name.casefold()] = condition.pk
        conditions[condition.slug] = condition.pk
    return conditions


def _study_from_entry(row, conditions):
    """An unsaved Study from a parsed entry; problems go to row.reasons and row.warnings."""
    fields = row.entry.fields
    study = Study(design=Design.OTHER)

    study.title = fields.get("title", "")
    if not study.title:
        row.reasons.append("no title")
    elif len(study.title) > MAX_TITLE_LENGTH:
        row.reasons.append(
            f"the title is {len(study.title):,} characters long; the limit is {MAX_TITLE_LENGTH:,}"
        )

    if fields.get("author"):
        study.authors = AUTHOR_SEPARATOR.split(fields["author"])
        if any(len(name) > MAX_AUTHOR_LENGTH for name in study.authors):
            row.reasons.append(f"an author name is longer than {MAX_AUTHOR_LENGTH} characters")

    year = fields.get("year", "")
    if year:
        if re.fullmatch(r"\d{4}", year) and YEAR_MIN <= int(year) <= YEAR_MAX:
            study.year = int(year)
        else:
            row.reasons.append(
                f"the year “{year[:40]}” is not a year between {YEAR_MIN} and {YEAR_MAX}"
            )

    for model_field, bib_field in LIMITED_FIELDS.items():
        value = fields.get(bib_field, "")
        limit = Study._meta.get_field(model_field).max_length
        if len(value) > limit:
            row.reasons.append(f"the {bib_field} is longer than {limit} characters")
        setattr(study, model_field, value)

    registration = TRIAL_REGISTRATION.search(fields.get("note", ""))
    raw_identifiers = {
        "doi": fields.get("doi"),
        "pmid": fields.get("pmid"),
        "pmcid": fields.get("pmcid"),
        "registry_id": registration.group(1).rstrip(".,;") if registration else None,
    }
    for name, value in raw_identifiers.items():
        try:
            setattr(study, name, Study.IDENTIFIER_FIELDS[name](value))
        except ValidationError as error:
            row.reasons.extend(error.messages)

    url = fields.get("url", "")
    if url:
        try:
            URLValidator()(url)
        except ValidationError:
            row.reasons.append(f"the url “{url[:100]}” is not a web address")
        else:
            if len(url) > Study._meta.get_field("url").max_length:
                row.reasons.append("the url is longer than 500 characters")
            study.url = url

    design = fields.get("design", "")
    if design:
        if design in Design.values:
            study.design = design
        else:
            row.reasons.append(f"the design “{design[:40]}” is not one of the catalog's designs")

    for keyword in KEYWORD_SEPARATOR.split(fields.get("keywords", "")):
        if not keyword:
            continue
        pk = conditions.get(keyword.casefold()) or conditions.get(keyword)
        if pk:
            row.condition_ids.append(pk)
        else:
            row.warnings.append(f"keyword “{keyword[:80]}” is not a condition in the catalog")
    return study


def _unique_slug(study, taken):
    """Study.unique_slug's rule, checked against a set rather than one query per study."""
    base = slugify(study.title)[:80].strip("-") or "study"
    if study.year:
        base = f"{base}-{study.year}"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _find_duplicate(row, index):
    study = row.study
    for name, label in IDENTIFIER_LABELS.items():
        value = getattr(study, name)
        if value and value in index[name]:
            return f"{label} {value}", index[name][value]
    key = (normalised_title(study.title), study.year)
    if key in index["title"]:
        return "title and year", index["title"][key]
    return "", None


def _remember(row, index):
    for name in IDENTIFIER_LABELS:
        value = getattr(row.study, name)
        if value:
            index[name].setdefault(value, row)
    index["title"].setdefault((normalised_title(row.study.title), row.study.year), row)


def preview_bibtex(text, file_name="", progress=None):
    """What importing ``text`` would do, entry by entry. Writes nothing."""
    entries = bibtex.parse_entries(text)
    index, slugs = _index_catalog()
    conditions = _index_conditions()
    rows = []
    for number, entry in enumerate(entries, start=1):
        row = Row(entry)
        rows.append(row)
        if progress and number % PROGRESS_EVERY == 0:
            progress(number, len(entries))
        row.reasons.extend(entry.errors)
        if entry.ok:
            row.study = _study_from_entry(row, conditions)
        if row.reasons:
            row.status = ERROR
            continue
        row.matched_by, match = _find_duplicate(row, index)
        if match is None:
            row.study.slug = _unique_slug(row.study, slugs)
            _remember(row, index)
        else:
            row.status = DUPLICATE
            if isinstance(match, Row):
                row.earlier = match
            else:
                row.existing = match
    if progress and len(entries) >= PROGRESS_EVERY:
        progress(len(entries), len(entries))
    return ImportReport(file_name=file_name, rows=rows)


def import_bibtex(text, file_name="", user=None, dry_run=False, progress=None):
    """Create the new studies of a BibTeX text in one transaction; return the report.

    The preview is computed again inside the transaction, so what is created matches the
    catalog as it is at that moment, not as it was when a curator looked at a preview.
    """
    with transaction.atomic():
        report = preview_bibtex(text, file_name, progress=progress)
        if dry_run:
            return report
        reason = f"Imported from {file_name or 'pasted BibTeX'}"[:100]
        new = report.new
        report.created = bulk_create_with_history(
            [row.study for row in new],
            Study,
            batch_size=500,
            default_user=user,
            default_change_reason=reason,
        )
        for row, study in zip(new, report.created, strict=True):
            row.study = study
            if row.condition_ids:
                study._history_user = user
                study._change_reason = reason
                study.conditions.set(row.condition_ids)
    return report
