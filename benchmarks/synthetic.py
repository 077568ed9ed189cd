"""Synthetic studies for measuring the catalog at scale (`manage.py generate_studies`).

The data has the catalog's real shape: the conditions LDN is studied for, designs in the
proportions the literature has them, years skewed recent, outcomes, verdicts, sources with
verbatim mentions, claims, authors and unique identifiers. The same seed on the same
database gives the same rows.

Rows are written straight to the tables (COPY on PostgreSQL, executemany on SQLite) rather
than through ``bulk_create``: ``bulk_create`` stamps ``created_at``/``updated_at`` with the
current time (it calls ``pre_save``), which would make the data depend on the clock, and on
PostgreSQL COPY is several times faster. No historical records are written. The
planner's statistics are refreshed (ANALYZE; VACUUM too on PostgreSQL) at the end, as after
any bulk load.
"""

import bisect
import functools
import itertools
import json
import math
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.core.management.color import no_style
from django.db import connections, models, transaction
from django.db.models import Max
from django.utils.text import slugify

from studies.caching import bump_catalog_revision
from studies.models import (
    BottomLine,
    Claim,
    Condition,
    EffectSummary,
    Mention,
    Outcome,
    Source,
    Study,
)
from studies.vocabulary import (
    DESIGN_LEVELS,
    Certainty,
    ClaimVerdict,
    ConditionCategory,
    Design,
    Direction,
    EffectMeasure,
    EvidenceLevel,
    SourceKind,
    Verdict,
)

# The conditions LDN is studied for, with how often each appears in the literature.
CONDITIONS = [
    ("fibromyalgia", "Fibromyalgia", ConditionCategory.PAIN, 14),
    ("chronic-pain", "Chronic pain", ConditionCategory.PAIN, 10),
    ("complex-regional-pain-syndrome", "Complex regional pain syndrome", ConditionCategory.PAIN, 4),
    ("diabetic-neuropathy", "Painful diabetic neuropathy", ConditionCategory.PAIN, 2),
    ("multiple-sclerosis", "Multiple sclerosis", ConditionCategory.NEUROLOGICAL, 10),
    ("crohns-disease", "Crohn's disease", ConditionCategory.GASTROINTESTINAL, 8),
    ("ulcerative-colitis", "Ulcerative colitis", ConditionCategory.GASTROINTESTINAL, 3),
    ("long-covid", "Long COVID", ConditionCategory.POST_VIRAL, 8),
    ("me-cfs", "ME/CFS", ConditionCategory.POST_VIRAL, 6),
    ("psoriasis", "Psoriasis", ConditionCategory.DERMATOLOGICAL, 3),
    ("hailey-hailey-disease", "Hailey-Hailey disease", ConditionCategory.DERMATOLOGICAL, 2),
    ("lichen-planopilaris", "Lichen planopilaris", ConditionCategory.DERMATOLOGICAL, 1),
    ("systemic-sclerosis", "Systemic sclerosis", ConditionCategory.AUTOIMMUNE, 2),
    ("rheumatoid-arthritis", "Rheumatoid arthritis", ConditionCategory.AUTOIMMUNE, 2),
    ("hashimotos-thyroiditis", "Hashimoto's thyroiditis", ConditionCategory.AUTOIMMUNE, 2),
    ("depression", "Depression", ConditionCategory.PSYCHIATRIC, 3),
    ("cancer", "Cancer", ConditionCategory.CANCER, 3),
    ("hiv", "HIV", ConditionCategory.INFECTIOUS, 2),
    ("opioid-use-disorder", "Opioid use disorder", ConditionCategory.SUBSTANCE_USE, 1),
]

DESIGN_WEIGHTS = {
    Design.CASE_REPORT: 17,
    Design.CASE_SERIES: 9,
    Design.RCT: 12,
    Design.CROSSOVER_RCT: 4,
    Design.COHORT: 8,
    Design.CASE_CONTROL: 2,
    Design.QUASI_EXPERIMENTAL: 3,
    Design.NARRATIVE_REVIEW: 14,
    Design.PRECLINICAL: 8,
    Design.SYSTEMATIC_REVIEW: 4,
    Design.META_ANALYSIS: 2,
    Design.OTHER: 3,
    Design.TRIAL_PROTOCOL: 3,
    Design.REGISTERED_TRIAL: 8,
}

