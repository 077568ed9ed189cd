from django.test import TestCase

from studies.models import Condition, EffectSummary, Study

from .factories import make_condition, make_effect_summary, make_outcome, make_study


class ConditionFilterTests(TestCase):
    def test_by_id_matches_by_slug_each_study_once(self):
        fibro, crohn, other = make_condition(), make_condition(), make_condition()
        both = make_study([fibro, crohn])
        one = make_study([crohn])
        make_study([other])
        by_id = Study.objects.for_any_condition_id([fibro.pk, crohn.pk])
        by_slug = Study.objects.for_any_condition([fibro.slug, crohn.slug])
        assert sorted(s.pk for s in by_id) == sorted(s.pk for s in by_slug) == [both.pk, one.pk]

    def test_studies_tied_to_no_condition_are_counted_either_way(self):
        fibro, crohn = make_condition(), make_condition()
        make_study([fibro, crohn], design="rct")  # two links, one study
        make_study([crohn], design="cohort")
        make_study([], design="rct")
        make_study([], design="cohort")
        make_study([], design="cohort")
        # Every study: all less the linked ones; a filtered set: NOT EXISTS.
        assert Study.objects.count_without_conditions() == 3
        assert Study.objects.filter(design="cohort").count_without_conditions() == 2
        assert Study.objects.filter(design="rct").count_without_conditions() == 1


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


class ConditionPageQueryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro, cls.crohn, cls.unused = make_condition(), make_condition(), make_condition()
        cls.trial = make_study([cls.fibro], design="rct", year=2010, adverse_events="Nausea")
        cls.review = make_study([cls.fibro, cls.crohn], design="meta_analysis", year=2020)
        cls.ongoing = make_study([cls.fibro], design="registered_trial", status="ongoing")
        cls.report = make_study([cls.crohn], design="case_report", year=2015)
        for study in (cls.trial, cls.review, cls.report):
            make_effect_summary(study, cls.fibro if study != cls.report else cls.crohn)

    def test_level_counts_count_ongoing_and_harms_per_level(self):
        counts = Study.objects.counted_for_any_condition_id([self.fibro.pk]).level_counts()
        assert counts == {
            1: {"n": 1, "ongoing": 0, "harms": 0},
            2: {"n": 1, "ongoing": 0, "harms": 1},
            7: {"n": 1, "ongoing": 1, "harms": 0},
        }

    def test_related_studies_share_a_condition_strongest_first(self):
        review = Study.objects.prefetch_related("conditions").get(pk=self.review.pk)
        related = list(Study.objects.related_to(review))
        assert related == [self.trial, self.report, self.ongoing]
        alone = make_study()
        assert list(Study.objects.related_to(alone)) == []

    def test_findings_come_strongest_first_with_how_many_there_are(self):
        findings = EffectSummary.objects.findings(self.fibro)
        assert [summary.study for summary in findings] == [self.review, self.trial]
        rows, total = findings.first_with_total(1)
        assert [summary.study for summary in rows] == [self.review]
        assert total == 2  # the review and the trial; the case report is not one
        assert EffectSummary.objects.findings(self.unused).first_with_total(1) == ([], 0)

    def test_condition_index_counts_studies_and_best_level(self):
        counts = {
            c.pk: (c.study_count, c.best_level) for c in Condition.objects.with_study_counts()
        }
        assert counts[self.fibro.pk] == (3, 1)
        assert counts[self.crohn.pk] == (2, 1)
        assert counts[self.unused.pk] == (0, None)

    def test_condition_evidence_sections(self):
        evidence = self.fibro.evidence(section_size=1)
        assert evidence["total"] == 3
        assert evidence["findings"]["total"] == 2 and len(evidence["findings"]["rows"]) == 1
        assert evidence["ongoing"] == {"rows": [self.ongoing], "total": 1}
        assert evidence["harms"]["rows"] == [self.trial] and evidence["harms"]["total"] == 1
        assert evidence["strongest"] == [self.review, self.trial, self.ongoing]
