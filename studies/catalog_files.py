"""Reading back the catalog's own JSON and CSV exports (studies/exports.py).

A study the catalog wrote comes back with the same field values, so that a re-import of
any export is duplicates only, field for field. Outcomes, effect summaries, provenance
quotes and claims are not read: they are curated against the source documents, not
imported.
"""

import csv
import io

from .bibtex import ParsedEntry
from .exports import CSV_COLUMNS, FORMULA_PREFIXES
from .jsontext import WrongShape, describe, file_error, load_records, text_of
from .models import Study

# Study fields beyond BibTeX's, read as they are named in the exports.
CATALOG_FIELDS = (
    "design",
    "status",
    "sample_size",
    "population",
    "dose",
    "dose_min_mg",
    "dose_max_mg",
    "duration",
    "comparator",
    "adverse_events",
    "summary",
    "design_basis",
    "design_quote",
    "descriptive_title",
    *Study.REGISTRY_RECORD,
)


def _fields(values, authors, conditions):
    fields = {
        "title": text_of(values.get("title")),
        "author": [author for author in authors if author],
        "journal": text_of(values.get("journal")),
        "year": text_of(values.get("year")),
        "volume": text_of(values.get("volume")),
        "number": text_of(values.get("issue")),
        "pages": text_of(values.get("pages")),
        "doi": text_of(values.get("doi")),
        "pmid": text_of(values.get("pmid")),
        "pmcid": text_of(values.get("pmcid")),
        "url": text_of(values.get("url")),
        "keywords": list(conditions),
    }
    if values.get("registry_id"):
        fields["note"] = f"Trial registration: {text_of(values['registry_id'])}"
    for name in CATALOG_FIELDS:
        fields[name] = text_of(values.get(name))
    return {name: value for name, value in fields.items() if value}


def _entry(key, line, fields):
    parsed = ParsedEntry(key, line, "study")
    parsed.add_fields(fields)
    return parsed


def parse_json(text):
    """Every study object of the catalog's JSON export as a ParsedEntry."""
    try:
        records = load_records(text)
    except ValueError as error:
        return file_error(*error.args)
    entries = []
    for number, (line, item) in enumerate(records, start=1):
        key = f"study {number}"
        if not isinstance(item, dict) or "title" not in item:
            message = f"not a study of the catalog's JSON export: {describe(item)}"
            entries.append(ParsedEntry(key, line, errors=[message]))
            continue
        authors, conditions = item.get("authors") or [], item.get("conditions") or []
        if not isinstance(authors, list) or not isinstance(conditions, list):
            entries.append(
                ParsedEntry(key, line, errors=["“authors” and “conditions” must be lists"])
            )
            continue
        try:
            fields = _fields(item, map(text_of, authors), map(text_of, conditions))
            key = text_of(item.get("slug")) or key
        except WrongShape as error:
            entries.append(ParsedEntry(key, line, errors=[f"a value is {error}"]))
            continue
        entries.append(_entry(key, line, fields))
    return entries


def _unprotected(value):
    """The value before exports.spreadsheet_safe put a quote in front of it."""
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def _split(value):
    return [part.strip() for part in value.split("; ") if part.strip()]


def _csv_lines(text):
    """The text's lines as CSV has them: ended by \\n, \\r or \\r\\n only (str.splitlines
    would also end one at U+2028, U+0085 and the like, which the writer leaves unquoted)."""
    return io.StringIO(text.lstrip("\ufeff"), newline="")


def count_csv_rows(text):
    """How many rows below its header a CSV text holds (a damaged one: those before the
    damage, which parse_csv reports)."""
    rows = 0
    try:
        for row in csv.reader(_csv_lines(text)):
            rows += any(row)
    except csv.Error:
        pass
    return max(rows - 1, 0)


def parse_csv(text):
    """Every row of the catalog's CSV export as a ParsedEntry (line = the row's first line)."""
    reader = csv.reader(_csv_lines(text), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        return file_error(f"not CSV: {error}")
    if not header or "title" not in header:
        return file_error(
            "not the catalog's CSV: the first line must name the columns, "
            f"among them “title” ({', '.join(CSV_COLUMNS[:4])}, …)"
        )
    entries, line = [], reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            entries.append(
                ParsedEntry(f"row {len(entries) + 1}", line, errors=[f"not CSV: {error}"])
            )
            break
        key = f"row {len(entries) + 1}"
        if not any(row):
            line = reader.line_num + 1
            continue
        if len(row) != len(header):
            entries.append(
                ParsedEntry(
                    key,
                    line,
                    errors=[f"{len(row)} values where the header names {len(header)} columns"],
                )
            )
        else:
            values = {name: _unprotected(value) for name, value in zip(header, row, strict=True)}
            fields = _fields(
                values, _split(values.get("authors", "")), _split(values.get("conditions", ""))
            )
            entries.append(_entry(values.get("slug") or key, line, fields))
        line = reader.line_num + 1
    return entries