TITLE_PATTERNS = {
    Design.CASE_REPORT: "Low-dose naltrexone for {c}: a case report",
    Design.CASE_SERIES: "Low-dose naltrexone in {n} patients with {c}: a case series",
    Design.RCT: "Low-dose naltrexone versus placebo for {c}: a randomised controlled trial",
    Design.CROSSOVER_RCT: "Low-dose naltrexone for {c}: a crossover randomised trial",
    Design.COHORT: "Outcomes of low-dose naltrexone in {c}: a {adj} cohort study",
    Design.CASE_CONTROL: "Low-dose naltrexone use and {c}: a case-control study",
    Design.QUASI_EXPERIMENTAL: "An open-label trial of low-dose naltrexone in {c}",
    Design.NARRATIVE_REVIEW: "Low-dose naltrexone in {c}: a narrative review",
    Design.PRECLINICAL: "Mechanisms of low-dose naltrexone relevant to {c}",
    Design.SYSTEMATIC_REVIEW: "Low-dose naltrexone for {c}: a systematic review",
    Design.META_ANALYSIS: "Low-dose naltrexone for {c}: a systematic review and meta-analysis",
    Design.OTHER: "Experience with low-dose naltrexone in {c}",
    Design.TRIAL_PROTOCOL: "Low-dose naltrexone for {c}: protocol for a randomised trial",
    Design.REGISTERED_TRIAL: "Low-dose naltrexone in {c} ({adj} trial)",
}
PROPER_NAMES = {"Crohn's disease", "Hailey-Hailey disease", "Hashimoto's thyroiditis", "HIV"}
PROPER_NAMES |= {"Long COVID", "ME/CFS"}
ADJECTIVES = ["retrospective", "prospective", "multicentre", "single-centre", "pilot", "national"]

# Outcome names with the domain each measures (studies.vocabulary.OutcomeDomain).
OUTCOME_NAMES = {
    ConditionCategory.PAIN: [
        ("Pain intensity (VAS)", "pain"),
        ("Pain interference (BPI)", "pain"),
        ("FIQR score", "symptoms"),
    ],
    ConditionCategory.NEUROLOGICAL: [
        ("Fatigue (MFIS)", "fatigue"),
        ("MSQoL-54", "quality_of_life"),
        ("EDSS", "disease_activity"),
        ("Pain (NRS)", "pain"),
    ],
    ConditionCategory.GASTROINTESTINAL: [
        ("CDAI", "disease_activity"),
        ("Endoscopic remission", "disease_activity"),
        ("Mayo score", "disease_activity"),
    ],
    ConditionCategory.POST_VIRAL: [
        ("Fatigue (Chalder)", "fatigue"),
        ("Post-exertional malaise", "symptoms"),
        ("Brain fog", "symptoms"),
    ],
    ConditionCategory.DERMATOLOGICAL: [
        ("PASI", "disease_activity"),
        ("Itch (NRS)", "symptoms"),
        ("Lesion clearance", "disease_activity"),
    ],
    ConditionCategory.AUTOIMMUNE: [
        ("Disease activity", "disease_activity"),
        ("Skin score (mRSS)", "disease_activity"),
        ("Joint pain", "pain"),
    ],
    ConditionCategory.PSYCHIATRIC: [("Depression (HAM-D)", "mood"), ("Anxiety (GAD-7)", "mood")],
    ConditionCategory.CANCER: [
        ("Overall survival", "other"),
        ("Progression-free survival", "disease_activity"),
    ],
    ConditionCategory.INFECTIOUS: [("CD4 count", "biomarkers"), ("Viral load", "biomarkers")],
    ConditionCategory.SUBSTANCE_USE: [
        ("Withdrawal symptoms (COWS)", "symptoms"),
        ("Retention in treatment", "discontinuation"),
    ],
    ConditionCategory.OTHER: [("Symptom score", "symptoms")],
}
GENERIC_OUTCOMES = [
    ("Quality of life (SF-36)", "quality_of_life"),
    ("Adverse events", "adverse_events"),
    ("Sleep quality", "sleep"),
    ("Fatigue", "fatigue"),
    ("Withdrawal for adverse events", "discontinuation"),
    ("Physical function", "function"),
]
# Events (counted per arm) are compared by ratios, scores by differences.
EVENT_DOMAINS = {"adverse_events", "discontinuation", "other"}
# The share of outcomes with a structured estimate and interval, by evidence level: trials
# and syntheses report them often, observational studies sometimes, case reports never.
ESTIMATE_SHARE = {1: 0.6, 2: 0.5, 3: 0.3}
# Daily doses as studies state them (min, max mg), with how often each occurs among the
# studies that state one: mostly the 1.5 to 4.5 mg of LDN, a few micro- and standard doses.
DOSE_RANGES = (
    ((Decimal("4.50"), Decimal("4.50")), 40),
    ((Decimal("1.50"), Decimal("4.50")), 20),
    ((Decimal("3.00"), Decimal("4.50")), 8),
    ((Decimal("1.00"), Decimal("5.00")), 6),
    ((Decimal("0.50"), Decimal("4.50")), 6),
    ((Decimal("3.00"), Decimal("3.00")), 5),
    ((Decimal("0.10"), Decimal("0.50")), 5),
    ((Decimal("0.01"), Decimal("0.05")), 2),
    ((Decimal("50.00"), Decimal("50.00")), 3),
)
DOSE_NOT_STATED_SHARE = 0.3
# Conditions with at least this weight get a bottom line (the rarest ones have none yet).
BOTTOM_LINE_MIN_WEIGHT = 2
BOTTOM_LINE_STUDIES = 5
CENT = Decimal("0.01")

