"""The export writers as they were before downloads read plain rows (issue 14), kept only
as the reference the new writers are compared with (tests/test_export_writers.py).

They read model instances from ``Study.objects.for_export()`` and write BibTeX through
bibtexparser's Library and Entry objects. They carry the corrections other issues asked
for since: outcome domains and dose bands (issue 12); BibTeX authors in braces and page
ranges with ``--`` (issue 10), written by the catalog's own ``author_name``/``page_range``;
condition tags with their basis, the design's basis and quote, per-arm percentages
(issue 16); a RIS author's suffix last (issue 13).
"""

import csv
import io
import json
import re
from decimal import Decimal

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.middlewares.parsestack import default_unparse_stack
from bibtexparser.model import Entry, Field

from studies.bibtex import LATEX_ESCAPES, LIGATURES, author_name, page_range
from studies.exports import CSV_COLUMNS, spreadsheet_safe
from studies.identifiers import doi_url
from studies.models import Study
from studies.ris import written_name


def _none_if_empty(value):
    if value in ("", None, [], {}):
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value


def _plain(mapping):
    return {key: _none_if_empty(value) for key, value in mapping.items()}


def study_to_dict(study):
    data = _plain(
        {
            "slug": study.slug,
            "title": study.title,
            "year": study.year,
            "authors": list(study.authors),
            "journal": study.journal,
            "volume": study.volume,
            "issue": study.issue,
            "pages": study.pages,
            "doi": study.doi,
            "pmid": study.pmid,
            "pmcid": study.pmcid,
            "registry_id": study.registry_id,
            "url": study.url,
            "design": study.design,
            "evidence_level": study.level.value,
            "evidence_level_label": study.level.label,
            "status": study.status,
            "conditions": [c.name for c in study.conditions.all()],
            "sample_size": study.sample_size,
            "population": study.population,
            "dose": study.dose,
            "dose_min_mg": study.dose_min_mg,
            "dose_max_mg": study.dose_max_mg,
            "dose_band": study.dose_band,
            "duration": study.duration,
            "comparator": study.comparator,
            "adverse_events": study.adverse_events,
            "summary": study.summary,
        }
    )
    data["descriptive_title"] = study.descriptive_title
    data["condition_tags"] = [
        {"slug": t.condition.slug, "name": t.condition.name, "basis": t.basis}
        for t in study.condition_tags.all()
    ]
    data["design_basis"] = study.design_basis
    data["design_quote"] = study.design_quote or None
    for column in Study.REGISTRY_RECORD:
        data[column] = getattr(study, column) if getattr(study, column) != "" else None
    data["outcomes"] = [
        _plain(
            {
                "name": o.name,
                "condition": o.condition.name if o.condition_id else None,
                "domain": o.domain,
                "direction": o.direction,
                "figures": o.figures,
                "document": o.source.slug if o.source_id else None,
                "effect_measure": o.effect_measure,
                "value": o.value,
                "ci_low": o.ci_low,
                "ci_high": o.ci_high,
                "p_value": o.p_value,
                "n_intervention": o.n_intervention,
                "n_control": o.n_control,
                "pct_intervention": o.pct_intervention,
                "pct_control": o.pct_control,
            }
        )
        for o in study.outcomes.all()
    ]
    data["effect_summaries"] = [
        _plain(
            {
                "condition": e.condition.name,
                "verdict": e.verdict,
                "certainty": e.certainty,
                "rationale": e.rationale,
            }
        )
        for e in study.effect_summaries.all()
    ]
    data["sources"] = [
        _plain(
            {
                "document": m.source.slug,
                "title": m.source.title,
                "file": m.source.file_name,
                "locator": m.locator,
                "quote": m.quote,
            }
        )
        for m in study.mentions.all()
    ]
    data["claims"] = [
        _plain(
            {
                "document": c.source.slug,
                "locator": c.locator,
                "quote": c.quote,
                "verdict": c.verdict,
                "note": c.note,
            }
        )
        for c in study.claims.all()
    ]
    return data


def iter_json(studies):
    yield "["
    for n, study in enumerate(studies):
        yield ("," if n else "") + "\n" + json.dumps(study_to_dict(study), ensure_ascii=False)
    yield "\n]\n"


