"""Reading and checking the curated YAML in fixtures/curation/.

The curated input is what curators review and diff; fixtures/catalog.json is built from it
by `manage.py build_catalog` (studies/catalog_fixture.py) and never edited by hand.
Building checks provenance: every quote must be verbatim text of its source document, and
every identifier, year and sample size must be stated by a document. A check that fails
stops the build with a message naming the record, so a curator cannot commit a fixture
that repeats an error or invents a fact.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError

from . import grading
from .models import (
    Claim,
    Study,
)
from .vocabulary import (
    Certainty,
    ConditionBasis,
    ConditionCategory,
    Design,
    DesignBasis,
    Downgrade,
    EffectMeasure,
    OutcomeDomain,
)

CURATION_DIR = Path(settings.BASE_DIR) / "fixtures" / "curation"
SOURCES_DIR = Path(settings.BASE_DIR) / "fixtures" / "sources"

UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen")  # fmt: skip
NUMBER_WORDS = {word: n for n, word in enumerate(UNITS.split(" "))}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}  # fmt: skip


# A condition's name must name a condition: these words name the absence of one.
PSEUDO_CONDITION = re.compile(
    r"\b(not stated|unstated|unknown|unspecified|several conditions|various|none)\b", re.I
)
RATIOS = {EffectMeasure.HR, EffectMeasure.RR, EffectMeasure.OR}
ESTIMATE_FIELDS = (
    "value", "ci_low", "ci_high", "p_value", "n_intervention", "n_control",
    "pct_intervention", "pct_control",
)  # fmt: skip


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


def decimals_in(text):
    """Every number a passage states, as Decimals: 5.04, 1.22, .045 (as 0.045), 28.8, -1.5
    after a space or bracket, and whole numbers in words ("Thirty two" is 32)."""
    found = {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", text)}
    found |= {Decimal("0" + n) for n in re.findall(r"(?<![\d.])\.\d+", text)}
    found |= {Decimal(n) for n in re.findall(r"(?:(?<=^)|(?<=[\s(\[]))-\d+(?:\.\d+)?", text)}
    return found | {Decimal(n) for n in numbers_in(re.sub(r"[\d.]+", " ", text))}


def check_estimate(outcome, where):
    """A structured estimate must be one the outcome's verbatim figures state, and sound."""
    figures = normalize_space(outcome.get("figures") or "")
    stated = decimals_in(figures)
    for name in ESTIMATE_FIELDS:
        value = outcome.get(name)
        if value is not None and Decimal(str(value)) not in stated:
            raise CurationError(
                f"{where}: {name} {value} does not appear in the outcome's figures “{figures}”."
            )
    measure, value = outcome.get("effect_measure") or "", outcome.get("value")
    low, high = outcome.get("ci_low"), outcome.get("ci_high")
    if (low is None) != (high is None):
        raise CurationError(f"{where}: a confidence interval needs both bounds.")
    if (value is not None or low is not None) and not measure:
        raise CurationError(f"{where}: an estimate needs its effect measure.")
    if measure in RATIOS:
        for name, number in (("value", value), ("ci_low", low), ("ci_high", high)):
            if number is not None and Decimal(str(number)) <= 0:
                raise CurationError(f"{where}: a {measure} must be above zero ({name} {number}).")
    if low is not None:
        if Decimal(str(low)) > Decimal(str(high)):
            raise CurationError(f"{where}: the CI's lower bound exceeds its upper bound.")
        if value is not None and not Decimal(str(low)) <= Decimal(str(value)) <= Decimal(str(high)):
            raise CurationError(
                f"{where}: the CI {low}–{high} excludes its own point estimate {value}."
            )


