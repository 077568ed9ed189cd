"""Importing parsed records into the catalog: one code path for the admin, its background
jobs and `manage.py import_bibtex`.

The importer takes parsed records (``bibtex.ParsedEntry``: key, line, a dict of fields,
errors), whatever format they were read from. ``preview_records`` says what would happen to
each, writing nothing. ``import_records`` does the same and then, in one transaction,
creates the new studies, their conditions and their history records naming the file. Every
entry ends up in exactly one of three piles: new, duplicate (of a study in the catalog or of
an earlier entry in the same file) or error, so the counts always add up to the number of
entries.
"""

import codecs
import re
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import DEFERRED, F
from django.template.defaultfilters import pluralize

from . import bibtex, bulk_writes, formats, records
from .caching import REVISION_PK, bump_catalog_revision
from .duplicates import IDENTIFIER_LABELS, TitleIndex
from .identifiers import normalize_registry_id
from .models import YEAR_MAX, YEAR_MIN, CatalogRevision, Condition, Study
from .vocabulary import Design

NEW, DUPLICATE, ERROR = "new", "duplicate", "error"

# Model fields with a length limit, and the BibTeX field each is read from.
LIMITED_FIELDS = {"journal": "journal", "volume": "volume", "issue": "number", "pages": "pages"}
LIMITS = {f.name: f.max_length for f in Study._meta.concrete_fields if f.name in LIMITED_FIELDS}
FOUR_DIGITS = re.compile(r"\d{4}")
MAX_TITLE_LENGTH = 1000
MAX_AUTHOR_LENGTH = 300
AUTHOR_SEPARATOR = re.compile(r"\s+and\s+")
KEYWORD_SEPARATOR = re.compile(r"\s*[,;]\s*")
# Within one keyword line of a format that gives one keyword a line (RIS's KW, a trial's
# conditions, MEDLINE's OT): some tools and curators put several there, by semicolons.
LINE_KEYWORD_SEPARATOR = re.compile(r"\s*;\s*")
# MEDLINE's fields whose terms suggest conditions, one term a line (medline.py); a term
# that names none is no news: most (“Humans”, “Naltrexone”) name none.
SUGGESTING_FIELDS = {"mesh": "the MeSH heading", "author_keywords": "the author keyword"}
# A typographic apostrophe (“Crohn’s disease” is the catalog's name, “Crohn's disease” a
# file's) and the Unicode hyphen (NFKC makes a non-breaking hyphen one), as typed.
TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2010": "-"})
# “Trial registration: NCT01234567”, or a list of ids after one label (“…: NCT…, ISRCTN…”).
TRIAL_REGISTRATION = re.compile(r"Trial registrations?:\s*([^;\n]*)", re.IGNORECASE)
LISTED = re.compile(r"\s*,\s*|\s+and\s+")
PROGRESS_EVERY = 1000
# PostgreSQL's advisory lock that imports writing at once take in turn (any fixed number).
IMPORT_LOCK = 7_201_502


# The fields an import sets: the model's own validators run on these.
IMPORTED_FIELDS = {
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "registry_id",
    "url",
    "design",
}
URL_FIELD = Study._meta.get_field("url")
# The URL's validators run where it is read (with the importer's own messages): URLValidator
# is the slowest of them all, and an entry's URL is checked once.
VALIDATED_FIELDS = [
    f for f in Study._meta.concrete_fields if f.name in IMPORTED_FIELDS and f is not URL_FIELD
]


class UnreadableFile(Exception):
    """The file cannot be imported at all: binary, not UTF-8, or too many entries."""


class ImportCancelled(Exception):
    """A curator cancelled the import; nothing of it was written."""


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
    # The newest study when the catalog was indexed, and the slugs taken then.
    latest_pk: int = 0
    slugs: set = field(default_factory=set)
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

    def summary(self, written):
        """“5 entries: 2 created, 1 duplicate, 2 errors”; “would be created” when nothing
        was written."""
        verb = "created" if written else "would be created"
        rows, duplicates, errors = len(self.rows), len(self.duplicates), len(self.errors)
        return (
            f"{rows} entr{pluralize(rows, 'y,ies')}: {len(self.new)} {verb}, "
            f"{duplicates} duplicate{pluralize(duplicates)}, {errors} error{pluralize(errors)}"
        )


