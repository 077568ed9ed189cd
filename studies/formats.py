"""The file formats the importer reads, and telling them apart by their content.

Each format's module has a pure ``parse_entries(text)`` that gives the same records the
BibTeX parser gives (``bibtex.ParsedEntry``: a key, a line, BibTeX-named fields, and the
reasons an entry cannot be trusted), so every format goes through one preview, one
duplicate check, one per-entry report and one history path (studies/importers.py).
"""

import re
from pathlib import PurePath

from . import bibtex, catalog_files, csljson, ctgov, jsontext, limits, medline, ris

PARSERS = {
    "bibtex": bibtex.parse_entries,
    "ris": ris.parse_entries,
    "medline": medline.parse_entries,
    "csljson": csljson.parse_entries,
    "ctgov": ctgov.parse_entries,
    "json": catalog_files.parse_json,
    "csv": catalog_files.parse_csv,
}
LABELS = {
    "bibtex": "BibTeX",
    "ris": "RIS (Zotero, EndNote, Mendeley, PubMed citation manager)",
    "medline": "PubMed MEDLINE (.nbib, .txt)",
    "csljson": "CSL JSON (Zotero, citation.js)",
    "ctgov": "ClinicalTrials.gov study JSON (API v2)",
    "json": "The catalog's JSON export",
    "csv": "The catalog's CSV export",
}
# Each format's name within a sentence ("RIS", "the catalog's CSV export"), and all of them:
# "BibTeX, RIS, …, the catalog's JSON export or the catalog's CSV export". For messages.
NAMES = {name: label.split(" (")[0].replace("The ", "the ") for name, label in LABELS.items()}
_NAMES = list(NAMES.values())
NAMES_IN_A_SENTENCE = f"{', '.join(_NAMES[:-1])} or {_NAMES[-1]}"
EXTENSIONS = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".ris": "ris",
    ".nbib": "medline",
    ".medline": "medline",
    ".csv": "csv",
}

# The first line of each text format (after blank lines and a byte-order mark).
FIRST_LINES = [
    ("ris", re.compile(r"TY  -")),
    ("medline", re.compile(r"PMID- ")),
    ("bibtex", re.compile(r"[ \t]*(%|@[ \t]*[A-Za-z])")),
]
# Anywhere in the text, when the first line says nothing (a header, a comment).
ANYWHERE = [
    ("ris", re.compile(r"^TY  - ", re.MULTILINE)),
    ("medline", re.compile(r"^PMID- ", re.MULTILINE)),
    ("bibtex", bibtex.ENTRY_START),
]
CSV_HEADER = re.compile(r'^"?slug"?,"?title"?,')
# Within the first part of a JSON text: the keys that tell its kind. That part holds the
# whole of a first study of the catalog's export up to its evidence level, after its
# authors, whose JSON text may be as long as limits.AUTHORS_JSON_MAX.
CTGOV_KEYS = re.compile(r'"(protocolSection|identificationModule|nctId)"\s*:')
CATALOG_KEYS = re.compile(r'"(evidence_level|evidence_level_label)"\s*:')
JSON_PEEK = limits.AUTHORS_JSON_MAX + 100_000
PEEK = 20000


def detect_format(text, file_name=""):
    """The format of ``text`` from its content (the file's extension only breaks a tie),
    or None when it is none the catalog reads."""
    start = text.lstrip("\ufeff \t\r\n")
    if not start:
        return None
    if start[0] in "[{":
        head = start[:JSON_PEEK]
        if CTGOV_KEYS.search(head):
            return "ctgov"
        if CATALOG_KEYS.search(head):
            return "json"
        return "csljson"
    first_line = start.split("\n", 1)[0]
    if CSV_HEADER.match(first_line):
        return "csv"
    for name, pattern in FIRST_LINES:
        if pattern.match(first_line):
            return name
    by_extension = EXTENSIONS.get(PurePath(file_name).suffix.lower())
    if by_extension:
        return by_extension
    found = [(m.start(), name) for name, p in ANYWHERE if (m := p.search(text[: PEEK * 5]))]
    return min(found)[1] if found else None


def parse_entries(text, format="bibtex"):
    return PARSERS[format](text)


# How many entries each parser would give, found without making them.
COUNTERS = {
    "bibtex": bibtex.count_entries,
    "ris": ris.count_entries,
    "medline": medline.count_entries,
    "csljson": jsontext.count_records,
    "ctgov": jsontext.count_records,
    "json": jsontext.count_records,
    "csv": catalog_files.count_csv_rows,
}


def count_entries(text, format):
    return COUNTERS[format](text)
