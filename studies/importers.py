"""Importing BibTeX into the catalog: one code path for the admin and `manage.py import_bibtex`.

``preview_bibtex`` reads a file and says what would happen to each entry, writing nothing.
``import_bibtex`` does the same inside one transaction and then creates the new studies,
each with a history record naming the file. Every entry the file holds ends up in exactly
one of three piles: new, duplicate (of a study in the catalog or of an earlier entry in the
same file) or error, so the counts always add up to the number of entries.
"""

import re
from dataclasses import dataclass, field
from itertools import batched

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connections, router, transaction
from django.db.models import DEFERRED
from django.utils import timezone
from django.utils.text import slugify

from . import bibtex, formats, records
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
INSERT_BATCH = 500


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
    # For a duplicate of a catalog study: (field, catalog's value, file's value) where they
    # differ, and the newer registry status fields the curator may accept (records.py).
    differences: list = field(default_factory=list)
    update: dict = field(default_factory=dict)


@dataclass
class ImportReport:
    file_name: str
    rows: list
    created: list = field(default_factory=list)
    format: str = "bibtex"
    updated: list = field(default_factory=list)

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
    for condition in Condition.objects.only("pk", "name", "slug", "synonyms"):
        for synonym in condition.synonyms if isinstance(condition.synonyms, list) else []:
            conditions.setdefault(str(synonym).casefold(), condition.pk)
        conditions[condition.name.casefold()] = condition.pk
        conditions[condition.slug] = condition.pk
    return conditions


# Every field's default, in the order Study() takes positional values.
STUDY_DEFAULTS = [DEFERRED if f.generated else f.get_default() for f in Study._meta.concrete_fields]


def _new_study():
    """Study(design=Design.OTHER), by Model.__init__'s fast positional path.

    With keywords, __init__ looks up each of the 31 fields' defaults again for every study:
    a quarter of the work after parsing, for a 10,000-entry file.
    """
    study = Study(*STUDY_DEFAULTS)
    study.authors = []  # the one mutable default: each study its own list
    study.design = Design.OTHER
    return study


def _study_from_entry(row, conditions):
    """An unsaved Study from a parsed entry; problems go to row.reasons and row.warnings."""
    fields = row.entry.fields
    study = _new_study()

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
    records.read_fields(row, study, conditions)
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


def preview_bibtex(text, file_name="", progress=None, format="bibtex"):
    """What importing ``text`` (in ``format``: see formats.PARSERS) would do, entry by
    entry. Writes nothing."""
    entries = formats.parse_entries(text, format)
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
    report = ImportReport(file_name=file_name, rows=rows, format=format)
    records.compare_duplicates(report)
    return report


def _prepared_column(field, values, connection):
    """``field.get_db_prep_save`` of each value, each distinct (hashable) value prepared once."""
    try:
        distinct = set(values)
    except TypeError:  # unhashable values: JSON lists
        return [field.get_db_prep_save(value, connection) for value in values]
    prepared = {value: field.get_db_prep_save(value, connection) for value in distinct}
    return [prepared[value] for value in values]


def _insert(model, rows, using):
    """INSERT ``rows`` (dicts of attname to value) into ``model``'s table.

    bulk_create prepares every value of every row through its field and builds one SQL
    placeholder for each: for 10,000 studies and their 10,000 history rows that was over
    half the import. Here each column prepares each distinct value once (most columns of an
    imported study are empty) and the rows go to the database with executemany. Values go
    through the fields' own get_db_prep_save, so they are stored exactly as the ORM would.
    """
    connection = connections[using]
    fields = [
        f
        for f in model._meta.concrete_fields
        if f is not model._meta.auto_field and not f.generated
    ]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with connection.cursor() as cursor:
        for batch in batched(rows, INSERT_BATCH, strict=False):
            columns = [
                _prepared_column(f, [row[f.attname] for row in batch], connection) for f in fields
            ]
            cursor.executemany(sql, list(zip(*columns, strict=True)))


