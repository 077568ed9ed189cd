"""Reading PubMed's MEDLINE format ("Save → PubMed format", .nbib) with Biopython.

Records are cut apart here (a blank line ends one) so that each keeps its line number;
``Bio.Medline`` reads the tags of each. Besides the bibliographic fields, a record gives:

- ``design``: from its publication types (``PT``), with ``design_basis`` saying whether the
  type names the design outright (``stated``: "Randomized Controlled Trial") or only
  suggests it (``inferred``: "Review" may be narrative or systematic), as the curation
  rules ask ("a design no document states is `other`");
- ``mesh`` and ``author_keywords``: its MeSH headings and the authors' keywords (``OT``),
  one a line, from which the importer suggests conditions;
- ``note``: "Trial registration: NCT…" from each trial registry's secondary id (``SI``),
  ClinicalTrials.gov's first.
"""

import re

from Bio import Medline

from .bibtex import ParsedEntry

TAG_LINE = re.compile(r"[A-Z][A-Z0-9 ]{3}- ")
FIRST_YEAR = re.compile(r"\s*(\d{4})(?:\D|$)")
DOI = re.compile(r"^(\S+)\s*\[doi\]$")
# A secondary id (SI) naming a trial registry whose ids the catalog holds (PubMed's databank
# names); the importer checks the id itself. Other databanks (GENBANK, …) are no trial's.
REGISTRY = re.compile(
    r"^(ClinicalTrials\.gov|ISRCTN|ANZCTR|DRKS|ChiCTR|CTRI|EudraCT)/(\S+)$", re.IGNORECASE
)
SHORT_RANGE = re.compile(r"^(\d+)-(\d+)$")  # a page range as PubMed shortens it: 451-9

# Publication types that say what a study is, strongest first: (type, design, basis).
DESIGNS_BY_TYPE = [
    ("Meta-Analysis", "meta_analysis", "stated"),
    ("Systematic Review", "systematic_review", "stated"),
    ("Randomized Controlled Trial", "rct", "stated"),
    ("Clinical Trial Protocol", "trial_protocol", "stated"),
    ("Controlled Clinical Trial", "quasi_experimental", "inferred"),
    ("Observational Study", "cohort", "inferred"),
    ("Case Reports", "case_report", "stated"),
    ("Review", "narrative_review", "inferred"),
]
NOT_A_STUDY = {"Published Erratum", "Retraction of Publication", "Expression of Concern"}
RETRACTED = {"Retracted Publication"}


def _design(types):
    for publication_type, design, basis in DESIGNS_BY_TYPE:
        if publication_type in types:
            return design, basis, publication_type
    return "", "", ""


def mesh_terms(headings):
    """“Fibromyalgia/*drug therapy” and “*Pain” become “Fibromyalgia” and “Pain”."""
    return [heading.split("/")[0].lstrip("*").strip() for heading in headings]


def _authors(record, lines):
    """Each author (AU, or FAU in a record without AU) and group author (CN), in the order
    of the record's lines: PubMed writes a group where it stands among the authors."""
    return [name for name in _values(lines, {"AU" if record.get("AU") else "FAU", "CN"}) if name]


def _values(lines, tags):
    """The value of each line with one of ``tags``, in the record's order: Bio.Medline joins
    the values of a tag it takes for text (LID) into one."""
    return (line[6:].strip() for line in lines if line[:4].rstrip() in tags)


def _joined(lines):
    """The record's lines, a continuation line joined to the line it continues. Bio.Medline
    joins those of a few tags only (the title, MeSH headings, …), and takes any other's
    (a long group author's, a retraction notice's) for a value of its own."""
    joined = []
    for line in lines:
        if line.startswith("      ") and joined:
            joined[-1] = f"{joined[-1].rstrip()} {line.strip()}"
        else:
            joined.append(line)
    return joined


