"""Studies as downloads: one registry of the export formats and their writers.

``FORMATS`` lists each format once (its name for ``export_studies --format``, its
extension for the list's download links, content type, writer and the related rows it
writes); the list's downloads and ``manage.py export_studies`` both read it, so a study
reads the same whichever way it leaves the catalog.

A download can hold the whole catalog, so the writers never build model instances: they
read the studies as plain rows through ``values_list()`` a chunk at a time (a server-side
cursor on PostgreSQL), fetch the related rows a format writes for each chunk in one query
per table (plain rows, through a cursor), and yield text in pieces of tens of kilobytes.
"""

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import batched
from operator import itemgetter

import rispy
from django.db import connections
from django.db.models import FloatField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from . import bibtex, ris
from .citations import Citation
from .identifiers import doi_url
from .jsontext import text_of
from .models import Claim, EffectSummary, Mention, Outcome, Study, StudyCondition
from .vocabulary import EvidenceLevel

READ_CHUNK_SIZE = 1000  # studies read from the database at a time
WRITE_BATCH_SIZE = 100  # studies written into one piece of the response (tens of kB)

# Characters a spreadsheet reads as the start of a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
CSV_COLUMNS = [
    "slug",
    "title",
    "descriptive_title",
    "year",
    "authors",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "registry_id",
    *Study.REGISTRY_RECORD,
    "url",
    "design",
    "evidence_level",
    "status",
    "conditions",
    "condition_basis",
    "design_basis",
    "design_quote",
    "sample_size",
    "population",
    "dose",
    "dose_min_mg",
    "dose_max_mg",
    "dose_band",
    "duration",
    "comparator",
    "adverse_events",
    "verdicts",
    "domains",
    "summary",
]
CSV_CELLS = itemgetter(*CSV_COLUMNS)  # a CSV row's cells, in order, from a mapping
# The study's own columns every export reads.
STUDY_COLUMNS = [
    *Citation.FIELDS,
    "descriptive_title",
    "evidence_level",
    "status",
    "sample_size",
    "population",
    "dose",
    "dose_min_mg",
    "dose_max_mg",
    "dose_band",
    "duration",
    "comparator",
    "adverse_events",
    "design_basis",
    "design_quote",
    *Study.REGISTRY_RECORD,
]


# Reading: studies as rows, with the related rows a format writes.

# Each related table: (model, its columns as exported, the order within a study).
RELATED = {
    "condition_tags": (
        StudyCondition,
        {"slug": "condition__slug", "name": "condition__name", "basis": "basis"},
        ["condition__name"],
    ),
    # The conditions' names alone, for the formats that write only those (the link
    # table's index holds all a query for them reads).
    "conditions": (StudyCondition, {"name": "condition__name"}, ["condition__name"]),
    "effect_summaries": (
        EffectSummary,
        {
            "condition": "condition__name",
            "verdict": "verdict",
            "certainty": "certainty",
            "rationale": "rationale",
        },
        ["condition__name", "pk"],
    ),
    # The outcomes' domains alone, for the formats that write only those (in any order:
    # _domains sorts them).
    "domains": (Outcome, {"domain": "domain"}, []),
    "outcomes": (
        Outcome,
        {
            "name": "name",
            "condition": "condition__name",
            "domain": "domain",
            "direction": "direction",
            "figures": "figures",
            "document": "source__slug",
            "effect_measure": "effect_measure",
            "value": "value",
            "ci_low": "ci_low",
            "ci_high": "ci_high",
            "p_value": "p_value",
            "n_intervention": "n_intervention",
            "n_control": "n_control",
            "pct_intervention": "pct_intervention",
            "pct_control": "pct_control",
        },
        ["position", "pk"],
    ),
    "mentions": (
        Mention,
        {
            "document": "source__slug",
            "title": "source__title",
            "file": "source__file_name",
            "locator": "locator",
            "quote": "quote",
        },
        ["source__title", "pk"],
    ),
    "claims": (
        Claim,
        {
            "document": "source__slug",
            "locator": "locator",
            "quote": "quote",
            "verdict": "verdict",
            "note": "note",
        },
        ["source__title", "pk"],
    ),
}


# The names of each relation's columns, in the order its rows hold them.
KEYS = {relation: list(fields) for relation, (_model, fields, _order) in RELATED.items()}


def study_rows(queryset, relations, columns=STUDY_COLUMNS, chunk_size=READ_CHUNK_SIZE):
    """Chunks (lists) of the studies of ``queryset``, in its order, as dicts of
    ``columns``, each with its rows of every relation in ``relations`` under that name:
    each row the values of the relation's columns, in RELATED's order."""
    names = ["id", *columns]
    connection = connections[queryset.db]
    related = {relation: _related_sql(relation, connection) for relation in relations}
    rows = queryset.values_list(*(_read(name) for name in names)).iterator(chunk_size)
    for chunk in batched(rows, chunk_size, strict=False):
        chunk = [dict(zip(names, row)) for row in chunk]  # noqa: B905 - as many as asked
        ids = _ids_parameter([row["id"] for row in chunk], connection.vendor)
        with connection.cursor() as cursor:
            for relation, sql in related.items():
                cursor.execute(sql, [ids])
                by_study = defaultdict(list)
                for study_id, *values in cursor.fetchall():
                    by_study[study_id].append(values)
                for row in chunk:
                    row[relation] = by_study.get(row["id"], ())
        yield chunk