SURNAMES = (  # noqa: SIM905 - a list of words reads best as text
    "Younger Mackey Parkitny Bolton Smith Zagon McLaughlin Gironi Cree Polo Ploesser "
    "Metyas Raknes Bruun Kim Chopra Hota Isman O'Kelly Jonas Lie Sturn Patten Toljan "
    "Vrooman Weinstock Bihari Ludwig Segal Tran Nguyen Garcia Müller Rossi Haugen Sato"
).split()
INITIALS = "ABCDEFGHIJKLMNOPRSTW"
AUTHOR_NAMES = [f"{name} {a}{b}" for name in SURNAMES for a in INITIALS for b in ("", "M", "J")]
JOURNALS = [
    "Clinical Rheumatology",
    "Arthritis and Rheumatism",
    "Pain Medicine",
    "Multiple Sclerosis Journal",
    "Inflammatory Bowel Diseases",
    "The American Journal of Gastroenterology",
    "Journal of the American Academy of Dermatology",
    "Frontiers in Immunology",
    "Brain, Behavior, and Immunity",
    "Journal of Translational Medicine",
    "BMJ Open",
    "Trials",
    "Cureus",
]
SOURCE_PUBLISHERS = ["LDN Research Trust", "Healthline", "Wikipedia", "Clinic blog", "Reuters"]

# Timestamps are derived from the seed, not from the clock.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
CATALOG_SPAN_SECONDS = 680 * 24 * 3600


# Plain strings in the hot loop: enum members and .values are slow to read a million times.
DESIGN_LABELS = {str(design): design.label.lower() for design in Design}
RESULT_LEVELS = {
    str(design): level
    for design, level in DESIGN_LEVELS.items()
    if level not in (EvidenceLevel.OPINION, EvidenceLevel.NO_RESULTS)
}
RANDOMISED = {Design.RCT.value, Design.CROSSOVER_RCT.value}
OPINION = {Design.NARRATIVE_REVIEW.value, Design.PRECLINICAL.value}
REGISTERED = {Design.REGISTERED_TRIAL.value, Design.TRIAL_PROTOCOL.value}
CLAIM_VERDICTS = list(ClaimVerdict.values)
DIRECTIONS = list(Direction.values)
MEASURES = list(EffectMeasure.values)
VERDICTS = list(Verdict.values)
CERTAINTIES = list(Certainty.values)
TITLES = {str(design): pattern for design, pattern in TITLE_PATTERNS.items()}


def _cumulative(weights):
    return list(itertools.accumulate(weights))


@functools.lru_cache(maxsize=4096)
def slug_base(title):
    return slugify(title)[:80].strip("-")