@dataclass
class Catalog:
    """The curated records, checked and ready to be written as a fixture."""

    conditions: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    studies: list = field(default_factory=list)
    claims: list = field(default_factory=list)  # claims that cite a non-research source
    bottom_lines: list = field(default_factory=list)
    texts: dict = field(default_factory=dict)  # source slug -> normalised text

    def source_text(self, slug, where):
        if slug not in self.texts:
            raise CurationError(f"{where}: unknown source “{slug}”.")
        return self.texts[slug]

    def check_quote_anywhere(self, quote, where):
        if not any(normalize_space(quote) in text for text in self.texts.values() if text):
            raise CurationError(
                f"{where}: the quote is verbatim text of no source: "
                f"“{normalize_space(quote)[:120]}”"
            )

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
        bottom_lines=_read_yaml("bottom_lines.yaml"),
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
    _check_conditions(catalog.conditions)
    condition_slugs = {c["slug"] for c in catalog.conditions}
    for source in catalog.sources:
        if source.get("evidence_quote"):
            catalog.check_quote(
                source["slug"], source["evidence_quote"], f"source “{source['slug']}”"
            )
    seen = {}
    for study in catalog.studies:
        where = f"study “{study.get('slug')}”"
        if study["slug"] in seen:
            raise CurationError(f"{where} is listed twice.")
        seen[study["slug"]] = study
        _checkstudy_fields(study, where)
        _check_tags(study, condition_slugs, where)
        mentions = study.get("mentions") or []
        if not mentions:
            raise CurationError(f"{where} has no provenance quote.")
        for mention in mentions:
            catalog.check_quote(mention["source"], mention["quote"], where)
        _check_provenance(study, where)
        _check_design(catalog, study, where)
        _check_dose(study, where)
        tagged = {tag["slug"] for tag in study["conditions"]}
        for outcome in study.get("outcomes") or []:
            _check_outcome(catalog, outcome, tagged, f"{where}, outcome “{outcome.get('name')}”")
        for summary in study.get("effect_summaries") or []:
            _check_effect_summary(study, summary, where)
        for claim in study.get("claims") or []:
            _check_claim(catalog, claim, where)
    for claim in catalog.claims:
        where = f"claim citing “{claim.get('cited_source')}”"
        if claim["cited_source"] not in catalog.texts:
            raise CurationError(f"{where}: unknown source.")
        _check_claim(catalog, claim, where)
    _check_unique_identifiers(catalog.studies)
    _check_bottom_lines(catalog, seen)


def _check_conditions(conditions):
    for condition in conditions:
        where = f"condition “{condition.get('slug')}”"
        if PSEUDO_CONDITION.search(condition["name"]):
            raise CurationError(f"{where}: “{condition['name']}” names no condition.")
        if condition.get("category") not in ConditionCategory.values:
            raise CurationError(f"{where}: unknown category “{condition.get('category')}”.")


def _check_tags(study, condition_slugs, where):
    """Each condition tag names a known condition and says what it rests on."""
    if "conditions" not in study:
        raise CurationError(f"{where}: no `conditions` (write [] for a study tied to none).")
    slugs = []
    for tag in study["conditions"]:
        if not isinstance(tag, dict) or "slug" not in tag:
            raise CurationError(f"{where}: a condition tag must be {{slug, basis}}: {tag!r}.")
        if tag["slug"] not in condition_slugs:
            raise CurationError(f"{where}: unknown condition “{tag['slug']}”.")
        if tag.get("basis") not in ConditionBasis.values:
            raise CurationError(
                f"{where}: the tag “{tag['slug']}” has no basis (study or citing): "
                f"{tag.get('basis')!r}."
            )
        slugs.append(tag["slug"])
    if len(slugs) != len(set(slugs)):
        raise CurationError(f"{where}: a condition is tagged twice.")


def _check_design(catalog, study, where):
    basis = study.get("design_basis")
    design = study.get("design", Design.OTHER)
    if design == Design.OTHER:
        if basis or study.get("design_quote"):
            raise CurationError(f"{where}: the design `other` (not stated) takes no basis.")
        return
    if basis not in DesignBasis.values:
        raise CurationError(f"{where}: the design needs a basis (stated or inferred): {basis!r}.")
    quote = study.get("design_quote")
    if basis == DesignBasis.INFERRED and not quote:
        raise CurationError(f"{where}: an inferred design needs the quote it is inferred from.")
    if quote:
        catalog.check_quote_anywhere(quote, f"{where}, design quote")


def _check_dose(study, where):
    """A structured dose is what the study's own quotes state, in mg."""
    low, high = study.get("dose_min_mg"), study.get("dose_max_mg")
    if low is None and high is None:
        return
    dose = normalize_space(study.get("dose") or "")
    quotes = " ".join(
        normalize_space(q["quote"]) for q in (study["mentions"] + (study.get("claims") or []))
    )
    if not dose or dose not in quotes:
        raise CurationError(f"{where}: the dose “{dose}” is not quoted from the study's passages.")
    for number in (low, high):
        if number is None or Decimal(str(number)) not in decimals_in(dose):
            raise CurationError(f"{where}: the dose {number} mg is not stated by “{dose}”.")


def _check_outcome(catalog, outcome, tagged, where):
    if outcome.get("domain") not in OutcomeDomain.values:
        raise CurationError(
            f"{where}: needs a domain from the vocabulary: {outcome.get('domain')!r}."
        )
    if outcome.get("condition") and outcome["condition"] not in tagged:
        raise CurationError(f"{where}: condition “{outcome['condition']}” is not the study's.")
    if outcome.get("figures"):
        if not outcome.get("source"):
            raise CurationError(f"{where}: needs a source.")
        catalog.check_quote(outcome["source"], outcome["figures"], where)
    check_estimate(outcome, where)


