"""Writing fixtures/catalog.json from the curated YAML, once studies/curation.py has read and
checked it: the catalog as Django fixture records, in a fixed order, with natural keys
where they help. The fixture is never edited by hand (`manage.py build_catalog`)."""

import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from .curation import load, normalize_space, study_fields
from .models import (
    BottomLine,
    Claim,
    Condition,
    EffectSummary,
    Mention,
    Outcome,
    Source,
    Study,
    StudyCondition,
)

FIXTURE_PATH = Path(settings.BASE_DIR) / "fixtures" / "catalog.json"
# The date the first edition of the catalog was curated: every record's created/updated time.
FIRST_EDITION = "2026-11-21T00:00:00Z"


def _decimal(value):
    return None if value is None else str(Decimal(str(value)))


def _record(model, fields, pk=None):
    record = {"model": model._meta.label_lower}
    if pk is not None:
        record["pk"] = pk
    record["fields"] = fields
    return record


def fixture_records(catalog):
    """The catalog as Django fixture records, in a fixed order (natural keys where they help)."""
    records = []
    for c in catalog.conditions:
        records.append(
            _record(
                Condition,
                {
                    "name": c["name"],
                    "slug": c["slug"],
                    "synonyms": c.get("synonyms") or [],
                    "category": c["category"],
                    "description": normalize_space(c.get("description", "")),
                },
            )
        )
    for s in catalog.sources:
        records.append(
            _record(
                Source,
                {
                    "slug": s["slug"],
                    "title": s["title"],
                    "kind": s["kind"],
                    "author": s.get("author", ""),
                    "publisher": s.get("publisher", ""),
                    "url": s.get("url", ""),
                    "date": s.get("date", ""),
                    "file_name": s.get("file", ""),
                    "text": s["text"],
                    "description": normalize_space(s.get("description", "")),
                    "evidence_quote": normalize_space(s.get("evidence_quote", "")),
                    "evidence_note": normalize_space(s.get("evidence_note", "")),
                },
            )
        )
    counters = dict.fromkeys((StudyCondition, Mention, Outcome, EffectSummary, Claim), 0)

    def next_pk(model):
        counters[model] += 1
        return counters[model]

    for study in catalog.studies:
        fields = study_fields(study)
        for name in ("dose_min_mg", "dose_max_mg"):
            fields[name] = _decimal(fields[name])
        fields["created_at"] = fields["updated_at"] = study.get("added", FIRST_EDITION)
        fields["reviewed_at"] = None
        fields["reviewed_by"] = None
        fields = {"slug": study["slug"], **fields}
        records.append(_record(Study, fields))
    for study in catalog.studies:
        key = [study["slug"]]
        for tag in study["conditions"]:
            records.append(
                _record(
                    StudyCondition,
                    {
                        "study": key,
                        "condition": [tag["slug"]],
                        "basis": tag["basis"],
                        "note": normalize_space(tag.get("note", "")),
                    },
                    pk=next_pk(StudyCondition),
                )
            )
        for mention in study["mentions"]:
            records.append(
                _record(
                    Mention,
                    {
                        "study": key,
                        "source": [mention["source"]],
                        "quote": normalize_space(mention["quote"]),
                        "locator": mention.get("locator", ""),
                    },
                    pk=next_pk(Mention),
                )
            )
        for position, outcome in enumerate(study.get("outcomes") or []):
            records.append(
                _record(
                    Outcome,
                    {
                        "study": key,
                        "condition": [outcome["condition"]] if outcome.get("condition") else None,
                        "position": position,
                        "name": outcome["name"],
                        "domain": outcome["domain"],
                        "direction": outcome["direction"],
                        "figures": normalize_space(outcome.get("figures", "")),
                        "source": [outcome["source"]] if outcome.get("source") else None,
                        "effect_measure": outcome.get("effect_measure", ""),
                        "value": _decimal(outcome.get("value")),
                        "ci_low": _decimal(outcome.get("ci_low")),
                        "ci_high": _decimal(outcome.get("ci_high")),
                        "p_value": _decimal(outcome.get("p_value")),
                        "n_intervention": outcome.get("n_intervention"),
                        "n_control": outcome.get("n_control"),
                        "pct_intervention": _decimal(outcome.get("pct_intervention")),
                        "pct_control": _decimal(outcome.get("pct_control")),
                    },
                    pk=next_pk(Outcome),
                )
            )
        for summary in study.get("effect_summaries") or []:
            records.append(
                _record(
                    EffectSummary,
                    {
                        "study": key,
                        "condition": [summary["condition"]],
                        "verdict": summary["verdict"],
                        "certainty": summary["certainty"],
                        "rationale": normalize_space(summary.get("rationale", "")),
                        "downgrades": sorted(set(summary["downgrades"])),
                    },
                    pk=next_pk(EffectSummary),
                )
            )
        for claim in study.get("claims") or []:
            records.append(_claim_record(claim, next_pk(Claim), study=key))
    for claim in catalog.claims:
        records.append(_claim_record(claim, next_pk(Claim), study=None))
    for pk, line in enumerate(catalog.bottom_lines, start=1):
        records.append(
            _record(
                BottomLine,
                {
                    "condition": [line["condition"]],
                    "text": normalize_space(line["text"]),
                    "certainty": line["certainty"],
                    "studies": [[slug] for slug in line["studies"]],
                    "reviewed": str(line["reviewed"]),
                },
                pk=pk,
            )
        )
    return records


def _claim_record(claim, pk, study):
    return _record(
        Claim,
        {
            "source": [claim["source"]],
            "study": study,
            "cited_source": [claim["cited_source"]] if claim.get("cited_source") else None,
            "quote": normalize_space(claim["quote"]),
            "locator": claim.get("locator", ""),
            "verdict": claim["verdict"],
            "note": normalize_space(claim.get("note", "")),
        },
        pk=pk,
    )


def render_fixture(catalog):
    return json.dumps(fixture_records(catalog), indent=1, ensure_ascii=False) + "\n"


def build(path=FIXTURE_PATH):
    """Write the fixture; return the number of studies."""
    catalog = load()
    Path(path).write_text(render_fixture(catalog), encoding="utf-8")
    return len(catalog.studies)


def is_current(path=FIXTURE_PATH):
    """Whether the committed fixture is exactly what the curated YAML builds."""
    catalog = load()
    return Path(path).exists() and Path(path).read_text(encoding="utf-8") == render_fixture(catalog)