def _create_with_history(studies, user, reason):
    """Save new studies and their "+" history records; return the studies, with their pks.

    The same rows bulk_create and simple-history's bulk_create_with_history write, written
    with _insert and _copy_to_history; the primary keys are read back by slug, which the
    preview made unique.
    """
    using = router.db_for_write(Study)
    now = timezone.now()
    names = [
        f.attname
        for f in Study._meta.concrete_fields
        if f is not Study._meta.auto_field and not f.generated
    ]
    values = []
    for study in studies:
        study.created_at = study.updated_at = now
        values.append({name: getattr(study, name) for name in names})
    _insert(Study, values, using)

    pks = {}
    for batch in batched([study.slug for study in studies], INSERT_BATCH, strict=False):
        pks.update(Study.objects.using(using).filter(slug__in=batch).values_list("slug", "pk"))
        _copy_to_history(batch, now, user, reason, using)
    for study in studies:
        study.pk = pks[study.slug]
        study._state.adding, study._state.db = False, using
    return studies


def _copy_to_history(slugs, now, user, reason, using):
    """The "+" history records of the studies with these slugs, copied in the database.

    INSERT ... SELECT from the rows just written: no values go back through Python, and
    each record holds exactly what its study holds.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    history_model = Study.history.model
    study_columns = {f.attname: f.column for f in Study._meta.concrete_fields}
    extra = {
        "history_date": now,
        "history_change_reason": reason,
        "history_type": "+",
        "history_user_id": user.pk if user else None,
    }
    columns, selected, params = [], [], []
    for f in history_model._meta.concrete_fields:
        if f is history_model._meta.auto_field:
            continue
        columns.append(quote(f.column))
        if f.attname in extra:
            selected.append("%s")
            params.append(f.get_db_prep_save(extra[f.attname], connection))
        else:
            selected.append(quote(study_columns[f.attname]))
    sql = "INSERT INTO {} ({}) SELECT {} FROM {} WHERE {} IN ({})".format(
        quote(history_model._meta.db_table),
        ", ".join(columns),
        ", ".join(selected),
        quote(Study._meta.db_table),
        quote(Study._meta.get_field("slug").column),
        ", ".join(["%s"] * len(slugs)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *slugs])


def import_bibtex(
    text,
    file_name="",
    user=None,
    dry_run=False,
    progress=None,
    format="bibtex",
    skip_errors=True,
    updates=(),
):
    """Create the new studies of a text in one transaction; return the report.

    The preview is computed again inside the transaction, so what is created matches the
    catalog as it is at that moment, not as it was when a curator looked at a preview.
    With ``skip_errors=False`` a file with any entry in error writes nothing. ``updates``
    are the positions (in ``report.rows``) of the duplicates whose registry update the
    curator accepted.
    """
    with transaction.atomic():
        report = preview_bibtex(text, file_name, progress=progress, format=format)
        if dry_run or (report.errors and not skip_errors):
            return report
        reason = f"Imported from {file_name or 'pasted ' + formats.LABELS[format]}"[:100]
        report.updated = records.apply_updates(report, updates, user, reason)
        report.created = _create_with_history([row.study for row in report.new], user, reason)
        _link_conditions([row for row in report.new if row.condition_ids])
    return report


def _link_conditions(rows):
    """The new studies' conditions, and the same links in their "+" history records.

    What ``study.conditions.set()`` writes, in bulk: one set() a study cost a query for
    each link and a second history record (25 ms a study, most of a 10,000-record import
    whose records name conditions).
    """
    using = router.db_for_write(Study)
    through = Study.conditions.through
    links = [
        through(study_id=row.study.pk, condition_id=condition_id)
        for row in rows
        for condition_id in dict.fromkeys(row.condition_ids)
    ]
    through.objects.using(using).bulk_create(links, batch_size=INSERT_BATCH)
    if not links:
        return
    history_model = Study.history.model
    m2m_history = history_model.conditions.model
    records = {}
    for batch in batched([row.study.pk for row in rows], INSERT_BATCH, strict=False):
        records.update(
            history_model.objects.using(using)
            .filter(id__in=batch, history_type="+")
            .values_list("id", "history_id")
        )
    if any(link.pk is None for link in links):  # a database that returns no ids
        links = through.objects.using(using).filter(study_id__in=list(records))
    m2m_history.objects.using(using).bulk_create(
        [
            m2m_history(
                id=link.pk,
                study_id=link.study_id,
                condition_id=link.condition_id,
                history_id=records[link.study_id],
            )
            for link in links
        ],
        batch_size=INSERT_BATCH,
    )