def _fields(record, lines, parsed):
    fields = {"title": record.get("TI", "").rstrip()}
    authors = _authors(record, lines)
    if authors:
        fields["author"] = authors
    year = FIRST_YEAR.match(record.get("DP", ""))
    # A record may give its publisher's item id and its DOI in two LID lines, either first,
    # and again in AID lines: "S0000-0000(20)30000-0 [pii]", "10.1016/… [doi]".
    dois = [m.group(1) for value in _values(lines, {"AID", "LID"}) if (m := DOI.match(value))]
    # The same DOI as a rule; two different ones (a record for a paper and its erratum
    # merged, a typing error) are told: a study holds one.
    others = {doi.lower(): doi for doi in dois[1:] if doi.lower() != dois[0].lower()}
    unread = [
        f"the DOI “{doi[:100]}” is not read: a study holds one, {dois[0][:100]}"
        for doi in others.values()
    ]
    registrations = [m for value in record.get("SI", []) if (m := REGISTRY.match(value))]
    # ClinicalTrials.gov's first: the registry the catalog's trials come from.
    registrations.sort(key=lambda m: m.group(1).lower() != "clinicaltrials.gov")
    for name, value in (
        ("journal", record.get("JT") or record.get("TA", "")),
        ("year", year.group(1) if year else record.get("DP", "")),
        ("volume", record.get("VI", "")),
        ("number", record.get("IP", "")),
        ("pages", _page_range(record.get("PG", ""))),
        ("doi", dois[0] if dois else ""),
        ("pmid", record.get("PMID", "")),
        ("pmcid", record.get("PMC", "")),
        ("note", "; ".join(f"Trial registration: {m.group(2)}" for m in registrations)),
        ("mesh", mesh_terms(record.get("MH", []))),
        ("author_keywords", list(_values(lines, {"OT"}))),
        ("unread", unread),
    ):
        if value:
            fields[name] = value

    types = record.get("PT", [])
    design, basis, publication_type = _design(types)
    if design:
        fields.update(design=design, design_basis=basis, design_evidence=publication_type)
    for publication_type in types:
        if publication_type in NOT_A_STUDY:
            what = record.get("EFR") or record.get("ROF") or []
            of = f" ({'; '.join(what)[:200]})" if what else ""
            parsed.errors.append(f"a “{publication_type}” notice, not a study{of}")
        if publication_type in RETRACTED:
            notices = "; ".join(record.get("RIN", []))[:200]
            fields["retracted"] = notices or "retracted"
    return fields


def _entry(lines, line):
    parsed = ParsedEntry("", line)
    if not lines[0].startswith("PMID- "):
        parsed.errors.append("the record does not start with a “PMID- ” line")
    joined = _joined(lines)
    try:
        record = Medline.read(joined)
    except (KeyError, IndexError, StopIteration):
        parsed.errors.append("not MEDLINE: a continuation line before any tag")
        return parsed
    parsed.key = f"PMID {record['PMID']}" if record.get("PMID") else f"line {line}"
    parsed.entry_type = "; ".join(record.get("PT", [])).lower()[:100]
    parsed.add_fields(_fields(record, joined, parsed))
    stray = [n for n, text in enumerate(lines, start=line) if not _is_tag_or_continuation(text)]
    if stray:
        parsed.errors.append(f"line {stray[0]} is neither a tag nor a continuation line")
    return parsed


def _is_tag_or_continuation(text):
    return text.startswith("      ") or bool(TAG_LINE.match(text)) or text[4:6] == "- "


def _records(text):
    """(first line, lines) of each record: the runs of lines between blank lines; and
    whether the last one runs to the file's end."""
    records, record, start = [], [], 0
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if line.strip():
            if not record:
                start = number
            record.append(line)
        elif record:
            records.append((start, record))
            record = []
    if record:
        records.append((start, record))
    return records, bool(record)


def count_entries(text):
    return len(_records(text)[0])


def parse_entries(text):
    """Every record of a MEDLINE text as a ParsedEntry, in file order."""
    records, to_the_end = _records(text)
    entries = [_entry(lines, start) for start, lines in records]
    if to_the_end:
        # PubMed ends every record with its source line (SO): a last record without one,
        # in a file whose other records have it, was cut short.
        has_source = [any(line.startswith("SO  - ") for line in lines) for _, lines in records]
        if not has_source[-1] and any(has_source):
            entries[-1].errors.append(
                "the record has no “SO  -” line, which ends every PubMed record: "
                "the file is cut short"
            )
    return entries


def _page_range(pages):
    """A page range as PubMed shortens it, written out: "451-9" is 451-459, "1199-204"
    1199-1204."""
    match = SHORT_RANGE.match(pages)
    if not match:
        return pages
    first, last = match.groups()
    if len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return f"{first}-{last}"