def _related_sql(relation, connection):
    """The SQL that reads the relation's rows for the studies whose ids are its one
    parameter: compiled once for a download and run through a cursor for each chunk.
    Building the query for each chunk and reading its rows through Django (a converter
    call for each decimal read as a float) added a tenth to two fifths to the query's
    own time."""
    model, fields, order = RELATED[relation]
    ids = RawSQL(IDS_SQL[connection.vendor], [None])
    rows = (
        model.objects.filter(study_id__in=ids)
        .order_by(*order)
        .values_list("study_id", *(_read(field) for field in fields.values()))
    )
    sql, _params = rows.query.get_compiler(connection=connection).as_sql()
    return sql


# A chunk's ids as one query parameter rather than one per id: Django's preparing a
# thousand parameters took longer than the query that reads them.
IDS_SQL = {
    "postgresql": "SELECT unnest(%s::bigint[])",
    "sqlite": "SELECT value FROM json_each(%s)",
}


def _ids_parameter(ids, vendor):
    return json.dumps(ids) if vendor == "sqlite" else ids


# Decimal columns are written as JSON numbers: read as floats, they skip the Decimal
# Django would build (and the export would turn back into a float) for every value.
DECIMALS = {
    "dose_min_mg",
    "dose_max_mg",
    "value",
    "ci_low",
    "ci_high",
    "p_value",
    "pct_intervention",
    "pct_control",
}


def _read(column):
    return Cast(column, FloatField()) if column in DECIMALS else column


# Writing: each format turns a batch of rows into pieces of text.


EMPTIABLE = (str, list, dict, type(None))


def _plain(mapping):
    """The mapping with empty values ("", [], {}) as None."""
    return {
        key: None if not value and type(value) in EMPTIABLE else value
        for key, value in mapping.items()
    }


def study_to_dict(row):
    """One study as the JSON object of `export_studies --format json` and /studies.json.

    Empty values are ``None``, never empty strings.
    """
    level = EvidenceLevel(row["evidence_level"])
    data = _plain(
        {
            "slug": row["slug"],
            "title": row["title"],
            "year": row["year"],
            "authors": list(row["authors"]),
            "journal": row["journal"],
            "volume": row["volume"],
            "issue": row["issue"],
            "pages": row["pages"],
            "doi": row["doi"],
            "pmid": row["pmid"],
            "pmcid": row["pmcid"],
            "registry_id": row["registry_id"],
            "url": row["url"],
            "design": row["design"],
            "evidence_level": level.value,
            "evidence_level_label": level.label,
            "status": row["status"],
            "conditions": _condition_names(row),
            "sample_size": row["sample_size"],
            "population": row["population"],
            "dose": row["dose"],
            "dose_min_mg": row["dose_min_mg"],
            "dose_max_mg": row["dose_max_mg"],
            "dose_band": row["dose_band"],
            "duration": row["duration"],
            "comparator": row["comparator"],
            "adverse_events": row["adverse_events"],
            "summary": row["summary"],
        }
    )
    data["descriptive_title"] = row["descriptive_title"]
    # Each condition with its basis: "study" (the study names it) or "citing" (only a
    # citing document does). ``conditions`` above keeps its plain list of names.
    keys = KEYS["condition_tags"]
    data["condition_tags"] = [dict(zip(keys, tag, strict=True)) for tag in row["condition_tags"]]
    data["design_basis"] = row["design_basis"]
    data["design_quote"] = row["design_quote"] or None
    for column in Study.REGISTRY_RECORD:
        data[column] = row[column] if row[column] != "" else None
    for relation in ("outcomes", "effect_summaries", "mentions", "claims"):
        keys = KEYS[relation]
        # _plain for rows read from the database, whose only empty values are "" and None.
        data["sources" if relation == "mentions" else relation] = [
            dict(zip(keys, [None if value == "" else value for value in values], strict=True))
            for values in row[relation]
        ]
    return data


# json.dumps(..., ensure_ascii=False) builds an encoder for every call; one serves all. A
# study's object holds no reference to itself, so the encoder need not look for one.
_encode_json = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def write_json(rows):
    return ["\n" + _encode_json(study_to_dict(row)) for row in rows]


def spreadsheet_safe(value):
    """Neutralise text a spreadsheet would run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def study_to_row(row):
    """One CSV row: the study's own fields as in ``study_to_dict``, lists joined by "; "."""
    lists = {
        "authors": "; ".join(row["authors"]),
        "conditions": "; ".join(_condition_names(row)),
        "verdicts": "; ".join(
            f"{condition}: {verdict} ({certainty})"
            for condition, verdict, certainty, _rationale in row["effect_summaries"]
        ),
        "condition_basis": "; ".join(
            f"{name}: {basis}" for _slug, name, basis in row["condition_tags"]
        ),
        "domains": "; ".join(_domains(row)),
        "results_posted": text_of(row["results_posted"]),  # yes, no or empty
        "descriptive_title": text_of(row["descriptive_title"]),  # yes or no
    }
    # spreadsheet_safe, written out: it runs for every cell of a long download. None needs
    # nothing: the csv module writes it as an empty cell.
    return [
        "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value
        for value in CSV_CELLS(row | lists)
    ]


