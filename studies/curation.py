"""Building the catalog fixture from the curated YAML in fixtures/curation/.

The curated input is what curators review and diff; fixtures/catalog.json is built from it
by `manage.py build_catalog` and never edited by hand. Building checks provenance: every
quote must be verbatim text of its source document, and every identifier, year and sample
size must be stated by a document. A check that fails stops the build with a message naming
the record, so a curator cannot commit a fixture that repeats an error or invents a fact.
"""

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError

from .models import Claim, Condition, EffectSummary, Mention, Outcome, Source, Study

CURATION_DIR = Path(settings.BASE_DIR) / "fixtures" / "curation"
SOURCES_DIR = Path(settings.BASE_DIR) / "fixtures" / "sources"
FIXTURE_PATH = Path(settings.BASE_DIR) / "fixtures" / "catalog.json"
# The date the first edition of the catalog was curated: every record's created/updated time.
FIRST_EDITION = "2026-11-21T00:00:00Z"

UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen")  # fmt: skip
NUMBER_WORDS = {word: n for n, word in enumerate(UNITS.split(" "))}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}  # fmt: skip


class CurationError(Exception):
    """The curated input breaks a rule; the message says which record and why."""


def normalize_space(text):
    return " ".join(str(text).split())


def compact(text):
    """Text without any whitespace, lower case: for finding identifiers in prose."""
    return re.sub(r"\s+", "", str(text)).lower()


def numbers_in(text):
    """Every whole number a passage states, in digits or in English words (to 99)."""
    found = {int(n) for n in re.findall(r"\d+", text)}
    words = re.findall(r"[a-z]+", text.lower())
    for i, word in enumerate(words):
        if word in NUMBER_WORDS:
            found.add(NUMBER_WORDS[word])
        if word in TENS:
            unit = NUMBER_WORDS.get(words[i + 1], 0) if i + 1 < len(words) else 0
            found.add(TENS[word] + (unit if unit < 10 else 0))
    return found


@dataclass
class Catalog:
    """The curated records, checked and ready to be written as a fixture."""

    conditions: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    studies: list = field(default_factory=list)
    claims: list = field(default_factory=list)  # claims that cite a non-research source
    texts: dict = field(default_factory=dict)  # source slug -> normalised text

    def source_text(self, slug, where):
        if slug not in self.texts:
            raise CurationError(f"{where}: unknown source “{slug}”.")
        return self.texts[slug]

    def check_quote(self, source_slug, quote, where):
        text = self.source_text(source_slug, where)
        if not text:
            raise CurationError(f"{where}: the catalog holds no text of “{source_slug}”.")
        if normalize_space(quote) not in text:
            raise CurationError(
                f"{where}: the quote is not verbatim text of “{source_slug}”: "
                f"“{normalize_space(quote)[:120]}”"
            )


