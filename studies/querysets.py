"""Queries over many studies: logic about one row lives on the model, about many rows here."""

from django.db import models


class StudyQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def published(self):
        return self.filter(status="published")

    def for_condition(self, condition):
        slug = getattr(condition, "slug", condition)
        return self.filter(conditions__slug=slug)

    def with_results(self):
        """Studies with at least one reported outcome."""
        from .models import Outcome

        return self.filter(models.Exists(Outcome.objects.filter(study=models.OuterRef("pk"))))

    def for_list(self):
        """What a list row shows, fetched in a fixed number of queries."""
        return self.prefetch_related("conditions", "effect_summaries__condition")

    def for_export(self):
        """Everything an export writes, fetched in a fixed number of queries."""
        return self.prefetch_related(
            "conditions",
            "outcomes",
            "effect_summaries__condition",
            "mentions__source",
            "claims__source",
            "claims__cited_source",
        )