class Weighted:
    """Fast repeated weighted choice from a fixed population."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = _cumulative(weights)
        self.total = self.cum[-1]

    def pick(self, rnd):
        return self.items[bisect.bisect(self.cum, rnd.random() * self.total)]


def ensure_conditions(using="default"):
    """The synthetic conditions, created where missing; rows already there are reused."""
    existing = {c.slug: c for c in Condition.objects.using(using).all()}
    by_name = {c.name.lower(): c for c in existing.values()}
    chosen = []
    for slug, name, category, weight in CONDITIONS:
        condition = existing.get(slug) or by_name.get(name.lower())
        if condition is None:
            # A handful of rows: save() them, so the admin's history shows where they came from.
            condition = Condition(slug=slug, name=name, category=category)
            condition.save(using=using)
        chosen.append((condition, weight))
    return chosen


class SyntheticCatalog:
    """Builds the rows of N studies as dicts keyed by column (attname), chunk by chunk.

    The hot paths draw with random() arithmetic (pick, between, weighted): Random.choice,
    randint and choices cost several times more, a million times over.
    """

    def __init__(self, seed, conditions, source_ids, first_study_id):
        self.rnd = random.Random(seed)
        self.random = self.rnd.random
        self.cumulative = {}
        self.conditions = Weighted(
            [(c.pk, c.name, c.category) for c, _ in conditions], [w for _, w in conditions]
        )
        self.designs = Weighted(map(str, DESIGN_WEIGHTS), DESIGN_WEIGHTS.values())
        self.doses = Weighted([r for r, _ in DOSE_RANGES], [w for _, w in DOSE_RANGES])
        self.source_ids = source_ids
        self.next_id = first_study_id

    def pick(self, items):
        return items[int(self.random() * len(items))]

    def between(self, low, high):
        return low + int(self.random() * (high - low + 1))

    def weighted(self, items, weights):
        cum = self.cumulative.get(weights)
        if cum is None:
            cum = self.cumulative[weights] = _cumulative(weights)
        return items[bisect.bisect(cum, self.random() * cum[-1])]

    def chunks(self, n, chunk_size):
        remaining = n
        while remaining > 0:
            size = min(chunk_size, remaining)
            remaining -= size
            yield self.chunk(size)

    def chunk(self, size):
        tables = {model: [] for model in (Study, LINK, Outcome, EffectSummary, Mention, Claim)}
        for _ in range(size):
            self.add_study(tables)
        return tables

    def add_study(self, tables):
        rnd, pick, between, weighted = self.rnd, self.pick, self.between, self.weighted
        pk = self.next_id
        self.next_id += 1
        design = self.designs.pick(rnd)
        registered = design in REGISTERED
        opinion = design in OPINION
        conditions = {self.conditions.pick(rnd) for _ in range(pick((1, 1, 1, 1, 2, 2, 3)))}
        conditions = sorted(conditions)
        main = conditions[0]

        year = 1980 + round(46 * rnd.betavariate(4.0, 1.3))
        if registered:
            year = max(year, 2005)
        if design == "registered_trial":
            status = "ongoing" if rnd.random() < 0.6 else "published"
        elif design == "trial_protocol":
            status = "protocol"
        else:
            status = "published"
        title = TITLES[design].format(
            c=main[1] if main[1] in PROPER_NAMES else main[1].lower(),
            n=between(3, 60),
            adj=pick(ADJECTIVES),
        )
        if rnd.random() < 0.3:
            title = f"{title} — {pick(GENERIC_OUTCOMES)[0].lower()} and pain outcomes"
        authors = [
            pick(AUTHOR_NAMES) for _ in range(1 if design == "case_report" else between(1, 8))
        ]
        published = status == "published"
        has_results = published and design in RESULT_LEVELS
        sample = None
        if design == "case_report":
            sample = 1
        elif has_results:
            sample = int(rnd.lognormvariate(3.6, 1.0)) + 2
        elif registered:
            sample = between(20, 300)
        dose_min, dose_max = self.doses.pick(rnd)
        if opinion or rnd.random() < DOSE_NOT_STATED_SHARE:
            dose_min = dose_max = None
        dose = "" if dose_min is None else f"{dose_min}–{dose_max} mg daily"
        if dose_min == dose_max and dose:
            dose = f"{dose_max} mg daily"
        first_page = between(1, 2000)
        pages = f"{first_page}–{first_page + between(3, 15)}" if published else ""
        created = EPOCH + timedelta(seconds=int(rnd.random() * (CATALOG_SPAN_SECONDS)))
        tables[Study].append(
            {
                "id": pk,
                "title": title,
                "descriptive_title": False,
                "slug": f"{slug_base(title)}-{year}-{pk}",
                "year": year,
                "authors": authors,
                "journal": pick(JOURNALS) if published else "",
                "volume": str(between(1, 80)) if published else "",
                "issue": str(between(1, 12)) if published else "",
                "pages": pages,
                "doi": f"10.5555/ldn.{pk}" if published or rnd.random() < 0.5 else None,
                "pmid": str(90_000_000 + pk) if published and rnd.random() < 0.85 else None,
                "pmcid": f"PMC{20_000_000 + pk}" if published and rnd.random() < 0.3 else None,
                "registry_id": f"NCT{90_000_000 + pk:08d}"
                if registered or (design in RANDOMISED and rnd.random() < 0.5)
                else None,
                "url": "",
                "design": design,
                "status": status,
                "sample_size": sample,
                "population": f"Adults with {main[1]}" if sample else "",
                "dose": dose,
                "dose_min_mg": dose_min,
                "dose_max_mg": dose_max,
                "duration": f"{pick((4, 8, 12, 16, 24))} weeks" if has_results else "",
                "comparator": "Placebo" if design in RANDOMISED else "",
                "adverse_events": "Vivid dreams and insomnia, mild." if has_results else "",
                "summary": f"Synthetic {DESIGN_LABELS[design]} of LDN in {main[1]}.",
                "reviewed_at": None,
                "reviewed_by_id": None,
                "created_at": created,
                "updated_at": created + timedelta(seconds=int(rnd.random() * (3 * 24 * 3600))),
            }
        )
        for condition in conditions:
            tables[LINK].append({"study_id": pk, "condition_id": condition[0]})
        if has_results:
            self.add_results(tables, pk, design, conditions, sample)
        for n in range(1 + (rnd.random() < 0.35) + (rnd.random() < 0.1)):
            tables[Mention].append(
                {
                    "study_id": pk,
                    "source_id": pick(self.source_ids),
                    "quote": f"{authors[0]} et al. ({year}) studied low-dose naltrexone "
                    f"in {main[1]}.",
                    "locator": f"paragraph {between(1, 40)}" if n or rnd.random() < 0.7 else "",
                }
            )
        if rnd.random() < 0.4:
            tables[Claim].append(
                {
                    "source_id": pick(self.source_ids),
                    "study_id": pk,
                    "cited_source_id": None,
                    "quote": f"LDN helped patients with {main[1]} ({authors[0]}, {year}).",
                    "locator": "",
                    "verdict": weighted(CLAIM_VERDICTS, (6, 2, 2, 1)),
                    "note": "",
                }
            )

    def add_results(self, tables, pk, design, conditions, sample):
        rnd, pick, between, weighted = self.rnd, self.pick, self.between, self.weighted
        level = RESULT_LEVELS[design]
        share = ESTIMATE_SHARE.get(level, 0)
        randomised = design in RANDOMISED
        for position in range(pick((0, 1, 1, 2, 2, 3, 3, 4, 5))):
            condition = pick(conditions)
            names = OUTCOME_NAMES.get(condition[2], GENERIC_OUTCOMES)
            name, domain = pick(names if rnd.random() < 0.7 else GENERIC_OUTCOMES)
            row = {
                "study_id": pk,
                "condition_id": condition[0],
                "position": position,
                "name": name,
                "domain": domain,
                "direction": weighted(DIRECTIONS, (10, 5, 1, 2, 2)),
                "figures": "",
                "source_id": None,
                "effect_measure": "",
                "value": None,
                "ci_low": None,
                "ci_high": None,
                "p_value": None,
                "n_intervention": None,
                "n_control": None,
            }
            if rnd.random() < share:
                self.add_estimate(row, domain, randomised, sample)
            elif level == EvidenceLevel.CASES and sample and sample > 1 and rnd.random() < 0.4:
                responders = between(10, 90)
                row["effect_measure"] = "pct_responders"
                row["value"] = Decimal(responders)
                row["figures"] = f"{responders}% of the {sample} patients improved."
            tables[Outcome].append(row)
        if rnd.random() < 0.6:
            certainty = {
                EvidenceLevel.SYNTHESIS: (2, 4, 2, 1),
                EvidenceLevel.RANDOMISED: (1, 4, 3, 1),
            }.get(RESULT_LEVELS[design], (0, 1, 4, 5))
            for condition in conditions:
                tables[EffectSummary].append(
                    {
                        "study_id": pk,
                        "condition_id": condition[0],
                        "verdict": weighted(VERDICTS, (6, 2, 2, 3)),
                        "certainty": weighted(CERTAINTIES, certainty),
                        "rationale": "",
                    }
                )

    def add_estimate(self, row, domain, randomised, sample):
        """A ratio (events) or a difference (scores) with its 95% CI, as a trial reports it.

        The interval is rounded outwards, so the rounded estimate always lies inside it.
        """
        rnd = self.rnd
        se = 0.08 + rnd.random() * 0.5
        if domain in EVENT_DOMAINS:
            measure = "RR" if randomised else self.pick(("HR", "OR", "RR"))
            estimate = rnd.gauss(0.15, 0.4)
            low, high = math.exp(estimate - 1.96 * se), math.exp(estimate + 1.96 * se)
            estimate = math.exp(estimate)
            floor = CENT
        else:
            measure = "SMD" if rnd.random() < 0.6 else "MD"
            scale = 1 if measure == "SMD" else 10
            estimate = rnd.gauss(-0.3, 0.35) * scale
            low, high = estimate - 1.96 * se * scale, estimate + 1.96 * se * scale
            floor = None
        value = Decimal(estimate).quantize(CENT)
        ci_low = min(Decimal(low).quantize(CENT, rounding=ROUND_FLOOR), value)
        ci_high = max(Decimal(high).quantize(CENT, rounding=ROUND_CEILING), value)
        if floor is not None:
            value, ci_low = max(value, floor), max(ci_low, floor)
            ci_high = max(ci_high, value)
        null = 1 if floor is not None else 0
        row["direction"] = "no_difference" if ci_low <= null <= ci_high else row["direction"]
        p_value = Decimal(self.between(1, 999_999)) / 1_000_000
        if row["direction"] == "no_difference":
            p_value = max(p_value, Decimal("0.051"))
        else:
            p_value = min(p_value, Decimal("0.049"))
        arm = max(2, (sample or 40) // 2)
        row.update(
            effect_measure=measure,
            value=value,
            ci_low=ci_low,
            ci_high=ci_high,
            p_value=p_value,
            n_intervention=arm,
            n_control=arm if randomised or measure in ("HR", "OR", "RR") else None,
            figures=f"{measure} {value} (95% CI {ci_low} to {ci_high}), p = {p_value}",
        )


LINK = Study.conditions.through


class TableWriter:
    """Writes lists of row dicts to a model's table: COPY on PostgreSQL, else executemany."""

    def __init__(self, using):
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        if self.connection.vendor == "sqlite":
            # Index pages of a big insert stay in memory instead of being re-read (256 MB).
            with self.connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")

    def converters(self, model, columns):
        result = []
        for column in columns:
            field = next(f for f in model._meta.concrete_fields if f.attname == column)
            if isinstance(field, models.JSONField):
                result.append(json.dumps)
            elif not self.postgres and isinstance(field, models.DateTimeField):
                result.append(lambda v, f=field: f.get_db_prep_save(v, self.connection))
            else:
                result.append(None)
        return result

    def write(self, model, rows):
        if not rows:
            return
        columns = list(rows[0])
        converters = self.converters(model, columns)
        values = (
            [
                v if convert is None or v is None else convert(v)
                for v, convert in zip(row.values(), converters, strict=True)
            ]
            for row in rows
        )
        quote = self.connection.ops.quote_name
        table = quote(model._meta.db_table)
        names = ", ".join(quote(c) for c in columns)
        with self.connection.cursor() as cursor:
            if self.postgres:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)

    def reset_sequences(self, *models_):
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(models_))
        with self.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def add_sources(writer, rnd, count, using):
    first = (Source.objects.using(using).aggregate(m=Max("pk"))["m"] or 0) + 1
    kinds = SourceKind.values
    rows = [
        {
            "id": pk,
            "slug": f"synthetic-source-{pk}",
            "title": f"Low-dose naltrexone: what the evidence says (part {pk})",
            "kind": rnd.choice(kinds),
            "author": rnd.choice(SURNAMES),
            "publisher": rnd.choice(SOURCE_PUBLISHERS),
            "url": f"https://example.org/ldn/{pk}",
            "date": str(rnd.randint(2010, 2026)),
            "file_name": "",
            "text": "",
            "description": "A synthetic source for benchmarks.",
        }
        for pk in range(first, first + count)
    ]
    writer.write(Source, rows)
    return [row["id"] for row in rows]


