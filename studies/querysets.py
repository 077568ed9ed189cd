"""Queries over many studies: logic about one row lives on the model, about many rows here."""

from django.db import models
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Window
from django.db.models.expressions import RawSQL

from .search import ParsedSearch, Relevance, parse
from .versions import VersionedQuerySet
from .vocabulary import (
    DESIGN_LEVELS,
    ConditionBasis,
    Design,
    DesignBasis,
    EvidenceLevel,
    Status,
)

# The list's sort orders, by their public name in the query string. Every order ends on
# the primary key so that pages never overlap or skip a study.
SORTS = {
    "newest": [F("year").desc(nulls_last=True), "-created_at", "pk"],
    "oldest": [F("year").asc(nulls_last=True), "created_at", "pk"],
    "largest": [F("sample_size").desc(nulls_last=True), F("year").desc(nulls_last=True), "pk"],
    "level": ["evidence_level", F("year").desc(nulls_last=True), "pk"],
    "title": ["title", "pk"],
}
DEFAULT_SORT = "newest"
# The orders a reader may choose, with their labels; "relevance" ranks a search (search.py).
SORT_CHOICES = [
    ("relevance", "Best match"),
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("largest", "Largest sample first"),
    ("level", "Strongest evidence first"),
    ("title", "Title A–Z"),
]


