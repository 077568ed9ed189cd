"""The curated catalog: it loads, it builds reproducibly, and every fact is traceable."""

import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import TestCase

from studies import curation, grading
from studies.models import (
    BottomLine,
    Claim,
    Condition,
    EffectSummary,
    Mention,
    Outcome,
    Source,
    Study,
    StudyCondition,
)


def normalized(text):
    return " ".join(text.split())


class CatalogFixtureTests(TestCase):
    fixtures = ["catalog"]

    @classmethod
    def setUpTestData(cls):
        cls.texts = {s.slug: normalized(s.text) for s in Source.objects.all()}
        cls.documents = [re.sub(r"\s+", "", t).lower() for t in cls.texts.values() if t]

    def test_it_loads_every_model(self):
        assert Study.objects.count() == 44
        assert Condition.objects.exists() and Source.objects.count() == 11
        assert Mention.objects.count() >= Study.objects.count()
        assert (
            Outcome.objects.exists() and EffectSummary.objects.exists() and Claim.objects.exists()
        )

    def test_every_study_has_a_provenance_quote_and_a_design(self):
        for study in Study.objects.prefetch_related("mentions"):
            assert study.mentions.exists(), study.slug
            assert study.design, study.slug

    def test_no_pseudo_condition_and_studies_tied_to_none_have_none(self):
        names = list(Condition.objects.values_list("name", flat=True))
        assert not [n for n in names if curation.PSEUDO_CONDITION.search(n)]
        untagged = set(Study.objects.filter(conditions=None).values_list("slug", flat=True))
        assert untagged == {
            "cited-paper-2021-ijms-22-8429",
            "cited-paper-2021-fimmu-687806",
            "cited-paper-2009-mehy-2008-06-048",
            "cited-paper-2018-volume-4-827",
        }

    def test_condition_tags_carry_their_basis(self):
        def basis(study, condition):
            return StudyCondition.objects.get(study__slug=study, condition__slug=condition).basis

        kim = "kim-2020-ldn-chronic-pain-update-review"
        assert basis(kim, "chronic-pain") == "study"
        assert basis(kim, "fibromyalgia") == "citing"
        # Only the citing sentence "[3][4] … autoimmune diseases" names the condition.
        assert basis("cited-paper-2019-pone-0212460", "autoimmune-disease") == "citing"
        # The pharmacology update's own quote goes on to mood disorders.
        update = "pharmacology-update-ldn-nonopioid-chronic-pain-2019"
        assert basis(update, "mood-disorders") == "study"
        assert Condition.objects.get(slug="mood-disorders").category == "psychiatric"
        # The term as written, with its ambiguity noted.
        tag = StudyCondition.objects.get(
            study__slug="toljan-2018-ldn-review-therapeutic-utilization",
            condition__slug="irritable-bowel-disease",
        )
        assert tag.basis == "citing" and "irritable bowel syndrome" in tag.note
        # Clinically sensible categories.
        assert Condition.objects.get(slug="mast-cell-activation-syndrome").category != "autoimmune"

    def test_inferred_designs_carry_a_verbatim_quote(self):
        inferred = Study.objects.filter(design_basis="inferred")
        assert inferred.count() >= 10
        for study in inferred:
            assert any(normalized(study.design_quote) in text for text in self.texts.values())
        assert not Study.objects.filter(design="other", design_basis="inferred").exists()
        stanford = Study.objects.get(slug="stanford-double-blind-ldn-fibromyalgia-study")
        assert stanford.design_inferred and "placebo for 4 weeks" in stanford.design_quote

    def test_every_certainty_is_what_the_rubric_gives(self):
        for summary in EffectSummary.objects.select_related("study"):
            graded = grading.graded_certainty(summary.study.design, summary.downgrades)
            assert summary.certainty == graded, summary.study.slug
            assert "secondary_source" in summary.downgrades, summary.study.slug
        # One observational comparison known from a blog's quote: very low, not low.
        hr = Outcome.objects.get(effect_measure="HR")
        assert (hr.value, hr.ci_low, hr.ci_high) == (
            Decimal("5.04"),
            Decimal("1.22"),
            Decimal("20.77"),
        )
        assert hr.study.effect_summaries.get().certainty == "very_low"

    def test_every_outcome_has_a_domain_and_its_numbers_are_quoted(self):
        fields = curation.ESTIMATE_FIELDS
        for outcome in Outcome.objects.all():
            assert outcome.domain, outcome.pk
            stated = curation.decimals_in(outcome.figures)
            for name in fields:
                value = getattr(outcome, name)
                if value is not None:
                    assert Decimal(value) in stated, (outcome.pk, name)
        pain = Outcome.objects.get(name="Pain score reduction from baseline")
        assert (pain.domain, pain.pct_intervention, pain.pct_control) == (
            "pain",
            Decimal("28.8"),
            Decimal("18"),
        )
        response = Outcome.objects.get(name="Response in pain and either fatigue or sleep")
        assert (response.pct_intervention, response.pct_control) == (32, 11)

    def test_a_case_series_has_an_outcome_for_each_case(self):
        series = Study.objects.get(slug="ldn-chronic-fatigue-syndrome-three-case-reports-2020")
        names = list(series.outcomes.values_list("name", flat=True))
        for case in ("first case", "second case", "third case"):
            assert any(case in name for name in names), case

    def test_doses_are_structured_where_the_documents_state_them(self):
        doses = {
            s.slug: (s.dose_min_mg, s.dose_max_mg)
            for s in Study.objects.exclude(dose_min_mg=None).prefetch_related("mentions", "claims")
            if any(s.dose in q.quote for q in [*s.mentions.all(), *s.claims.all()])
        }
        assert doses == {
            "stanford-double-blind-ldn-fibromyalgia-study": (Decimal("4.5"), Decimal("4.5")),
            "pharmacology-update-ldn-nonopioid-chronic-pain-2019": (1, 5),
            "copenhagen-ldn-pain-fibromyalgia-trial": (3, 5),
            "bihari-2013-ldn-normalizing-immune-function": (Decimal("1.5"), 3),
        }

    def test_adverse_events_from_general_advice_stay_on_the_source(self):
        stanford = Study.objects.get(slug="stanford-double-blind-ldn-fibromyalgia-study")
        assert "not the trial's results" in stanford.adverse_events
        review = Study.objects.get(slug="aitcheson-2023-ldn-fibromyalgia-systematic-review")
        assert "mild side effects" in review.adverse_events.lower()
        blog = Source.objects.get(slug="blog-ldn-possibly-a-major-breakthrough")
        assert "headache" in blog.evidence_note

    def test_sources_record_what_they_say_about_the_evidence(self):
        blog = Source.objects.get(slug="blog-ldn-study-list")
        assert "49 studies" in blog.evidence_quote and "50-50" in blog.evidence_quote
        assert normalized(blog.evidence_quote) in self.texts[blog.slug]
        assert blog.evidence_note

    def test_a_bottom_line_for_every_condition_with_results(self):
        with_results = set(EffectSummary.objects.values_list("condition__slug", flat=True))
        lines = BottomLine.objects.select_related("condition").prefetch_related("studies")
        assert {line.condition.slug for line in lines} == with_results
        for line in lines:
            for study in line.studies.all():
                assert study.conditions.filter(pk=line.condition_id).exists()
        fibromyalgia = lines.get(condition__slug="fibromyalgia")
        assert "disagree" in fibromyalgia.text and fibromyalgia.certainty == "low"

    def test_slugs_carry_no_year_the_documents_do_not_give(self):
        for study in Study.objects.all():
            for year in re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)", study.slug):
                assert str(study.year) == year or year in (study.doi or ""), study.slug

    def test_every_quote_is_verbatim_text_of_its_source(self):
        for mention in Mention.objects.select_related("source"):
            assert normalized(mention.quote) in self.texts[mention.source.slug], mention.pk
        for claim in Claim.objects.select_related("source"):
            assert normalized(claim.quote) in self.texts[claim.source.slug], claim.pk
        for outcome in Outcome.objects.exclude(figures="").select_related("source"):
            assert normalized(outcome.figures) in self.texts[outcome.source.slug], outcome.pk

    def test_every_identifier_occurs_in_a_source_document(self):
        for study in Study.objects.all():
            for name in ("doi", "pmid", "pmcid", "registry_id"):
                value = getattr(study, name)
                if value:
                    assert any(value.lower() in doc for doc in self.documents), (study.slug, value)

    def test_every_year_and_sample_size_is_stated_by_the_studys_quotes(self):
        for study in Study.objects.prefetch_related("mentions"):
            quotes = " ".join(m.quote for m in study.mentions.all())
            if study.year:
                assert str(study.year) in quotes, study.slug
            if study.sample_size and study.design != "case_report":
                assert study.sample_size in curation.numbers_in(quotes + " " + study.title)

    def test_claim_verdicts_follow_the_rubric(self):
        fibromyalgia_2021 = Claim.objects.get(quote__startswith="Clinical trials for treatment")
        assert fibromyalgia_2021.verdict == "not_supported"
        press_release = Claim.objects.get(
            cited_source__slug="sciencedaily-2011-ldn-tricking-the-body"
        )
        assert press_release.verdict == "not_supported"
        assert press_release.quote.startswith("Research and case studies have demonstrated")
        inflammation = Claim.objects.get(quote__endswith="may help reduce inflammation [5]")
        assert inflammation.quote.startswith("Research and case studies")
        # A second sentence citing the same reference is a claim of its own.
        aitcheson = Study.objects.get(slug="aitcheson-2023-ldn-fibromyalgia-systematic-review")
        assert aitcheson.claims.count() == 2
        niciu = Study.objects.get(slug="niciu-2013-opioid-antagonists-alcohol-use-disorders")
        assert niciu.claims.count() == 2

    def test_outcomes_attach_to_the_conditions_of_their_study(self):
        for outcome in Outcome.objects.exclude(condition=None).select_related("study"):
            assert outcome.study.conditions.filter(pk=outcome.condition_id).exists()

    def test_questionable_claims_say_why(self):
        for claim in Claim.objects.filter(verdict__in=["misattributed", "not_supported"]):
            assert claim.note.strip(), claim.pk

    def test_a_2010_annals_of_neurology_paper_cited_as_journal_of_neuroimmunology(self):
        study = Study.objects.get(doi="10.1002/ana.22006")
        assert (study.year, study.journal) == (2010, "Ann Neurol")
        claim = study.claims.get(quote__contains="Journal of Neuroimmunology")
        assert claim.verdict == "misattributed"
        assert "Annals of Neurology" in claim.note

    def test_nothing_is_invented_for_what_the_documents_leave_out(self):
        stanford = Study.objects.get(slug="stanford-double-blind-ldn-fibromyalgia-study")
        assert stanford.year is None and stanford.journal == "" and stanford.doi is None
        assert stanford.sample_size == 31 and stanford.descriptive_title
        # Truncated identifiers are not completed.
        assert not Study.objects.filter(doi__startswith="10.1007/s00115-014-4015").exists()
        nervenarzt = Study.objects.get(slug="cited-paper-2015-nervenarzt-86-346")
        assert nervenarzt.doi is None
        # Trials announced without registry ids or dates keep them empty.
        for trial in Study.objects.filter(design="registered_trial"):
            assert trial.registry_id is None and trial.year is None

    def test_the_same_paper_cited_in_several_documents_is_one_record(self):
        younger = Study.objects.get(doi="10.1007/s10067-014-2517-2")
        assert younger.mentions.count() == 4
        assert set(younger.mentions.values_list("source__slug", flat=True)) == {
            "wikipedia-low-dose-naltrexone",
            "text2md-unveiling-the-potential-of-ldn",
        }
        titles = [normalized(t).lower() for t in Study.objects.values_list("title", flat=True)]
        assert len(titles) == len(set(titles))

    def test_news_items_and_web_pages_are_sources_not_studies(self):
        assert not Study.objects.filter(title__icontains="Reuters").exists()
        assert Source.objects.filter(kind__in=["news", "web_page"]).count() >= 6
        assert Claim.objects.filter(cited_source__slug="ldn-research-trust-hashimoto").exists()


def test_the_build_command_reproduces_the_committed_fixture():
    call_command("build_catalog", "--check")


def test_the_sources_hold_the_documents_in_fixtures_sources():
    catalog = curation.load()
    files = {s["file"] for s in catalog.sources if s.get("file")}
    assert files == {p.name for p in curation.SOURCES_DIR.glob("*.txt")}
    for source in catalog.sources:
        if source.get("file"):
            expected = (curation.SOURCES_DIR / source["file"]).read_text(encoding="utf-8")
            assert source["text"] == expected


def test_a_quote_that_is_not_in_its_source_stops_the_build():
    catalog = curation.Catalog(texts={"doc": "the quick brown fox"})
    catalog.check_quote("doc", "quick   brown", "test")
    with pytest.raises(curation.CurationError, match="not verbatim"):
        catalog.check_quote("doc", "quick red fox", "test")


def test_numbers_in_reads_digits_and_words():
    assert {31, 4} <= curation.numbers_in("Thirty one women treated for 4 weeks")
    assert 3 in curation.numbers_in("Three(3) Case Reports")
