"""Queries over many studies: logic about one row lives on the model, about many rows here."""

from django.db import connection, models
from django.db.models import F, Q
from django.db.models.expressions import Col

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
# The related rows a study's export can hold (see ``StudyQuerySet.for_export``).
EXPORT_RELATIONS = ("conditions", "outcomes", "effect_summaries", "mentions", "claims")


class StoredSearchVector(models.Expression):
    """The ``search_vector`` column that migration 0005 adds on PostgreSQL (the models do
    not declare it): a column of the query's own table, relabelled with it in subqueries."""

    def resolve_expression(self, query=None, *args, **kwargs):
        from django.contrib.postgres.search import SearchVectorField

        field = SearchVectorField()
        field.set_attributes_from_name("search_vector")
        field.model = query.model
        return Col(query.get_initial_alias(), field)


class StudyQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def published(self):
        return self.filter(status="published")

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

    def with_results(self):
        """Studies with at least one reported outcome."""
        from .models import Outcome

        return self.filter(models.Exists(Outcome.objects.filter(study=models.OuterRef("pk"))))

    def search(self, text):
        """Studies whose title, authors, journal, summary or outcomes mention ``text``.

        PostgreSQL ranks the matches by full-text relevance (annotated as ``rank``);
        other databases match a plain case-insensitive substring, unranked.
        """
        if connection.vendor == "postgresql":
            return self._full_text_search(text)
        from .models import Outcome

        outcomes = Outcome.objects.filter(study=models.OuterRef("pk")).filter(
            Q(name__icontains=text) | Q(figures__icontains=text)
        )
        return self.filter(
            Q(title__icontains=text)
            | Q(authors__icontains=text)
            | Q(journal__icontains=text)
            | Q(summary__icontains=text)
            | models.Exists(outcomes)
        )

    def _full_text_search(self, text):
        """Matches through the GIN-indexed vectors of migration 0005: studies whose own
        text matches, united with studies having a matching outcome, so that each side
        is an index scan; ranked by the study's own vector (outcome-only matches last)."""
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorExact

        from .models import Outcome

        query = SearchQuery(text, search_type="websearch", config="english")
        by_study = self.model.objects.filter(SearchVectorExact(StoredSearchVector(), query))
        by_outcome = Outcome.objects.filter(SearchVectorExact(StoredSearchVector(), query))
        matching = by_study.order_by().values("pk").union(by_outcome.order_by().values("study"))
        return self.filter(pk__in=matching).annotate(rank=SearchRank(StoredSearchVector(), query))

    def sorted_by(self, sort):
        """Order by one of SORTS; with no sort given, a ranked search comes best match first."""
        if not sort and "rank" in self.query.annotations:
            return self.order_by("-rank", *SORTS[DEFAULT_SORT])
        return self.order_by(*SORTS[sort or DEFAULT_SORT])

    def stream(self, chunk_size=500):
        """Every study, fetched ``chunk_size`` at a time with its prefetches: for long exports.

        Once the caller moves on from a study, its prefetched rows are dropped. They form
        reference cycles (a study's outcomes point back at the study) that only a full
        garbage collection frees, so without this an export's memory grows with its length.
        """
        for study in self.iterator(chunk_size=chunk_size):
            yield study
            study._prefetched_objects_cache.clear()

    def for_list(self):
        """What a list row shows, fetched in a fixed number of queries."""
        return self.prefetch_related("conditions", _effect_summaries())

    def for_export(self, *relations):
        """Everything an export writes, fetched in a fixed number of queries: the related
        rows named in ``relations`` (by default all of EXPORT_RELATIONS), so that a format
        which writes only some of them does not fetch the rest."""
        from .models import Claim, Mention, Outcome

        # Each prefetch orders rows within one study; the models' default orderings begin
        # with the study's own ordering, which would cost a join for nothing.
        prefetches = {
            "conditions": "conditions",
            "outcomes": models.Prefetch(
                "outcomes",
                queryset=Outcome.objects.select_related("condition", "source").order_by(
                    "position", "pk"
                ),
            ),
            "effect_summaries": _effect_summaries(),
            "mentions": models.Prefetch(
                "mentions",
                queryset=Mention.objects.select_related("source").order_by("source__title", "pk"),
            ),
            "claims": models.Prefetch(
                "claims", queryset=Claim.objects.select_related("source", "cited_source")
            ),
        }
        return self.prefetch_related(*(prefetches[name] for name in relations or EXPORT_RELATIONS))


def _effect_summaries():
    from .models import EffectSummary

    return models.Prefetch(
        "effect_summaries",
        queryset=EffectSummary.objects.select_related("condition").order_by("condition__name"),
    )
