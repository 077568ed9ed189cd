"""What the evidence for one condition adds up to: its bottom line, every numeric estimate
with a confidence interval, the random-effects pools of estimates that share a measure
and a domain, and the direction of effect per study and domain (the harvest plot's data).

The condition page, its plots and ``/conditions/<slug>.json`` all read one ``Synthesis``,
so they show the same numbers.
"""

import heapq
from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

from django.db.models import Count, F, FloatField, Window
from django.db.models.functions import Cast

from .citations import short_label
from .models import BottomLine, EffectSummary, Outcome, Study
from .stats import pool, why_not_pooled
from .vocabulary import Direction, EffectMeasure, EvidenceLevel, OutcomeDomain

SHOWN = 30  # rows of a forest plot, studies of the harvest plot (and of their tables)

# Directions a harvest plot draws (an outcome whose direction is unclear has no arrow).
DRAWN_DIRECTIONS = (
    Direction.IMPROVED,
    Direction.NO_DIFFERENCE,
    Direction.WORSENED,
    Direction.MIXED,
)


ESTIMATE_KEYS = (
    "study",
    "outcome",
    "domain",
    "measure",
    "value",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
)


class Numbers(NamedTuple):
    """An estimate as the pool reads it."""

    study: int  # the study's primary key
    value: object
    ci_low: object
    ci_high: object


@dataclass(frozen=True)
class Estimate:
    study: str  # the study's slug
    title: str
    label: str  # as the plot's row names it, e.g. "Younger et al. 2014"
    year: int | None
    level: int
    outcome: str
    domain: str
    measure: str
    value: float
    ci_low: float
    ci_high: float
    p_value: float | None
    n: int | None


@dataclass(frozen=True)
class DirectionCell:
    study: str
    domain: str
    direction: str
    n: int | None
    certainty: str | None


@dataclass
class Group:
    """The estimates of one measure in one domain, with their pool or why there is none."""

    domain: str
    measure: str
    estimates: list  # the first SHOWN, strongest evidence first
    k: int = 0  # how many there are in all (the pool's k)
    pooled: object = None
    note: str = ""

    @property
    def domain_label(self):
        return OutcomeDomain(self.domain).label

    @property
    def measure_label(self):
        return EffectMeasure(self.measure).label


@dataclass(frozen=True)
class StudyRow:
    """One study's row of the harvest plot."""

    study: str
    title: str
    label: str
    year: int | None
    level: int
    n: int | None
    certainty: str | None
    cells: dict  # domain -> direction


@dataclass
class Synthesis:
    bottom_line: object  # a BottomLine (with its studies fetched) or None
    verdicts: list  # EffectSummary rows, strongest study first
    groups: list = field(default_factory=list)
    directions: list = field(default_factory=list)
    rows: list = field(default_factory=list)  # the harvest plot's studies, strongest first
    studies_with_direction: int = 0
    domains: list = field(default_factory=list)  # the harvest plot's columns

    @property
    def estimates(self):
        return [estimate for group in self.groups for estimate in group.estimates]

    @property
    def pooled(self):
        return [group.pooled for group in self.groups if group.pooled]

    @property
    def verdicts_disagree(self):
        return len({summary.verdict for summary in self.verdicts}) > 1

    def as_json(self, condition):
        """The document ``/conditions/<slug>.json`` returns."""
        line = self.bottom_line
        return {
            "condition": {"slug": condition.slug, "name": condition.name},
            "bottom_line": None
            if line is None
            else {
                "text": line.text,
                "certainty": line.certainty,
                "reviewed": line.reviewed.isoformat(),
                "studies": [study.slug for study in line.studies.all()],
            },
            "estimates": [
                {key: getattr(estimate, key) for key in ESTIMATE_KEYS}
                for estimate in self.estimates
            ],
            "pooled": [
                {
                    key: value
                    for key, value in asdict(pooled).items()
                    if key
                    in (
                        "domain",
                        "measure",
                        "k",
                        "value",
                        "ci_low",
                        "ci_high",
                        "i2",
                        "tau2",
                        "method",
                    )
                }
                for pooled in self.pooled
            ],
            "directions": [asdict(cell) for cell in self.directions],
        }


def _float(number):
    return None if number is None else float(number)


def for_condition(condition):
    """The synthesis of ``condition``'s outcomes, in a fixed number of queries.

    A condition with thousands of studies still gives a page of a few hundred rows: each
    forest plot shows its first SHOWN estimates (strongest evidence first) and pools them
    all; the harvest plot shows the first SHOWN studies. Only the rows shown are fetched
    with their studies' details; the pools read bare numbers."""
    outcomes = Outcome.objects.for_condition(condition)
    return Synthesis(
        bottom_line=BottomLine.objects.filter(condition=condition)
        .prefetch_related("studies")
        .first(),
        verdicts=_verdicts(condition),
        groups=_groups(outcomes),
        **_directions(condition, outcomes),
    )