def decode_upload(data):
    """The text of an uploaded file, or UnreadableFile saying why it cannot be read."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Windows' “Unicode”
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: binary
    if b"\x00" in data[:65536]:
        raise UnreadableFile(
            f"This is a binary file, not text. The catalog imports {formats.NAMES_IN_A_SENTENCE}."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"The file is not UTF-8 text (undecodable byte at position {error.start}). "
            "Save it as UTF-8 and upload it again."
        ) from error
    return text


def check_entry_count(text, format, what="file"):
    """UnreadableFile if ``text`` holds more entries in ``format`` than the catalog imports
    from one file (settings.BIBTEX_MAX_ENTRIES, whatever the format): found before any entry
    is parsed, as a preview's memory grows with the entries."""
    count, limit = formats.count_entries(text, format), settings.BIBTEX_MAX_ENTRIES
    if count > limit:
        raise UnreadableFile(
            f"The {what} holds {count:,} entries; the catalog imports at most {limit:,} from "
            "one file. Split it into smaller files."
        )


def _index_catalog(studies=None):
    """Lookup tables over the catalog's studies: identifiers, title + year, slugs."""
    index = {name: {} for name in IDENTIFIER_LABELS}
    index["title"] = TitleIndex()
    slugs = set()
    columns = ["pk", "slug", "title", "year", *IDENTIFIER_LABELS]
    studies = Study.objects.all() if studies is None else studies
    for study in studies.only(*columns).order_by("pk").iterator(chunk_size=2000):
        for name in IDENTIFIER_LABELS:
            value = getattr(study, name)
            if value:
                index[name][value] = study
        index["title"].add(study.title, study.year, study)
        slugs.add(study.slug)
    return index, slugs


@dataclass
class Lookups:
    """What reading a file's entries looks up: the catalog's conditions by name, slug and
    synonym, and what the model's validators said of each value met already (most values
    recur: a year, a journal, a volume; validating each value once is a sixth of the
    reading of a 10,000-entry file)."""

    conditions: dict  # {condition_key(name, slug or synonym): pk}
    verdicts: dict = field(default_factory=lambda: {f.attname: {} for f in VALIDATED_FIELDS})
    # The most parts a keyword list's separators cut a condition's name into.
    most_name_parts: int = field(init=False)

    def __post_init__(self):
        cuts = (len(KEYWORD_SEPARATOR.findall(name)) for name in self.conditions)
        self.most_name_parts = 1 + max(cuts, default=0)

    def condition(self, keyword):
        """The pk of the condition ``keyword`` names, or None."""
        return self.conditions.get(condition_key(keyword))


