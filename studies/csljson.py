"""Reading CSL JSON (Zotero's and citation.js's interchange format): a list of items."""

import re

from .bibtex import ParsedEntry
from .jsontext import (
    JSON_SHAPES,
    WrongShape,
    describe,
    file_error,
    list_of,
    load_records,
    text_of,
)

YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
PMID_IN_NOTE = re.compile(r"^PMID:\s*(\d+)\s*$", re.MULTILINE | re.IGNORECASE)
# With or without “PMC”, any case: normalize_pmcid gives the catalog's form.
PMCID_IN_NOTE = re.compile(r"^PMCID:\s*((?:PMC)?\d+)\s*$", re.MULTILINE | re.IGNORECASE)


def _name(person):
    if not isinstance(person, dict):
        return text_of(person)
    if person.get("literal"):
        return text_of(person["literal"])
    family, given = text_of(person.get("family")), text_of(person.get("given"))
    # “van der” Berg and Ludwig “van” Beethoven: CSL keeps a particle apart from the name.
    if person.get("non-dropping-particle"):
        family = f"{text_of(person['non-dropping-particle'])} {family}".strip()
    if person.get("dropping-particle"):
        given = f"{given} {text_of(person['dropping-particle'])}".strip()
    if not family:
        return given
    # A suffix where BibTeX's “von Last, Jr, First” puts it: “King, Jr., Martin L.”.
    return ", ".join(part for part in (family, text_of(person.get("suffix")), given) if part)


def _year(issued):
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            return text_of(parts[0][0])
        issued = issued.get("raw") or issued.get("literal")
    # A date kept as text (“2019-03-01”, “Spring 2019”, “01/03/2019”): its year; else the
    # text, which the importer reports as no year.
    text = text_of(issued)
    year = YEAR.search(text)
    return year.group(0) if year else text


def _identifier(item, name):
    """A variable CSL names in capitals (“DOI”), or in lower case, as pandoc, which reads
    either, lets files give it."""
    return item.get(name) or item.get(name.lower())


def _fields(item):
    note = text_of(item.get("note"))
    pmid = _identifier(item, "PMID") or (m.group(1) if (m := PMID_IN_NOTE.search(note)) else "")
    pmcid = _identifier(item, "PMCID") or (m.group(1) if (m := PMCID_IN_NOTE.search(note)) else "")
    fields = {
        "title": text_of(item.get("title")),
        "author": [name for p in list_of(item.get("author")) if (name := _name(p))],
        "journal": text_of(item.get("container-title")),
        "year": _year(item.get("issued")),
        "volume": text_of(item.get("volume")),
        "number": text_of(item.get("issue")),
        "pages": text_of(item.get("page")),
        "doi": text_of(_identifier(item, "DOI")),
        "pmid": text_of(pmid),
        "pmcid": text_of(pmcid),
        "url": text_of(_identifier(item, "URL")),
        "note": note,
        "keywords": text_of(item.get("keyword")),
    }
    return {name: value for name, value in fields.items() if value}


def parse_entries(text):
    """Every item of a CSL JSON text as a ParsedEntry, in file order."""
    try:
        records = load_records(text)
    except ValueError as error:
        return file_error(*error.args)
    if len(records) == 1 and isinstance(records[0][1], dict) and "title" not in records[0][1]:
        return file_error(
            f"not a JSON file the catalog reads ({JSON_SHAPES}): this file holds "
            f"{describe(records[0][1])}"
        )
    entries = []
    for number, (line, item) in enumerate(records, start=1):
        if not isinstance(item, dict):
            entries.append(
                ParsedEntry(
                    f"item {number}", line, errors=[f"not a CSL JSON item: {describe(item)}"]
                )
            )
            continue
        try:
            parsed = ParsedEntry(text_of(item.get("id")) or f"item {number}", line)
            parsed.entry_type = text_of(item.get("type"))
            fields = _fields(item)
        except WrongShape as error:
            entries.append(ParsedEntry(f"item {number}", line, errors=[f"a value is {error}"]))
            continue
        parsed.add_fields(fields)
        entries.append(parsed)
    return entries