def _csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def write_csv(rows):
    return [_csv_text(study_to_row(row) for row in rows)]


def write_bibtex(rows):
    return [bibtex.citation_to_bibtex(_citation(row)) for row in rows]


RIS_TYPES = {"registered_trial": "GEN", "trial_protocol": "JOUR"}


class RisWriter(rispy.RisWriter):
    """rispy's writer with CRLF line ends (as RIS files are written) and no "1." header
    before each record."""

    NEWLINE = "\r\n"

    def set_header(self, count):
        return ""


RIS = RisWriter()


def citation_to_ris(citation):
    """One RIS record (the tagged format EndNote, Zotero and Mendeley read) as rispy's
    mapping, in tag order: TY TI AU PY JO VL IS SP DO AN C2 UR N1 AB KW."""
    record = {
        "type_of_reference": RIS_TYPES.get(citation.design, "JOUR" if citation.journal else "GEN"),
        "title": _one_line(citation.title),
        "authors": [ris.written_name(_one_line(author)) for author in citation.authors],
    }
    url = citation.url or (doi_url(citation.doi) if citation.doi else "")
    registration = f"Trial registration: {citation.registry_id}" if citation.registry_id else ""
    for key, value in (
        ("year", str(citation.year) if citation.year else ""),
        ("journal_name", citation.journal),
        ("volume", citation.volume),
        ("number", citation.issue),
        ("start_page", citation.pages),
        ("doi", citation.doi),
        ("accession_number", f"PMID:{citation.pmid}" if citation.pmid else ""),
        ("custom2", citation.pmcid),  # C2: where PubMed's and EndNote's RIS put the PMCID
        ("urls", url),
        ("notes", registration),
        ("abstract", citation.summary),
    ):
        if value:
            value = _one_line(value)
            record[key] = [value] if key in ("urls", "notes") else value
    record["keywords"] = [_one_line(keyword) for keyword in citation.keywords]
    return record


def _one_line(value):
    # RIS is line-based: a newline inside a value would start a bogus tag.
    return " ".join(str(value).split())


def write_ris(rows):
    return [RIS.formats([_ris_record(row) for row in rows]) + "\r\n"]


def _ris_record(row):
    record = citation_to_ris(_citation(row))
    # In a custom field (C1), not among the keywords, which importers read as conditions.
    domains = _domains(row)
    if domains:
        record["custom1"] = "Outcome domains: " + "; ".join(domains)
    return record


def _domains(row):
    """The outcome domains a study measured, in name order."""
    return sorted({domain for (domain,) in row["domains"]})


def _condition_names(row):
    return [name for _slug, name, _basis in row["condition_tags"]]


def _citation(row):
    return Citation.from_row(row, [name for (name,) in row["conditions"]])


@dataclass(frozen=True)
class ExportFormat:
    name: str  # for export_studies --format
    extension: str  # for the list's download links
    content_type: str
    write: Callable  # a batch of study rows -> pieces of text
    columns: tuple  # the study's columns the writer reads
    relations: tuple  # the related rows the writer reads
    head: str = ""
    separator: str = ""  # between two studies
    tail: str = ""

    def stream(self, queryset, chunk_size=READ_CHUNK_SIZE):
        """The studies of ``queryset``, in its order, as pieces of text."""
        if self.head:
            yield self.head
        first = True
        for chunk in study_rows(queryset, self.relations, self.columns, chunk_size):
            for batch in batched(chunk, WRITE_BATCH_SIZE, strict=False):
                text = self.separator.join(self.write(batch))
                yield text if first else self.separator + text
                first = False
        if self.tail:
            yield self.tail


FORMATS = {
    f.name: f
    for f in (
        ExportFormat(
            "json",
            "json",
            "application/json; charset=utf-8",
            write_json,
            tuple(STUDY_COLUMNS),
            ("condition_tags", "effect_summaries", "outcomes", "mentions", "claims"),
            head="[",
            separator=",",
            tail="\n]\n",
        ),
        ExportFormat(
            "csv",
            "csv",
            "text/csv; charset=utf-8",
            write_csv,
            tuple(
                c
                for c in CSV_COLUMNS
                if c not in ("conditions", "condition_basis", "verdicts", "domains")
            ),
            ("condition_tags", "effect_summaries", "domains"),
            head=_csv_text([CSV_COLUMNS]),
        ),
        ExportFormat(
            "bibtex",
            "bib",
            "application/x-bibtex; charset=utf-8",
            write_bibtex,
            Citation.FIELDS,
            ("conditions",),
        ),
        ExportFormat(
            "ris",
            "ris",
            "application/x-research-info-systems; charset=utf-8",
            write_ris,
            Citation.FIELDS,
            ("conditions", "domains"),
        ),
    )
}
BY_EXTENSION = {f.extension: f for f in FORMATS.values()}
