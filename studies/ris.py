"""Reading RIS (Zotero, EndNote, Mendeley, PubMed's "citation manager" export) with rispy.

The text is cut into records here, so that each record keeps its line number and a record
the file damaged (no ``ER  -`` line, no ``TY  -`` line) is reported rather than silently
dropped, as rispy alone would; rispy reads the tags of each record.
"""

import re

from django.core.exceptions import ValidationError
from rispy import RisParser
from rispy.config import TAG_KEY_MAPPING

from .bibtex import ParsedEntry
from .identifiers import normalize_doi

# A tag as rispy knows one, whatever follows the dash: the records cut here must end where
# rispy ends them (“ER  -x” is an end), or it finds two records in one.
TAG = re.compile(r"([A-Z][A-Z0-9])  -")
# Where each tool puts the journal's name, the full name first: JF, T2, then JO (the
# abbreviation beside JF or T2, as EndNote and publishers write it and Zotero reads it; the
# name itself alone, as the catalog's export writes it), JA.
JOURNAL_KEYS = ("alternate_title3", "secondary_title", "journal_name", "alternate_title2")
FIRST_YEAR = re.compile(r"\s*(\d{4})(?:\D|$)")
# A “;” between two links on one UR line (the RIS spec allows several); any other is the
# link's own (a DOI's, as older Wiley DOIs hold one, or a session's).
NEXT_LINK = re.compile(r";\s*(?=[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
PMID = re.compile(r"^(?:PMID:?\s*)?(\d{1,9})$", re.IGNORECASE)
PMID_LABEL = re.compile(r"^PMID", re.IGNORECASE)
# A database that gives PubMed's ids as accession numbers, named by DB or DP.
PUBMED = re.compile(r"pubmed|medline|\bnlm\b", re.IGNORECASE)
# “PMC3962576”, “PMCID: PMC3962576”, “PMCID: 3962576”, any case: normalize_pmcid gives the
# catalog's form.
PMCID = re.compile(r"\b(PMC\d{1,9})\b|\bPMCID:?\s*(\d{1,9})\b", re.IGNORECASE)
# A name's suffix, which RIS writes last (“King, Martin L., Jr.”).
SUFFIX = re.compile(r"(?:Jr|Sr)\.?|II|III|IV", re.IGNORECASE)
# The fields of one value that _fields reads, and their tags: of a tag given twice, rispy
# keeps the first value, so a second one is reported (_repeated_tags), not silently dropped.
ONE_VALUE_KEYS = {
    *("title", "primary_title", *JOURNAL_KEYS, "year", "publication_year", "date"),
    *("volume", "number", "start_page", "end_page", "doi", "accession_number"),
}
READ_ONCE = {tag for tag, key in TAG_KEY_MAPPING.items() if key in ONE_VALUE_KEYS}


def _year(record):
    for key in ("year", "publication_year", "date"):
        value = record.get(key, "")
        if value:
            match = FIRST_YEAR.match(value)
            return match.group(1) if match else value
    return ""


def _fields(record):
    """BibTeX-named fields of one rispy record."""
    fields = {"title": record.get("title") or record.get("primary_title") or ""}
    authors = [*record.get("authors", []), *record.get("first_authors", [])]
    if any(a.strip() for a in authors):
        fields["author"] = [_name(a.strip()) for a in authors if a.strip()]
    for key in JOURNAL_KEYS:
        if record.get(key):
            fields["journal"] = record[key]
            break
    unread = []
    title, primary = (record.get(key, "").strip() for key in ("title", "primary_title"))
    if title and primary and title != primary:
        unread.append(f"the title “{primary[:60]}” (T1) is not read: TI's, “{title[:60]}”, is")
    pages, end_page = record.get("start_page", ""), record.get("end_page", "")
    if pages and end_page and end_page != pages:
        pages = f"{pages}-{end_page}"
    elif end_page and not pages:
        unread.append(f"the end page “{end_page[:40]}” (EP) is not read: no start page (SP)")
    notes = list(record.get("notes", []))
    links = [link for value in record.get("urls", []) for link in NEXT_LINK.split(value)]
    doi = record.get("doi", "") or _doi_in(record.get("type_of_work", ""), *links)
    # A link to the DOI says no more than the DOI (the catalog's own export writes one).
    links = [link for link in links if not (doi and _is_doi_link(link, doi))]
    # A study holds one link.
    unread.extend(f"the link “{link[:100]}” is not read: a study holds one" for link in links[1:])
    for name, value in (
        ("year", _year(record)),
        ("volume", record.get("volume", "")),
        ("number", record.get("number", "")),
        ("pages", pages),
        ("doi", doi),
        ("url", links[0] if links else ""),
        ("keywords", [keyword for keyword in record.get("keywords", []) if keyword.strip()]),
    ):
        if value:
            fields[name] = value
    accession = record.get("accession_number", "").strip()
    pmid = PMID.match(accession)
    if pmid and (PMID_LABEL.match(accession) or _from_pubmed(record)):
        fields["pmid"] = pmid.group(1)
    for value in (*notes, record.get("custom2", ""), record.get("note", "")):
        pmcid = PMCID.search(value or "")
        if pmcid:
            fields["pmcid"] = pmcid.group(1) or pmcid.group(2)
            break
    if notes:
        fields["note"] = "; ".join(notes)
    if unread:
        fields["unread"] = unread
    return fields


def _is_doi_link(link, doi):
    return link.lower().endswith("doi.org/" + doi.lower())


def _repeated_tags(lines):
    """What a record gives twice of a tag read once (READ_ONCE): rispy keeps the first."""
    first, unread = {}, []
    for line in lines:
        tag = TAG.match(line)
        if tag and tag[1] in READ_ONCE:
            value = line[6:].strip()
            kept = first.setdefault(tag[1], value)
            if value and value != kept:
                unread.append(
                    f"a second “{tag[1]}” line, “{value[:60]}”, is not read: the first, "
                    f"“{kept[:60]}”, is"
                )
    return unread


def _name(author):
    """An author's name, a suffix where BibTeX's “von Last, Jr, First” and the catalog put
    it: RIS writes it last, “King, Martin L., Jr.” (a name written “King, Jr., Martin L.”,
    as the catalog's RIS export did before it wrote the suffix last, is left as it is)."""
    return _suffix_moved(author, 2, 1)


def written_name(author):
    """The catalog's name as RIS writes it, a suffix last: “King, Jr., Martin L.” is
    “King, Martin L., Jr.” (EndNote and the RIS specification read a second part as the
    given names)."""
    return _suffix_moved(author, 1, 2)


def _suffix_moved(author, suffix_at, to):
    """``author`` in three comma-separated parts, the part at ``suffix_at`` a suffix, with
    that part moved to ``to``; any other name as it is."""
    parts = [part.strip() for part in author.split(",")]
    if len(parts) == 3 and SUFFIX.fullmatch(parts[suffix_at]) and not SUFFIX.fullmatch(parts[to]):
        parts[suffix_at], parts[to] = parts[to], parts[suffix_at]
        return ", ".join(parts)
    return author


def _doi_in(*values):
    """The first of ``values`` that is a DOI, as a DOI or its doi.org link: where tools
    without a DO line put it (EndNote styles in M3, which rispy reads as the type of work;
    Mendeley and others as a link in UR). Not from a note, which may name another paper's
    DOI (an erratum's, a comment's)."""
    for value in values:
        try:
            doi = normalize_doi(value)
        except ValidationError:
            continue
        if doi:
            return doi
    return ""


def _entry(parser, number, line, lines, errors):
    # rispy keeps only records it sees end, so a record cut short is closed for it.
    [record] = parser.parse_lines(iter([*lines, "ER  - "])) or [{}]
    key = (record.get("id") or "").strip() or f"record {number}"
    parsed = ParsedEntry(key, line, (record.get("type_of_reference") or "").lower())
    parsed.errors.extend(errors)
    fields = _fields(record)
    if repeated := _repeated_tags(lines):
        fields["unread"] = [*repeated, *fields.get("unread", [])]
    parsed.add_fields(fields)
    return parsed


def count_entries(text):
    """How many records ``text`` holds: its “TY  -” lines, where parse_entries starts one."""
    lines = text.lstrip("\ufeff").splitlines()
    return sum(1 for line in lines if (tag := TAG.match(line)) and tag[1] == "TY")


def parse_entries(text):
    """Every record of a RIS text as a ParsedEntry, in file order."""
    parser = RisParser(enforce_list_tags=True, delimiter_tags_mapping={})  # see NEXT_LINK
    entries, record, start, stray = [], None, 0, None
    lines = text.lstrip("\ufeff").splitlines()
    for number, line in enumerate(lines, start=1):
        match = TAG.match(line)
        tag = match.group(1) if match else None
        if tag == "TY":
            if record is not None:
                entries.append(
                    _entry(
                        parser,
                        len(entries) + 1,
                        start,
                        record,
                        [
                            f"no “ER  -” line ends this record: the record on line {number} starts"
                            " inside it"
                        ],
                    )
                )
            record, start = [line], number
        elif record is not None:
            if tag == "ER":
                entries.append(_entry(parser, len(entries) + 1, start, record, []))
                record = None
            else:
                record.append(line)
        elif line.strip() and stray is None:
            stray = number
            entries.append(
                ParsedEntry(
                    f"record {len(entries) + 1}",
                    number,
                    errors=[f"text outside a record (line {number}): no “TY  -” line starts it"],
                )
            )
        if tag == "ER" or (tag == "TY"):
            stray = None
    if record is not None:
        entries.append(
            _entry(
                parser,
                len(entries) + 1,
                start,
                record,
                ["no “ER  -” line ends this record: the file may be cut short"],
            )
        )
    return entries


def _from_pubmed(record):
    """Whether a record's bare accession number may be a PMID: it names PubMed or MEDLINE
    as its database, or no database (CINAHL's accession numbers have nine digits too)."""
    databases = [record.get(key, "") for key in ("name_of_database", "database_provider")]
    return not any(databases) or any(PUBMED.search(name) for name in databases)