def add_bottom_lines(conditions, seed, using):
    """A bottom line for each common condition that has none, resting on its strongest
    studies with results; the rarest conditions are left without one, as in a real catalog."""
    rnd = random.Random(f"bottom-lines-{seed}")
    added = 0
    for condition, weight in conditions:
        if weight < BOTTOM_LINE_MIN_WEIGHT:
            continue
        if BottomLine.objects.using(using).filter(condition=condition).exists():
            continue
        studies = list(
            Study.objects.using(using)
            .for_any_condition_id([condition.pk])
            .filter(evidence_level__lte=EvidenceLevel.RANDOMISED)
            .order_by("evidence_level", "-year", "pk")
            .values_list("pk", flat=True)[:BOTTOM_LINE_STUDIES]
        )
        certainty = rnd.choice(CERTAINTIES[1:]) if studies else "very_low"
        text = (
            f"Synthetic: {len(studies)} trials or reviews of LDN in {condition.name} point to "
            f"a small benefit; the certainty is {certainty.replace('_', ' ')}."
            if studies
            else f"Synthetic: no controlled evidence yet for LDN in {condition.name}."
        )
        line = BottomLine(
            condition=condition,
            text=text,
            certainty=certainty,
            reviewed=(EPOCH + timedelta(days=rnd.randint(0, 600))).date(),
        )
        line.save(using=using)
        line.studies.set(studies)
        added += 1
    return added