def _check_effect_summary(study, summary, where):
    where = f"{where}, effect summary for “{summary.get('condition')}”"
    tags = {tag["slug"]: tag["basis"] for tag in study["conditions"]}
    if tags.get(summary["condition"]) != ConditionBasis.STUDY:
        raise CurationError(f"{where}: the study itself must name the condition (basis study).")
    if summary.get("certainty") not in Certainty.values:
        raise CurationError(f"{where}: unknown certainty {summary.get('certainty')!r}.")
    downgrades = summary.get("downgrades")
    if downgrades is None or not set(downgrades) <= set(Downgrade.values):
        raise CurationError(f"{where}: `downgrades` must list reasons from the rubric.")
    design = study.get("design", Design.OTHER)
    if grading.starting_level(design) is None:
        raise CurationError(f"{where}: a study with no results yet has no effect summary.")
    secondary_only = all(o.get("source") for o in study.get("outcomes") or [])
    missing = grading.required_downgrades(design, secondary_only) - set(downgrades)
    if missing:
        raise CurationError(
            f"{where}: the rubric requires the downgrades {sorted(m.value for m in missing)} "
            f"(certainty {summary['certainty']} is above its ceiling)."
        )
    graded = grading.graded_certainty(design, downgrades)
    if summary["certainty"] != graded:
        raise CurationError(
            f"{where}: certainty {summary['certainty']} is not what the rubric gives "
            f"({graded}: starts at {grading.starting_level(design)} for {design}, "
            f"down one step for each of {sorted(set(downgrades))})."
        )


def _check_bottom_lines(catalog, studies):
    """Every condition with results has a bottom line, resting on studies tagged with it."""
    with_results = {
        summary["condition"]: []
        for s in studies.values()
        for summary in s.get("effect_summaries") or []
    }
    for study in studies.values():
        for summary in study.get("effect_summaries") or []:
            with_results[summary["condition"]].append(summary["certainty"])
    lines = {}
    for line in catalog.bottom_lines:
        where = f"bottom line for “{line.get('condition')}”"
        if line["condition"] in lines:
            raise CurationError(f"{where} is written twice.")
        lines[line["condition"]] = line
        if line.get("certainty") not in Certainty.values:
            raise CurationError(f"{where}: unknown certainty {line.get('certainty')!r}.")
        if not line.get("text") or not line.get("reviewed") or not line.get("studies"):
            raise CurationError(f"{where}: needs text, studies and the date it was reviewed.")
        for slug in line["studies"]:
            study = studies.get(slug)
            if study is None:
                raise CurationError(f"{where}: unknown study “{slug}”.")
            if line["condition"] not in {tag["slug"] for tag in study["conditions"]}:
                raise CurationError(f"{where}: “{slug}” is not tagged with the condition.")
        ceiling = max(with_results.get(line["condition"], [Certainty.VERY_LOW]),
                      key=lambda c: -grading.LADDER.index(Certainty(c)))  # fmt: skip
        if not grading.at_or_below(line["certainty"], ceiling):
            raise CurationError(
                f"{where}: certainty {line['certainty']} is above its best study's ({ceiling})."
            )
    missing = sorted(set(with_results) - set(lines))
    if missing:
        raise CurationError(f"conditions with results but no bottom line: {missing}")


def _checkstudy_fields(study, where):
    instance = Study(**study_fields(study))
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


def _check_provenance(study, where):
    """Identifiers, years and sizes must be stated by the study's own quotes."""
    quotes = " ".join(normalize_space(m["quote"]) for m in study["mentions"])
    for name in Study.IDENTIFIER_FIELDS:
        value = study.get(name)
        if value and compact(value) not in compact(quotes):
            raise CurationError(f"{where}: no provenance quote states its {name} “{value}”.")
    for year in re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)", study["slug"]):
        identifiers = " ".join(str(study.get(name) or "") for name in Study.IDENTIFIER_FIELDS)
        if str(study.get("year")) != year and year not in identifiers:
            raise CurationError(f"{where}: the slug carries the year {year}, not the study's.")
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
    "doi", "pmid", "pmcid", "registry_id", "url", "design", "design_basis", "design_quote",
    "status", "sample_size",
    "population", "dose", "dose_min_mg", "dose_max_mg", "duration", "comparator",
    "adverse_events", "summary",
]  # fmt: skip


def study_fields(study):
    """A curated study's field values as the model holds them (defaults filled in)."""
    values = {}
    for name in STUDY_FIELDS:
        model_field = Study._meta.get_field(name)
        value = study.get(name)
        if value is None:
            value = model_field.get_default()
        values[name] = value
    for name in ("title", "summary", "population", "adverse_events", "design_quote", "dose"):
        values[name] = normalize_space(values[name])
    return values
