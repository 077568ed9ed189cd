"""Studies as plain data: the JSON objects, CSV rows and RIS records the catalog exports.

The same functions serve `manage.py export_studies` and the list's download links, so a
study reads the same whichever way it leaves the catalog. Writers are generators, so a
large list streams instead of being built in memory.
"""

import csv
import io
import json
from decimal import Decimal

from .identifiers import doi_url

# Characters a spreadsheet reads as the start of a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
CSV_COLUMNS = [
    "slug",
    "title",
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
    "url",
    "design",
    "evidence_level",
    "status",
    "conditions",
    "condition_basis",
    "design_basis",
    "sample_size",
    "population",
    "dose",
    "duration",
    "comparator",
    "adverse_events",
    "verdicts",
    "summary",
]


def _none_if_empty(value):
    if value in ("", None, [], {}):
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value


def _plain(mapping):
    return {key: _none_if_empty(value) for key, value in mapping.items()}


def study_to_dict(study):
    """One study as the JSON object of `export_studies --format json` and /studies.json.

    Expects the study to come from ``Study.objects.for_export()`` (prefetched relations).
    Empty values are ``None``, never empty strings.
    """
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
            "duration": study.duration,
            "comparator": study.comparator,
            "adverse_events": study.adverse_events,
            "summary": study.summary,
        }
    )
    data["descriptive_title"] = study.descriptive_title
    # Each condition with its basis: "study" (the study names it) or "citing" (only a
    # citing document does). ``conditions`` above keeps its plain list of names.
    data["condition_tags"] = [
        {"slug": t.condition.slug, "name": t.condition.name, "basis": t.basis}
        for t in study.condition_tags.all()
    ]
    data["design_basis"] = study.design_basis
    data["design_quote"] = study.design_quote or None
    data["outcomes"] = [
        _plain(
            {
                "name": o.name,
                "condition": o.condition.name if o.condition_id else None,
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
    """A JSON array of study objects, written piece by piece."""
    yield "["
    for n, study in enumerate(studies):
        yield ("," if n else "") + "\n" + json.dumps(study_to_dict(study), ensure_ascii=False)
    yield "\n]\n"


def spreadsheet_safe(value):
    """Neutralise text a spreadsheet would run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


# The related rows each format writes: a download fetches only these (the JSON, all).
CSV_RELATIONS = ("conditions", "condition_tags", "effect_summaries")
RIS_RELATIONS = ("conditions",)


def study_to_row(study):
    """One CSV row: the study's own fields as in ``study_to_dict``, lists joined by "; "."""
    row = {column: getattr(study, column, None) for column in CSV_COLUMNS}
    row["authors"] = "; ".join(study.authors)
    row["evidence_level"] = study.level.value
    row["conditions"] = "; ".join(c.name for c in study.conditions.all())
    row["condition_basis"] = "; ".join(
        f"{t.condition.name}: {t.basis}" for t in study.condition_tags.all()
    )
    row["verdicts"] = "; ".join(
        f"{e.condition.name}: {e.verdict} ({e.certainty})" for e in study.effect_summaries.all()
    )
    return {key: spreadsheet_safe("" if value is None else value) for key, value in row.items()}


def iter_csv(studies):
    """CSV with a header row, one study a row, safe to open in a spreadsheet."""
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
    """One RIS record (the tagged format EndNote, Zotero and Mendeley read)."""
    lines = [("TY", RIS_TYPES.get(study.design, "JOUR" if study.journal else "GEN"))]
    lines.append(("TI", study.title))
    lines.extend(("AU", author) for author in study.authors)
    if study.year:
        lines.append(("PY", str(study.year)))
    for tag, value in (
        ("JO", study.journal),
        ("VL", study.volume),
        ("IS", study.issue),
        ("SP", study.pages),
        ("DO", study.doi),
        ("AN", f"PMID:{study.pmid}" if study.pmid else ""),
        ("UR", study.url or (doi_url(study.doi) if study.doi else "")),
        ("N1", f"Trial registration: {study.registry_id}" if study.registry_id else ""),
        ("AB", study.summary),
    ):
        if value:
            lines.append((tag, value))
    lines.extend(("KW", condition.name) for condition in study.conditions.all())
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {_one_line(value)}\r\n" for tag, value in lines)


def _one_line(value):
    # RIS is line-based: a newline inside a value would start a bogus tag.
    return " ".join(str(value).split())


def iter_ris(studies):
    for study in studies:
        yield study_to_ris(study) + "\r\n"
