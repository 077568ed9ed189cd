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
        # The studies, then 6 prefetches for each chunk (conditions and their tags apart).
        with self.assertNumQueries(1 + 3 * 6):
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


class SearchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.by_title = make_study(title="Fatigue after naltrexone", year=2001)
        cls.by_authors = make_study(title="A cohort", authors=["Fatigue, Ann"], year=2002)
        cls.by_summary = make_study(title="A trial", summary="Less fatigue reported.", year=2003)
        cls.by_journal = make_study(title="Another trial", journal="Fatigue Journal", year=2004)
        cls.by_outcome = make_study(title="Outcome only", year=2005)
        make_outcome(cls.by_outcome, name="Fatigue severity scale")
        make_outcome(cls.by_outcome, name="Fatigue (VAS)")  # two matching outcomes, one study
        cls.by_figures = make_study(title="Figures only", year=2006)
        make_outcome(cls.by_figures, name="Energy", figures="fatigue fell by 2 points")
        make_outcome(make_study(title="Unrelated", year=2007), name="Pain")

    def found(self, text):
        return list(Study.objects.search(text).sorted_by("oldest"))

    def test_every_searched_field_finds_its_study_once(self):
        assert self.found("fatigue") == [
            self.by_title,
            self.by_authors,
            self.by_summary,
            self.by_journal,
            self.by_outcome,
            self.by_figures,
        ]

    def test_a_change_is_searchable_at_once(self):
        self.by_outcome.outcomes.update(name="Sleep")
        Study.objects.filter(pk=self.by_title.pk).update(title="Sleep after naltrexone")
        assert self.by_outcome not in self.found("fatigue")
        assert self.by_title not in self.found("fatigue")
        assert self.found("sleep") == [self.by_title, self.by_outcome]

    def test_no_match_is_empty(self):
        assert self.found("dyspnoea") == []