def _read_yaml(name):
    with open(CURATION_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or []


def load():
    """Read and check the curated YAML; raise CurationError on the first broken rule."""
    catalog = Catalog(
        conditions=_read_yaml("conditions.yaml"),
        sources=_read_yaml("sources.yaml"),
        studies=_read_yaml("studies.yaml"),
        claims=_read_yaml("claims.yaml"),
    )
    for source in catalog.sources:
        text = ""
        if source.get("file"):
            text = (SOURCES_DIR / source["file"]).read_text(encoding="utf-8")
        source["text"] = text
        catalog.texts[source["slug"]] = normalize_space(text)
    _check(catalog)
    return catalog


def _check(catalog):
    condition_slugs = {c["slug"] for c in catalog.conditions}
    seen = {}
    for study in catalog.studies:
        where = f"study “{study.get('slug')}”"
        if study["slug"] in seen:
            raise CurationError(f"{where} is listed twice.")
        seen[study["slug"]] = study
        _check_study_fields(study, where)
        for slug in study.get("conditions") or []:
            if slug not in condition_slugs:
                raise CurationError(f"{where}: unknown condition “{slug}”.")
        if not study.get("conditions"):
            raise CurationError(f"{where} has no conditions.")
        mentions = study.get("mentions") or []
        if not mentions:
            raise CurationError(f"{where} has no provenance quote.")
        for mention in mentions:
            catalog.check_quote(mention["source"], mention["quote"], where)
        _check_provenance(catalog, study, where)
        for outcome in study.get("outcomes") or []:
            if outcome.get("figures"):
                if not outcome.get("source"):
                    raise CurationError(f"{where}: outcome “{outcome['name']}” needs a source.")
                catalog.check_quote(outcome["source"], outcome["figures"], where)
        for claim in study.get("claims") or []:
            _check_claim(catalog, claim, where)
    for claim in catalog.claims:
        where = f"claim citing “{claim.get('cited_source')}”"
        if claim["cited_source"] not in catalog.texts:
            raise CurationError(f"{where}: unknown source.")
        _check_claim(catalog, claim, where)
    _check_unique_identifiers(catalog.studies)


def _check_study_fields(study, where):
    instance = Study(**_study_fields(study))
    try:
        instance.full_clean(exclude=["slug"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise CurationError(f"{where}: {error.message_dict}") from error
    for name in Study.IDENTIFIER_FIELDS:
        if getattr(instance, name) != study.get(name):
            raise CurationError(
                f"{where}: {name} “{study.get(name)}” is not in normal form "
                f"(“{getattr(instance, name)}”)."
            )


def _check_provenance(catalog, study, where):
    """Identifiers must occur in a source document; years and sizes in the study's quotes."""
    documents = [compact(text) for text in catalog.texts.values()]
    for name in Study.IDENTIFIER_FIELDS:
        value = study.get(name)
        if value and not any(compact(value) in text for text in documents):
            raise CurationError(f"{where}: {name} “{value}” occurs in no source document.")
    quotes = " ".join(normalize_space(m["quote"]) for m in study["mentions"])
    if study.get("year") and str(study["year"]) not in quotes:
        raise CurationError(f"{where}: no provenance quote states the year {study['year']}.")
    size = study.get("sample_size")
    # A case report's single patient is stated by its design.
    single_case = size == 1 and study.get("design") == "case_report"
    if (
        size is not None
        and not single_case
        and size not in numbers_in(quotes + " " + study["title"])
    ):
        raise CurationError(f"{where}: no provenance quote states the sample size {size}.")


def _check_claim(catalog, claim, where):
    catalog.check_quote(claim["source"], claim["quote"], where)
    if claim["verdict"] not in dict(Claim._meta.get_field("verdict").choices):
        raise CurationError(f"{where}: unknown verdict “{claim['verdict']}”.")
    if claim["verdict"] in ("misattributed", "not_supported") and not claim.get("note"):
        raise CurationError(f"{where}: a {claim['verdict']} claim needs a note saying why.")


def _check_unique_identifiers(studies):
    for name in Study.IDENTIFIER_FIELDS:
        values = [s[name] for s in studies if s.get(name)]
        duplicates = {v for v in values if values.count(v) > 1}
        if duplicates:
            raise CurationError(f"{name} used by more than one study: {sorted(duplicates)}")


STUDY_FIELDS = [
    "title", "descriptive_title", "year", "authors", "journal", "volume", "issue", "pages",
    "doi", "pmid", "pmcid", "registry_id", "url", "design", "status", "sample_size",
    "population", "dose", "dose_min_mg", "dose_max_mg", "duration", "comparator",
    "adverse_events", "summary",
]  # fmt: skip


def _study_fields(study):
    values = {}
    for name in STUDY_FIELDS:
        model_field = Study._meta.get_field(name)
        value = study.get(name)
        if value is None:
            value = model_field.get_default()
        values[name] = value
    for name in ("title", "summary", "population", "adverse_events"):
        values[name] = normalize_space(values[name])
    return values


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
                },
            )
        )
    counters = dict.fromkeys((Mention, Outcome, EffectSummary, Claim), 0)

    def next_pk(model):
        counters[model] += 1
        return counters[model]

    for study in catalog.studies:
        fields = _study_fields(study)
        for name in ("dose_min_mg", "dose_max_mg"):
            fields[name] = _decimal(fields[name])
        fields["conditions"] = [[slug] for slug in study["conditions"]]
        fields["created_at"] = fields["updated_at"] = study.get("added", FIRST_EDITION)
        fields["reviewed_at"] = None
        fields["reviewed_by"] = None
        fields = {"slug": study["slug"], **fields}
        records.append(_record(Study, fields))
    for study in catalog.studies:
        key = [study["slug"]]
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
                    },
                    pk=next_pk(EffectSummary),
                )
            )
        for claim in study.get("claims") or []:
            records.append(_claim_record(claim, next_pk(Claim), study=key))
    for claim in catalog.claims:
        records.append(_claim_record(claim, next_pk(Claim), study=None))
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
