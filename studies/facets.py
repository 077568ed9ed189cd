"""Facet counts for the study list: how many studies each filter option would give.

Each facet counts the current result set *without its own selection*, so ticking a
second condition shows how many studies it would add. Every facet is one aggregate
query, whatever the size of the catalog or of the page.
"""

from dataclasses import dataclass

from django.db.models import Count, F, Q

from .models import Condition, Study
from .vocabulary import DESIGN_LEVELS, Design, EvidenceLevel, Status


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    count: int
    selected: bool
    level: int | None = None  # evidence level, for a colour badge


def _counts(queryset, field):
    return dict(queryset.order_by().values_list(field).annotate(n=Count("pk")))


def condition_facet(filterset):
    matching = filterset.facet_queryset("condition").values("pk")
    selected = set(filterset.value.get("condition", []))
    conditions = Condition.objects.annotate(
        n=Count("studies", filter=Q(studies__in=matching))
    ).order_by("name")
    return [Option(c.slug, c.name, c.n, c.slug in selected) for c in conditions]


def design_facet(filterset):
    counts = _counts(filterset.facet_queryset("design"), "design")
    selected = set(filterset.value.get("design", []))
    designs = sorted(Design, key=lambda d: DESIGN_LEVELS[d])
    return [
        Option(d.value, d.label, counts.get(d.value, 0), d.value in selected, DESIGN_LEVELS[d])
        for d in designs
    ]


def level_facet(filterset):
    counts = _counts(filterset.facet_queryset("level"), "evidence_level")
    selected = filterset.value.get("level") or ""
    return [
        Option(
            str(level.value),
            level.label,
            counts.get(level.value, 0),
            str(level) == selected,
            level.value,
        )
        for level in EvidenceLevel
    ]


def status_facet(filterset):
    counts = _counts(filterset.facet_queryset("status"), "status")
    selected = filterset.value.get("status") or ""
    return [Option(s.value, s.label, counts.get(s.value, 0), s.value == selected) for s in Status]


def decade_facet(filterset):
    """Counts by decade, for every decade the catalog holds (empty ones greyed)."""
    matching = filterset.facet_queryset("year_min", "year_max").values("pk")
    rows = (
        Study.objects.filter(year__isnull=False)
        .annotate(decade=F("year") / 10 * 10)
        .order_by()
        .values_list("decade")
        .annotate(n=Count("pk", filter=Q(pk__in=matching)))
        .order_by("decade")
    )
    low, high = filterset.value.get("year_min"), filterset.value.get("year_max")
    return [
        Option(str(decade), f"{decade}s", n, (low, high) == (decade, decade + 9))
        for decade, n in rows
    ]


def all_facets(filterset):
    return {
        "condition": condition_facet(filterset),
        "design": design_facet(filterset),
        "level": level_facet(filterset),
        "status": status_facet(filterset),
        "decade": decade_facet(filterset),
    }


def evidence_map():
    """The home page's conditions × designs matrix: study counts, in two queries.

    Returns the designs that occur (strongest first) and one row per condition with
    studies, each row a list of (design, count) cells in the designs' order.
    """
    through = Study.conditions.through
    counts = {
        (condition_id, design): n
        for condition_id, design, n in through.objects.order_by()
        .values_list("condition_id", "study__design")
        .annotate(n=Count("study_id"))
    }
    present = {design for _, design in counts}
    designs = [d for d in sorted(Design, key=lambda d: DESIGN_LEVELS[d]) if d.value in present]
    condition_ids = {condition_id for condition_id, _ in counts}
    rows = [
        (condition, [(design, counts.get((condition.pk, design.value), 0)) for design in designs])
        for condition in Condition.objects.filter(pk__in=condition_ids).order_by("name")
    ]
    return designs, rows