def condition_key(text):
    """A condition's name, slug or synonym, or a keyword, as the importer matches them: in
    any case, with any run of spaces (a non-breaking one, a tab, a line break) for one, a
    full stop after it or not, a typographic apostrophe or a straight one. Nothing more: a
    keyword that holds a name within a longer phrase names no condition."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(TYPOGRAPHY)
    return " ".join(text.split()).rstrip(". ").casefold()


def _index_conditions():
    conditions = {}
    for condition in Condition.objects.only("pk", "name", "slug", "synonyms"):
        for synonym in condition.synonyms if isinstance(condition.synonyms, list) else []:
            conditions.setdefault(condition_key(str(synonym)), condition.pk)
        conditions[condition_key(condition.name)] = condition.pk
        conditions[condition_key(condition.slug)] = condition.pk
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


def _study_from_entry(row, lookups):
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

    authors = fields.get("author")
    if authors:
        study.authors = AUTHOR_SEPARATOR.split(authors) if isinstance(authors, str) else authors
        if max(map(len, study.authors)) > MAX_AUTHOR_LENGTH:
            row.reasons.append(f"an author name is longer than {MAX_AUTHOR_LENGTH} characters")

    year = fields.get("year", "")
    if year:
        if FOUR_DIGITS.fullmatch(year) and YEAR_MIN <= int(year) <= YEAR_MAX:
            study.year = int(year)
        else:
            row.reasons.append(
                f"the year “{year[:40]}” is not a year between {YEAR_MIN} and {YEAR_MAX}"
            )

    for model_field, bib_field in LIMITED_FIELDS.items():
        value = fields.get(bib_field, "")
        if len(value) > (limit := LIMITS[model_field]):
            row.reasons.append(f"the {bib_field} is longer than {limit} characters")
        setattr(study, model_field, value)

    registrations = _registrations(fields.get("note", ""))
    raw_identifiers = {
        "doi": fields.get("doi"),
        "pmid": fields.get("pmid"),
        "pmcid": fields.get("pmcid"),
        "registry_id": registrations[0] if registrations else None,
    }
    # A study holds one registry id: a trial registered twice (ClinicalTrials.gov and
    # ISRCTN, say) keeps its first, and the curator is told of the others.
    others = {
        r.casefold(): r for r in registrations[1:] if r.casefold() != registrations[0].casefold()
    }
    for other in others.values():
        row.warnings.append(
            f"the trial registration {other[:40]} is not kept: a study holds one registry id, "
            f"{registrations[0][:40]}"
        )
    for name, value in raw_identifiers.items():
        try:
            setattr(study, name, Study.IDENTIFIER_FIELDS[name](value))
        except ValidationError as error:
            row.reasons.extend(error.messages)

    url = fields.get("url", "")
    if url:
        try:
            URL_FIELD.run_validators(url)  # URLValidator and the length; _validate skips them
        except ValidationError:
            if len(url) > URL_FIELD.max_length:
                row.reasons.append(f"the url is longer than {URL_FIELD.max_length} characters")
            else:
                row.reasons.append(f"the url “{url[:100]}” is not a web address")
        else:
            study.url = url

    design = fields.get("design", "")
    if design:
        if design in Design:
            study.design = design
        else:
            row.reasons.append(f"the design “{design[:40]}” is not one of the catalog's designs")

    if not row.reasons:
        _validate(study, row, lookups.verdicts)

    for keyword, pk in _conditions_named(fields.get("keywords", ""), lookups):
        if not pk:
            row.warnings.append(f"keyword “{keyword[:80]}” is not a condition in the catalog")
        elif pk not in row.condition_ids:
            row.condition_ids.append(pk)
    for name, what in SUGGESTING_FIELDS.items():
        for term, pk in _conditions_named(fields.get(name, []), lookups):
            if pk and pk not in row.condition_ids:
                row.condition_ids.append(pk)
                row.warnings.append(f"condition suggested by {what} “{term[:80]}”")
    records.read_fields(row, study)
    return study


def _registrations(note):
    """The registry ids ``note`` gives after “Trial registration:”, in order: the word after
    each label, and each further id listed after it (a word there that is no registry id,
    “registered 12 May 2013”, is the sentence's)."""
    found = []
    for match in TRIAL_REGISTRATION.finditer(note):
        words = [part.split()[0].rstrip(".,;") for part in LISTED.split(match[1]) if part.strip()]
        found.extend(words[:1])
        for word in words[1:]:
            try:
                if normalize_registry_id(word):
                    found.append(word)
            except ValidationError:
                continue
    return found


def _conditions_named(keywords, lookups):
    """(keyword, the condition it names or None) for each keyword of ``keywords``: a text
    of keywords separated by commas or semicolons (BibTeX's field, CSL's), or a list of
    keyword lines (RIS's, a trial's conditions), where only a semicolon separates two."""
    if isinstance(keywords, str):
        yield from _conditions_in_list(keywords, lookups)
        return
    for line in keywords:
        for keyword in LINE_KEYWORD_SEPARATOR.split(line):
            if not condition_key(keyword):
                continue
            # A comma in a line is the keyword's own (“Pain, Intractable”), unless the line
            # is condition names and nothing else: “Fibromyalgia, Chronic pain”.
            named = list(_conditions_in_list(keyword, lookups))
            if all(pk for _, pk in named):
                yield from named
            else:
                yield keyword.strip(), None


def _conditions_in_list(keywords, lookups):
    """(keyword, the condition it names or None) for each keyword of a list separated by
    commas or semicolons; a run of parts that names a condition is one keyword, so that a
    name holding a comma (“Arthritis, Rheumatoid”, as MeSH writes names) stays whole."""
    parts = [part for part in KEYWORD_SEPARATOR.split(keywords) if condition_key(part)]
    start = 0
    while start < len(parts):
        for end in range(min(len(parts), start + lookups.most_name_parts), start, -1):
            keyword = ", ".join(parts[start:end])
            pk = lookups.condition(keyword)
            if pk or end == start + 1:
                yield keyword, pk
                start = end
                break


def _validate(study, row, verdicts):
    """The model's own validators (lengths, URL, year range, author names) of each field
    read, as ``clean_fields`` runs them, and with its messages. The rest of what
    ``clean_fields`` checks (a blank title, the design's choices, the values' types) the
    reading above has checked already, with messages of its own: running it again
    tripled the cost of checking an entry. ``verdicts`` keeps the messages of each
    field's values met already."""
    for model_field in VALIDATED_FIELDS:
        value = getattr(study, model_field.attname)
        if isinstance(value, list):  # authors: unhashable, and seldom the same
            messages = _validator_messages(model_field, value)
        else:
            known = verdicts[model_field.attname]
            messages = known.get(value)
            if messages is None:
                messages = known[value] = _validator_messages(model_field, value)
        if messages:
            row.reasons.extend(messages)


def _validator_messages(model_field, value):
    try:  # (an empty value it skips)
        model_field.run_validators(value)
    except ValidationError as error:
        return tuple(f"the {model_field.verbose_name}: {message}" for message in error.messages)
    return ()


# A registered trial is itself by its registry id, looked up first: a PMID it gives (a
# ClinicalTrials.gov record's results paper) may be a study of its own in the catalog.
TRIAL_IDENTIFIERS = sorted(IDENTIFIER_LABELS, key=lambda name: name != "registry_id")


def _find_duplicate(row, index, add=False):
    """What the row's study matches in ``index`` (by identifier, then title and year);
    with ``add``, its title is added to the index when nothing matches."""
    study = row.study
    names = TRIAL_IDENTIFIERS if study.design == Design.REGISTERED_TRIAL else IDENTIFIER_LABELS
    for name in names:
        value = getattr(study, name)
        if value and value in index[name]:
            return f"{IDENTIFIER_LABELS[name]} {value}", index[name][value]
    titles = index["title"]
    if add:
        match = titles.find_or_add(study.title, study.year, row)
    else:
        match = titles.find(study.title, study.year)
    if match is not None:
        return "title and year", match
    return "", None


def _remember(row, index):
    """Index the identifiers of a new row (its title is, already: _find_duplicate)."""
    for name in IDENTIFIER_LABELS:
        value = getattr(row.study, name)
        if value:
            index[name].setdefault(value, row)


def preview_records(
    entries, file_name="", total=None, progress=None, cancelled=None, format="bibtex"
):
    """What importing ``entries`` (parsed records, in file order, read from ``format``)
    would do. Writes nothing.

    ``progress(done, total)`` is called every PROGRESS_EVERY entries; ``cancelled()``, if
    given, is asked as often, and ImportCancelled raised when it says so.
    """
    # Read before the index: a study added while the index is read is rechecked at the import.
    latest = Study.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    index, slugs = _index_catalog()
    lookups = Lookups(_index_conditions())
    rows = []
    for number, entry in enumerate(entries, start=1):
        row = Row(entry)
        rows.append(row)
        if number % PROGRESS_EVERY == 0:
            _checkpoint(number, total, progress, cancelled)
        row.reasons.extend(entry.errors)
        if entry.ok:
            row.study = _study_from_entry(row, lookups)
        if row.reasons:
            row.status = ERROR
        else:
            _place(row, index, slugs)
        if row.existing is None:  # read: only the key and line are reported
            entry.fields = {}  # (a catalog study's duplicate is compared field by field)
    _checkpoint(len(rows), len(rows), progress if len(rows) >= PROGRESS_EVERY else None, cancelled)
    report = ImportReport(
        file_name=file_name, rows=rows, latest_pk=latest, slugs=slugs, format=format
    )
    records.compare_duplicates(report)
    return report


def _checkpoint(done, total, progress, cancelled):
    if progress:
        progress(done, total)
    if cancelled and cancelled():
        raise ImportCancelled


def _place(row, index, slugs):
    """Mark a row duplicate of what it matches in ``index``, or give its study a free slug
    and add it to ``index``."""
    row.matched_by, match = _find_duplicate(row, index, add=True)
    if match is None:
        row.study.slug = row.study.unique_slug(slugs)
        _remember(row, index)
    else:
        row.status = DUPLICATE
        if isinstance(match, Row):
            row.earlier = match
        else:
            row.existing = match


def _wait_for_other_imports():
    """Inside the writing transaction, before the recheck: wait until an import writing
    meanwhile has committed, so that this one checks its entries against what it wrote.

    PostgreSQL: a lock only imports take (an advisory lock, held to the end of the
    transaction), so other writers neither wait for it nor deadlock with it. SQLite: the
    database's write lock, taken before the first read by a write that changes nothing."""
    connection = connections[router.db_for_write(Study)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
    else:
        CatalogRevision.objects.filter(pk=REVISION_PK).update(number=F("number"))


def _recheck(report):
    """Inside the writing transaction: the studies added since the preview indexed the
    catalog (by another curator, meanwhile) make their duplicates duplicates."""
    added = Study.objects.filter(pk__gt=report.latest_pk)
    if not added.exists():
        return
    index, slugs = _index_catalog(added)
    for row in report.new:
        row.matched_by, match = _find_duplicate(row, index)
        if match is not None:
            row.status, row.existing = DUPLICATE, match
        elif row.study.slug in slugs:
            report.slugs |= slugs
            row.study.slug = row.study.unique_slug(report.slugs)


def read_entries(text, format="bibtex"):
    """The parsed entries of ``text`` and how many there are. BibTeX is read lazily, with
    bounded memory; the other formats' parsers give a list."""
    if format == "bibtex":
        blocks = bibtex.block_starts(text)  # one scan for both
        total = len(bibtex.entry_starts(text, blocks))
        if not total and text.strip():
            message = "no BibTeX entry (a line starting “@article{”, “@misc{”, …) in this text"
            entries = [bibtex.ParsedEntry("(the whole file)", 1, errors=[message])]
            return _told_the_format_it_looks_like(entries, text, format), 1
        return bibtex.iter_entries(text, blocks), total
    entries = formats.parse_entries(text, format)
    return _told_the_format_it_looks_like(entries, text, format), len(entries)


def _told_the_format_it_looks_like(entries, text, format):
    """``entries``, the first naming the format the text looks like when every one is an
    error and the text looks like another: a file read in the wrong format (RIS pasted as
    MEDLINE, say) would otherwise be an error on each of its records, with no word of why."""
    if entries and all(entry.errors for entry in entries):
        other = formats.detect_format(text)
        if other and other != format:
            hint = f": it looks like {formats.NAMES[other]}; import it in that format"
            entries[0].errors[0] += hint
    return entries


def import_records(
    entries,
    file_name="",
    user=None,
    dry_run=False,
    total=None,
    progress=None,
    cancelled=None,
    format="bibtex",
    skip_errors=True,
    updates=(),
):
    """Check ``entries`` and create the new studies in one transaction; return the report.

    The records are checked before the transaction (a long read, with progress); inside it
    the studies added meanwhile are checked again, so that what is created matches the
    catalog as it is at that moment, not as it was when the check began. A cancellation
    or an error at any point rolls everything back. See create_new for ``skip_errors``
    and ``updates``.
    """
    report = preview_records(entries, file_name, total, progress, cancelled, format=format)
    if not dry_run:
        create_new(report, user, cancelled, skip_errors=skip_errors, updates=updates)
    return report


def create_new(report, user=None, cancelled=None, skip_errors=True, updates=()):
    """Create the new studies of a checked report, in one transaction, and apply the
    registry updates the curator accepted.

    With ``skip_errors=False`` a report with any entry in error writes nothing.
    ``updates`` are the positions (in ``report.rows``) of the duplicates whose registry
    update the curator accepted, "all", or {position: the study's version at the preview}:
    then a study changed since is refused (EditConflict) and nothing is written.
    """
    if report.errors and not skip_errors:
        return report
    reason = f"Imported from {report.file_name or 'pasted ' + formats.LABELS[report.format]}"
    reason = reason[:100]
    with transaction.atomic():
        _wait_for_other_imports()
        _recheck(report)
        report.updated = records.apply_updates(report, updates, user, reason)
        report.created = bulk_writes.create_with_history(
            report.new, user, reason, between_batches=lambda: _checkpoint(0, 0, None, cancelled)
        )
        _checkpoint(0, 0, None, cancelled)
        if report.created:  # the bulk inserts send no signals: a new catalog revision
            bump_catalog_revision()
    return report


def import_bibtex(
    text,
    file_name="",
    user=None,
    dry_run=False,
    progress=None,
    cancelled=None,
    format="bibtex",
    skip_errors=True,
    updates=(),
):
    """Import the entries of a text in ``format``, BibTeX by default (see import_records)."""
    entries, total = read_entries(text, format)
    return import_records(
        entries,
        file_name,
        user=user,
        dry_run=dry_run,
        total=total,
        progress=progress,
        cancelled=cancelled,
        format=format,
        skip_errors=skip_errors,
        updates=updates,
    )