class SluggedQuerySet(VersionedQuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class ConditionQuerySet(SluggedQuerySet):
    def with_study_counts(self):
        """Each condition with its number of studies and the strongest evidence level
        among them (the condition index)."""
        return self.annotate(
            study_count=Count("studies"), best_level=Min("studies__evidence_level")
        )

    def evidence_map(self, every_tag=False):
        """The home page's conditions × designs matrix: study counts, in two queries.

        Counts the tags a study's own text names (basis "study"); with ``every_tag``, also
        those named only by a citing document. Returns the designs that occur (strongest
        first) and one row per condition with studies, each row a list of (design, count,
        inferred) cells in the designs' order, ``inferred`` the studies whose design is
        inferred rather than stated.
        """
        tags = self.model.studies.through.objects.order_by()
        if not every_tag:
            tags = tags.filter(basis=ConditionBasis.STUDY)
        rows = tags.values_list("condition_id", "study__design").annotate(
            n=Count("study_id"),
            inferred=Count("study_id", filter=Q(study__design_basis=DesignBasis.INFERRED)),
        )
        counts = {(condition_id, design): n for condition_id, design, n, _ in rows}
        inferred = {(condition_id, design): i for condition_id, design, _, i in rows}
        present = {design for _, design in counts}
        designs = [d for d in sorted(Design, key=lambda d: DESIGN_LEVELS[d]) if d.value in present]
        condition_ids = {condition_id for condition_id, _ in counts}
        return designs, [
            (
                condition,
                [
                    (
                        design,
                        counts.get((condition.pk, design.value), 0),
                        inferred.get((condition.pk, design.value), 0),
                    )
                    for design in designs
                ],
            )
            for condition in self.filter(pk__in=condition_ids).order_by("name")
        ]


# What a condition page counts apart: trials still running or with no results yet, and
# studies that report adverse events.
ONGOING = Q(status__in=[Status.ONGOING, Status.PROTOCOL]) | Q(
    evidence_level=EvidenceLevel.NO_RESULTS
)
REPORTING_HARMS = ~Q(adverse_events="")


class StudyQuerySet(VersionedQuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def completed_unpublished(self):
        """Trials their registry calls completed, with no results posted there and no
        publication in the catalog.

        The catalog keeps a trial and its publications as one study (the registry id is
        unique, and an imported paper naming the trial is a duplicate of it), so "a
        publication in the catalog" means that study carries a DOI, PMID or PMCID, or a
        curator has marked it published.
        """
        return self.filter(registry_status="COMPLETED").exclude(
            Q(results_posted=True)
            | Q(doi__isnull=False)
            | Q(pmid__isnull=False)
            | Q(pmcid__isnull=False)
            | Q(status="published")
        )

    def for_any_condition(self, slugs):
        """Studies of at least one of the conditions, each study once."""
        through = self.model.conditions.through
        return self.filter(
            models.Exists(
                through.objects.filter(study=models.OuterRef("pk"), condition__slug__in=slugs)
            )
        )

    def for_any_condition_id(self, pks):
        """Like ``for_any_condition``, by primary key: PostgreSQL then estimates the
        matching rows from the statistics of ``condition_id`` and joins by hash, where
        a join through the slug looked rare enough for a million index lookups."""
        through = self.model.conditions.through
        return self.filter(
            models.Exists(through.objects.filter(study=models.OuterRef("pk"), condition__in=pks))
        )

    def counted_for_any_condition_id(self, pks):
        """Like ``for_any_condition_id``, in the form that counts fastest: with one
        condition, a join from the link table, whose index on the condition gives its
        studies (SQLite, 100,000 studies: 45 ms for a quarter of them, where EXISTS checks
        every study in 110 ms); with several, a semi-join, so that no study counts twice.
        A page of rows keeps EXISTS, which walks the sort index to the first matches."""
        if len(pks) == 1:
            return self.filter(conditions=pks[0])
        through = self.model.conditions.through
        return self.filter(pk__in=through.objects.filter(condition__in=pks).values("study_id"))

    def without_conditions(self):
        """Studies the documents tie to no condition."""
        through = self.model.conditions.through
        return self.filter(~models.Exists(through.objects.filter(study=models.OuterRef("pk"))))

    def count_without_conditions(self):
        """How many of these studies the documents tie to no condition. Of every study, in
        one query: all of them less the link table's distinct studies, from one scan of its
        study index (SQLite, 100,000 studies: 16 ms, where a probe per study took 59)."""
        if self.query.has_filters():
            return self.without_conditions().count()
        table = self.model.conditions.through._meta.db_table
        tagged = RawSQL(f"SELECT COUNT(DISTINCT study_id) FROM {table}", [], models.IntegerField())
        return self.aggregate(n=Count("pk") - tagged)["n"]

    def related_to(self, study):
        """Studies that share a condition with ``study``, strongest evidence first (its
        conditions are read from ``study.conditions``, prefetched by ``for_export``)."""
        pks = [condition.pk for condition in study.conditions.all()]
        if not pks:
            return self.none()
        return self.for_any_condition_id(pks).exclude(pk=study.pk).sorted_by("level")

    def ongoing(self):
        return self.filter(ONGOING)

    def reporting_harms(self):
        return self.filter(REPORTING_HARMS)

    def with_citing_only(self, condition):
        """Annotate ``citing_only``: the study is tied to ``condition`` only by a citing
        document (a condition page says so)."""
        through = self.model.conditions.through
        citing = through.objects.filter(
            study=OuterRef("pk"), condition=condition, basis=ConditionBasis.CITING
        )
        return self.annotate(citing_only=Exists(citing))

    def level_counts(self):
        """{evidence level: {"n", "ongoing", "harms"}}: the studies at each level, and how
        many of them are ongoing or report adverse events, in one GROUP BY."""
        counts = (
            self.order_by()
            .values("evidence_level")
            .annotate(
                n=Count("pk"),
                ongoing=Count("pk", filter=ONGOING),
                harms=Count("pk", filter=REPORTING_HARMS),
            )
        )
        return {row.pop("evidence_level"): row for row in counts}

    def with_results(self):
        """Studies with at least one reported outcome."""
        from .models import Outcome

        return self.filter(models.Exists(Outcome.objects.filter(study=models.OuterRef("pk"))))

    def with_outcome_in(self, domains):
        """Studies with at least one outcome in one of the outcome domains (slugs)."""
        from .models import Outcome

        outcomes = Outcome.objects.filter(study=models.OuterRef("pk"), domain__in=domains)
        return self.filter(models.Exists(outcomes))

    def search(self, text):
        """Studies matching every term of the search ``text`` (a string, or a search
        already parsed by ``studies.search.parse``) in any field a reader would expect,
        annotated with their ``rank`` (higher is better); see studies/search.py.
        A search with no word to look for filters nothing."""
        parsed = text if isinstance(text, ParsedSearch) else parse(text)
        if not parsed:
            return self
        return self.filter(search_document__document__match=parsed).annotate(
            rank=Relevance(F("search_document__document"), parsed)
        )

    def sorted_by(self, sort):
        """Order by one of SORTS; a search comes best match first unless another sort is
        named ("relevance" without a search is the default order)."""
        if sort in (None, "", "relevance"):
            if "rank" in self.query.annotations:
                return self.order_by("-rank", *SORTS[DEFAULT_SORT])
            sort = DEFAULT_SORT
        return self.order_by(*SORTS[sort])

    def for_list(self):
        """What a list row shows, fetched in a fixed number of queries."""
        return self.prefetch_related("conditions", _effect_summaries())

    def for_export(self):
        """Everything a study page shows of its related rows (all that the JSON export
        writes), fetched in a fixed number of queries. The downloads read plain rows
        instead (studies/exports.py)."""
        from .models import Claim, Mention, Outcome, StudyCondition

        # Each prefetch orders rows within one study; the models' default orderings begin
        # with the study's own ordering, which would cost a join for nothing.
        return self.prefetch_related(
            "conditions",
            models.Prefetch(
                "condition_tags",
                queryset=StudyCondition.objects.select_related("condition").order_by(
                    "condition__name"
                ),
            ),
            models.Prefetch(
                "outcomes",
                queryset=Outcome.objects.select_related("condition", "source").order_by(
                    "position", "pk"
                ),
            ),
            _effect_summaries(),
            models.Prefetch(
                "mentions",
                queryset=Mention.objects.select_related("source").order_by("source__title", "pk"),
            ),
            models.Prefetch(
                "claims", queryset=Claim.objects.select_related("source", "cited_source")
            ),
        )


class EffectSummaryQuerySet(models.QuerySet):
    def findings(self, condition):
        """The verdicts on ``condition`` of its better-designed studies (reviews, trials,
        controlled observational studies), strongest first."""
        return self.filter(
            condition=condition,
            study__evidence_level__lte=EvidenceLevel.CONTROLLED_OBSERVATIONAL,
        ).order_by("study__evidence_level", "-study__year", "study__title")

    def first_with_total(self, size):
        """The first ``size`` rows (their studies fetched) and how many there are in all.
        The ids and the total come in one pass (a window over whole rows would sort every
        row's columns), then the rows shown by primary key."""
        first = list(self.annotate(total=Window(Count("pk"))).values_list("pk", "total")[:size])
        rows = self.select_related("study").in_bulk([pk for pk, _ in first])
        return [rows[pk] for pk, _ in first], first[0][1] if first else 0


class OutcomeQuerySet(models.QuerySet):
    def for_condition(self, condition):
        """Outcomes of ``condition``: those it names, and those of its studies that name
        no condition (a study of one condition rarely repeats it on every outcome)."""
        # A correlated EXISTS, not an IN list: SQLite then reads the few outcomes without a
        # condition from the condition index, instead of probing by each of the studies.
        of_its_study = condition.studies.through.objects.filter(
            condition=condition, study=models.OuterRef("study")
        )
        return self.filter(
            Q(condition=condition) | Q(condition__isnull=True) & models.Exists(of_its_study)
        )

    def with_estimate(self):
        """Outcomes a forest plot can draw: a measure, a value and both bounds."""
        return self.exclude(effect_measure="").filter(
            value__isnull=False, ci_low__isnull=False, ci_high__isnull=False
        )


def _effect_summaries():
    from .models import EffectSummary

    return models.Prefetch(
        "effect_summaries",
        queryset=EffectSummary.objects.select_related("condition").order_by("condition__name"),
    )
