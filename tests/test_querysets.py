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
