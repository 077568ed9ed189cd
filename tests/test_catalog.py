"""The curated catalog: it loads, it builds reproducibly, and every fact is traceable."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import TestCase

from studies import curation
from studies.models import Claim, Condition, EffectSummary, Mention, Outcome, Source, Study

SEEDS = Path(settings.BASE_DIR).parent / "shared" / "seeds"


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

    def test_every_study_has_a_provenance_quote_conditions_and_a_design(self):
        for study in Study.objects.prefetch_related("mentions", "conditions"):
            assert study.mentions.exists(), study.slug
            assert study.conditions.exists(), study.slug
            assert study.design, study.slug

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


def test_the_source_texts_are_the_seed_documents():
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not beside this checkout")
    for seed in SEEDS.glob("*.txt"):
        copy = curation.SOURCES_DIR / seed.name
        assert copy.read_bytes() == seed.read_bytes(), seed.name


def test_a_quote_that_is_not_in_its_source_stops_the_build():
    catalog = curation.Catalog(texts={"doc": "the quick brown fox"})
    catalog.check_quote("doc", "quick   brown", "test")
    with pytest.raises(curation.CurationError, match="not verbatim"):
        catalog.check_quote("doc", "quick red fox", "test")


def test_numbers_in_reads_digits_and_words():
    assert {31, 4} <= curation.numbers_in("Thirty one women treated for 4 weeks")
    assert 3 in curation.numbers_in("Three(3) Case Reports")
