from django.test import TestCase

from studies.models import Study

from .factories import make_condition, make_outcome, make_study


class StreamTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        condition = make_condition()
        for year in range(2000, 2007):
            make_outcome(make_study([condition], year=year))

    def test_stream_yields_every_study_in_order_with_prefetches(self):
        queryset = Study.objects.for_export().sorted_by("oldest")
        seen = []
        with self.assertNumQueries(1 + 3 * 5):  # the studies, then 5 prefetches for each chunk
            for study in queryset.stream(chunk_size=3):
                seen.append((study.year, len(study.outcomes.all()), len(study.conditions.all())))
        assert seen == [(year, 1, 1) for year in range(2000, 2007)]

    def test_stream_releases_each_study_once_the_caller_moves_on(self):
        stream = Study.objects.for_export().stream(chunk_size=3)
        first = next(stream)
        assert first._prefetched_objects_cache
        next(stream)
        assert not first._prefetched_objects_cache


class ConditionFilterTests(TestCase):
    def test_by_id_matches_by_slug_each_study_once(self):
        fibro, crohn, other = make_condition(), make_condition(), make_condition()
        both = make_study([fibro, crohn])
        one = make_study([crohn])
        make_study([other])
        by_id = Study.objects.for_any_condition_id([fibro.pk, crohn.pk])
        by_slug = Study.objects.for_any_condition([fibro.slug, crohn.slug])
        assert sorted(s.pk for s in by_id) == sorted(s.pk for s in by_slug) == [both.pk, one.pk]