def study_to_row(study):
    row = {column: getattr(study, column, None) for column in CSV_COLUMNS}
    row["authors"] = "; ".join(study.authors)
    row["evidence_level"] = study.level.value
    row["conditions"] = "; ".join(c.name for c in study.conditions.all())
    row["verdicts"] = "; ".join(
        f"{e.condition.name}: {e.verdict} ({e.certainty})" for e in study.effect_summaries.all()
    )
    row["condition_basis"] = "; ".join(
        f"{t.condition.name}: {t.basis}" for t in study.condition_tags.all()
    )
    row["domains"] = "; ".join(_domains(study))
    row["results_posted"] = {True: "yes", False: "no"}.get(study.results_posted, "")
    # Columns added since (issue 13's round trips), written as the new writer writes them.
    row["descriptive_title"] = "yes" if study.descriptive_title else "no"
    for column in ("dose_min_mg", "dose_max_mg"):
        row[column] = None if row[column] is None else float(row[column])
    return {key: spreadsheet_safe("" if value is None else value) for key, value in row.items()}


def iter_csv(studies):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for study in studies:
        writer.writerow(study_to_row(study))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


RIS_TYPES = {"registered_trial": "GEN", "trial_protocol": "JOUR"}


def study_to_ris(study):
    lines = [("TY", RIS_TYPES.get(study.design, "JOUR" if study.journal else "GEN"))]
    lines.append(("TI", study.title))
    # A suffix last, as RIS writes it (added since: issue 13's round trips).
    lines.extend(("AU", written_name(author)) for author in study.authors)
    if study.year:
        lines.append(("PY", str(study.year)))
    for tag, value in (
        ("JO", study.journal),
        ("VL", study.volume),
        ("IS", study.issue),
        ("SP", study.pages),
        ("DO", study.doi),
        ("AN", f"PMID:{study.pmid}" if study.pmid else ""),
        ("C2", study.pmcid),  # added since (issue 13's round trips)
        ("UR", study.url or (doi_url(study.doi) if study.doi else "")),
        ("N1", f"Trial registration: {study.registry_id}" if study.registry_id else ""),
        ("AB", study.summary),
    ):
        if value:
            lines.append((tag, value))
    lines.extend(("KW", condition.name) for condition in study.conditions.all())
    if _domains(study):
        lines.append(("C1", "Outcome domains: " + "; ".join(_domains(study))))
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {' '.join(str(value).split())}\r\n" for tag, value in lines)


def _domains(study):
    return sorted({o.domain for o in study.outcomes.all()})


def iter_ris(studies):
    for study in studies:
        yield study_to_ris(study) + "\r\n"


LATEX_SPECIALS = re.compile("|".join(re.escape(c) for c in LATEX_ESCAPES))
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def latex_escape(text):
    text = CONTROL_CHARACTERS.sub("", str(text))
    text = " ".join(text.split())
    text = LATEX_SPECIALS.sub(lambda m: LATEX_ESCAPES[m.group(0)], text)
    return LIGATURES.sub("{}", text)


UNPARSE_STACK = default_unparse_stack(allow_inplace_modification=True)


def study_to_entry(study):
    fields = [("title", latex_escape(study.title))]
    if study.authors:
        fields.append(("author", " and ".join(author_name(name) for name in study.authors)))
    for name, value in (
        ("journal", study.journal),
        ("year", study.year),
        ("volume", study.volume),
        ("number", study.issue),
        ("pages", study.pages),
        ("doi", study.doi),
        ("pmid", study.pmid),
        ("pmcid", study.pmcid),
        ("url", study.url),
        ("note", f"Trial registration: {study.registry_id}" if study.registry_id else ""),
        ("keywords", ", ".join(c.name for c in study.conditions.all())),
    ):
        if value:
            fields.append((name, page_range(value) if name == "pages" else latex_escape(value)))
    entry_type = "article" if study.journal and study.design != "registered_trial" else "misc"
    return Entry(entry_type, study.slug, [Field(n, v) for n, v in fields])


def iter_bibtex(studies):
    for study in studies:
        library = Library([study_to_entry(study)])
        yield bibtexparser.write_string(library, unparse_stack=UNPARSE_STACK)


WRITERS = {"json": iter_json, "csv": iter_csv, "bibtex": iter_bibtex, "ris": iter_ris}