def generate_studies(n, seed=0, using="default", chunk_size=10_000, progress=None):
    """Append N synthetic studies (and their related rows); return the row counts written."""
    counts = dict.fromkeys(("studies", "links", "outcomes", "summaries", "mentions", "claims"), 0)
    names = dict(zip((Study, LINK, Outcome, EffectSummary, Mention, Claim), counts, strict=True))
    writer = TableWriter(using)
    with transaction.atomic(using=using):
        conditions = ensure_conditions(using)
        rnd = random.Random(f"sources-{seed}")
        source_ids = add_sources(writer, rnd, max(20, min(n // 200, 2000)), using)
        first_id = (Study.objects.using(using).aggregate(m=Max("pk"))["m"] or 0) + 1
        catalog = SyntheticCatalog(seed, conditions, source_ids, first_id)
        for chunk in catalog.chunks(n, chunk_size):
            for model, rows in chunk.items():
                writer.write(model, rows)
                counts[names[model]] += len(rows)
            if progress:
                progress(counts)
        writer.reset_sequences(Source, Study)
        counts["bottom lines"] = add_bottom_lines(conditions, seed, using)
        bump_catalog_revision(using)  # raw inserts send no signals
    # Fresh statistics for the query planner, as after any bulk load: SQLite has none
    # until ANALYZE runs (and then plans the facet counts several times faster), and
    # PostgreSQL's autovacuum would gather them only some time later. On PostgreSQL,
    # VACUUM as well: it marks the new pages all-visible, so that the facet counts read
    # the covering indexes alone (index-only scans without heap fetches) from the first
    # request, and clears the search documents the triggers rewrote (1.6 million dead
    # rows for a million studies), rather than autovacuum doing both during a benchmark.
    # (VACUUM cannot run in a transaction: inside one, as in a test, ANALYZE alone.)
    connection = connections[using]
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")
    return counts