def _verdicts(condition):
    """The verdicts a bottom line rests on, or else those of syntheses and randomised
    trials: the ones a reader would set side by side when they disagree."""
    summaries = EffectSummary.objects.filter(condition=condition).select_related("study")
    resting_on = BottomLine.studies.through.objects.filter(bottomline__condition=condition)
    if resting_on.exists():
        summaries = summaries.filter(study__in=resting_on.values("study"))
    else:
        summaries = summaries.filter(study__evidence_level__lte=EvidenceLevel.RANDOMISED)
    return list(summaries.order_by("study__evidence_level", "-study__year", "study__title")[:20])


def _groups(outcomes):
    """The estimates by measure and domain: every one's bare numbers for the pool, and the
    first SHOWN of each group (strongest evidence, then newest) with their details. One
    query reads the numbers with the order's keys (ranking them in SQL with a window over
    every estimate cost more than sorting them here), one the details of the rows shown."""
    # As floats from the database: converting thousands of decimals costs more than the pool.
    as_floats = {"v": Cast("value", FloatField()), "lo": Cast("ci_low", FloatField())}
    as_floats["hi"] = Cast("ci_high", FloatField())
    bare = outcomes.with_estimate().order_by().annotate(**as_floats)
    numbers, order = {}, {}
    for domain, measure, value, low, high, study, level, year, pk in bare.values_list(
        "domain",
        "effect_measure",
        "v",
        "lo",
        "hi",
        "study",
        "study__evidence_level",
        "study__year",
        "pk",
    ):
        numbers.setdefault((domain, measure), []).append(Numbers(study, value, low, high))
        # Strongest evidence first, then newest (undated last), then the oldest row.
        order.setdefault((domain, measure), []).append((level, year is None, -(year or 0), pk))
    first = {key: [pk for *_, pk in heapq.nsmallest(SHOWN, keys)] for key, keys in order.items()}
    details = Outcome.objects.filter(pk__in=[pk for pks in first.values() for pk in pks])
    by_pk = {}
    for (
        pk,
        slug,
        title,
        authors,
        year,
        level,
        name,
        domain,
        measure,
        value,
        low,
        high,
        p,
        n,
    ) in details.values_list(
        "pk",
        "study__slug",
        "study__title",
        "study__authors",
        "study__year",
        "study__evidence_level",
        "name",
        "domain",
        "effect_measure",
        "value",
        "ci_low",
        "ci_high",
        "p_value",
        "study__sample_size",
    ):
        by_pk[pk] = Estimate(
            study=slug,
            title=title,
            label=short_label(authors, title, year),
            year=year,
            level=level,
            outcome=name,
            domain=domain,
            measure=measure,
            value=float(value),
            ci_low=float(low),
            ci_high=float(high),
            p_value=_float(p),
            n=n,
        )
    shown = {key: [by_pk[pk] for pk in pks] for key, pks in first.items()}
    return [
        Group(
            domain=domain,
            measure=measure,
            estimates=shown.get((domain, measure), []),
            k=len(members),
            pooled=pool(domain, measure, members),
            note=why_not_pooled(measure, members) or "",
        )
        for (domain, measure), members in sorted(numbers.items())
    ]


def _directions(condition, outcomes):
    """One cell per study and domain: the direction of its outcomes there (several
    outcomes pointing different ways make it mixed), for the first SHOWN studies."""
    drawn = outcomes.filter(direction__in=DRAWN_DIRECTIONS)
    with_direction = Study.objects.filter(pk__in=drawn.values("study"))
    first = (
        with_direction.annotate(total=Window(Count("pk")))
        .order_by("evidence_level", F("sample_size").desc(nulls_last=True), "slug")
        .values_list(
            "pk", "slug", "title", "authors", "year", "evidence_level", "sample_size", "total"
        )
    )[:SHOWN]
    certainty = {}
    studies = {}
    totals = [0]
    for pk, slug, title, authors, year, level, n, total in first:
        totals.append(total)  # COUNT(*) OVER (): every study with a direction, on each row
        studies[pk] = StudyRow(
            slug, title, short_label(authors, title, year), year, level, n, None, {}
        )
    if studies:
        certainty = dict(
            EffectSummary.objects.filter(condition=condition, study__in=studies).values_list(
                "study_id", "certainty"
            )
        )
        cells = drawn.filter(study__in=studies).order_by("study", "domain", "pk")
        for pk, domain, direction in cells.values_list("study_id", "domain", "direction"):
            row = studies[pk].cells
            row[domain] = direction if row.get(domain, direction) == direction else "mixed"
    rows = [replace(row, certainty=certainty.get(pk)) for pk, row in studies.items()]
    present = {domain for row in rows for domain in row.cells}
    return {
        "rows": rows,
        "studies_with_direction": max(totals),
        "domains": [d for d in OutcomeDomain if d.value in present],
        "directions": [
            DirectionCell(row.study, domain, direction, row.n, row.certainty)
            for row in rows
            for domain, direction in row.cells.items()
        ],
    }
