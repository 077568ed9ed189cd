"""The word search: the same cases on SQLite and on PostgreSQL (run the file with
DATABASE_URL pointing at PostgreSQL for the second), and the index kept in step."""

import re
from unittest.mock import patch

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.http import QueryDict
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from studies import facets
from studies.caching import for_this_version
from studies.filters import StudyFilter
from studies.importers import import_bibtex
from studies.models import Condition, Study
from studies.search import parse
from studies.search_index import ensure_installed
from tests.factories import make_condition, make_outcome, make_study


class ParseTests(TestCase):
    def test_words_phrases_exclusions_and_prefix(self):
        parsed = parse('LDN "low dose" -crohn fibrom')
        assert [(t.words, t.negated, t.prefix) for t in parsed.terms] == [
            (("ldn",), False, False),
            (("low", "dose"), False, False),
            (("crohn",), True, False),
            (("fibrom",), False, True),
        ]
        assert parsed.notes == []

    def test_operators_are_words_or_ignored_never_syntax(self):
        parsed = parse('pain NEAR fatigue title:sleep ^x a* & | ! "unclosed')
        assert parsed.words() == ["pain", "near", "fatigue", "title", "sleep", "x", "unclosed"]
        assert any("unmatched quotation mark" in note for note in parsed.notes)
        assert any("Symbols" in note for note in parsed.notes)
        # Quoted phrases only, so FTS5 reads no operator; tsquery quotes every word.
        assert parsed.fts5().count('"') % 2 == 0
        assert re.fullmatch(r"[\w'():*<>&! -]+", parsed.tsquery())

    def test_nothing_to_search(self):
        for text in ["!!! ***", '"', "the of", "-pain"]:
            parsed = parse(text)
            assert not parsed, text
            assert parsed.notes, text

    def test_common_words_at_the_ends_of_a_phrase_are_dropped_and_named(self):
        parsed = parse('"of low dose" pain\'s "naltrexone in the"')
        assert [t.words for t in parsed.terms] == [("low", "dose"), ("pain",), ("naltrexone",)]
        assert parse('"effect of naltrexone"').terms[0].words == ("effect", "of", "naltrexone")
        assert "Very common words were not searched for: “of”, “s”, “in”, “the”." in parsed.notes

    def test_a_doi_link_is_searched_as_its_doi(self):
        assert parse("https://doi.org/10.1000/ABC.12").words() == ["10", "1000", "abc", "12"]
        # Its "https:" is not a symbol the search ignored.
        assert parse("https://doi.org/10.1000/ABC.12").notes == []
        assert parse("doi:10.1000/abc pain").notes == []
        assert parse("https://doi.org/10.1000/ABC.12 title:pain").notes != []

    def test_an_identifier_label_is_not_searched_for(self):
        for text, words in [
            ("doi: 10.1000/ABC.12", ["10", "1000", "abc", "12"]),
            ("PMID: 23359310", ["23359310"]),
            ("PMCID:PMC3962576", ["pmc3962576"]),
            ("https://pmc.ncbi.nlm.nih.gov/articles/PMC3962576/", ["pmc3962576"]),
            ("https://www.ncbi.nlm.nih.gov/pmc/articles/PMC3962576", ["pmc3962576"]),
        ]:
            parsed = parse(text)
            assert parsed.words() == words, text
            assert parsed.notes == [], text
        # Only as the label of an identifier: otherwise the word itself is searched for.
        assert parse("pmid doi").words() == ["pmid", "doi"]
        assert parse("PMID: pain").words() == ["pmid", "pain"]


class SearchSemanticsTests(TestCase):
    """Each case means the same on both databases."""

    @classmethod
    def setUpTestData(cls):
        cls.fibromyalgia = make_condition(
            name="Fibromyalgia", slug="fibromyalgia", synonyms=["FMS", "fibrositis"]
        )
        cls.crohns = make_condition(name="Crohn's disease", slug="crohns-disease")
        cls.stanford = make_study(
            title="Low-dose naltrexone for the treatment of fibromyalgia",
            authors=["Younger J", "Noor N", "McCue R", "Mackey S"],
            journal="Arthritis and Rheumatism",
            year=2013,
            doi="10.1002/art.37734",
            pmid="23359310",
            summary="A crossover trial: pain fell more on LDN than on placebo.",
            conditions=[cls.fibromyalgia],
        )
        cls.pilot = make_study(
            title="A pilot study of LDN",
            authors=["Younger J", "Zautra A"],
            year=2009,
            registry_id="NCT00568555",
            conditions=[cls.fibromyalgia],
        )
        make_outcome(cls.pilot, name="Pain", figures="Symptoms fell by 30% versus placebo")
        cls.crohn_trial = make_study(
            title="Naltrexone in active Crohn's disease",
            authors=["Smith JP"],
            year=2007,
            summary="Dose of 4.5 mg nightly; 89% responded.",
            conditions=[cls.crohns],
        )
        cls.unrelated = make_study(title="Something else entirely", year=2020)

    def found(self, text, sort="title"):
        return [s.pk for s in Study.objects.search(text).sorted_by(sort)]

    def ids(self, *studies):
        return sorted((s.pk for s in studies), key=lambda pk: Study.objects.get(pk=pk).title)

    def test_every_word_must_match_in_any_field(self):
        # "fibromyalgia" is in the pilot's condition only; "naltrexone" only in the title.
        assert self.found("naltrexone fibromyalgia") == [self.stanford.pk]
        assert self.found("LDN fibromyalgia") == self.ids(self.stanford, self.pilot)
        assert self.found("Younger Mackey") == [self.stanford.pk]
        assert self.found("LDN pain placebo") == self.ids(self.stanford, self.pilot)

    def test_condition_synonyms(self):
        assert self.found("fibrositis") == self.ids(self.stanford, self.pilot)
        assert self.found("FMS pilot") == [self.pilot.pk]

    def test_identifiers_pasted_into_the_box(self):
        assert self.found("10.1002/art.37734") == [self.stanford.pk]
        assert self.found("https://doi.org/10.1002/ART.37734") == [self.stanford.pk]
        assert self.found("23359310") == [self.stanford.pk]
        assert self.found("NCT00568555") == [self.pilot.pk]

    def test_identifiers_pasted_with_their_label_or_as_a_record_link(self):
        # As PubMed prints them ("doi: 10.…. PMID: …") and as the study page links them.
        assert self.found("doi: 10.1002/art.37734.") == [self.stanford.pk]
        assert self.found("PMID: 23359310") == [self.stanford.pk]
        assert self.found("pmid:23359310") == [self.stanford.pk]
        assert self.found("https://pubmed.ncbi.nlm.nih.gov/23359310/") == [self.stanford.pk]
        assert self.found("https://clinicaltrials.gov/study/NCT00568555") == [self.pilot.pk]
        assert self.found("https://clinicaltrials.gov/ct2/show/NCT00568555?term=ldn") == [
            self.pilot.pk
        ]

    def test_stemming_and_prefix_on_the_last_word(self):
        assert self.found("responds") == [self.crohn_trial.pk]  # "responded"
        assert self.found("treatments fibrom") == [self.stanford.pk]
        assert self.found("fibrom treatments") == []  # only the last word is a prefix

    def test_phrases_and_exclusion(self):
        assert self.found('"crossover trial"') == [self.stanford.pk]
        assert self.found('"trial crossover"') == []
        assert self.found("younger -mackey") == [self.pilot.pk]
        assert self.found('placebo -"crossover trial"') == [self.pilot.pk]

    def test_common_words_at_either_end_of_a_phrase_are_left_out(self):
        # PostgreSQL drops them there; SQLite searched them as written, so a phrase such
        # as "of the treatment" or a possessive found studies on one database only.
        assert self.found('"for the treatment of"') == [self.stanford.pk]
        assert self.found('"the crossover trial"') == [self.stanford.pk]
        assert self.found("fibromyalgia's") == self.ids(self.stanford, self.pilot)
        assert self.found("LDN's pilot") == [self.pilot.pk]
        # Between other words they stay: the phrase keeps its words apart.
        assert self.found('"naltrexone for the treatment"') == [self.stanford.pk]
        assert self.found('"naltrexone treatment"') == []

    def test_figures_and_outcomes(self):
        assert self.found("symptoms 30") == [self.pilot.pk]
        assert self.found("4.5 mg") == [self.crohn_trial.pk]

    def test_operators_are_plain_words(self):
        assert self.found("fibromyalgia NEAR") == []
        assert self.found("title:naltrexone") == []  # "title" is a word no study has
        assert self.found("naltrexone*") == self.ids(self.stanford, self.crohn_trial)
        assert self.found("(naltrexone | crohn)") == [self.crohn_trial.pk]
        assert self.found("!crohn & ^active") == [self.crohn_trial.pk]

    def test_accents_folded_on_both_databases(self):
        # FTS5 folds accents (remove_diacritics 2); PostgreSQL did not, so "Muller" found
        # Müller's study on SQLite only.
        study = make_study(
            title="Naltrexone in Sjögren's syndrome",
            authors=["Müller K", "Behçet A"],
            conditions=[make_condition(name="Sjögren's syndrome", synonyms=["naïve"])],
        )
        for text in ["Muller", "müller", "Sjogren syndrome", "SJÖGREN", "behcet", "naive"]:
            assert self.found(text) == [study.pk], text

    def test_compatibility_forms_and_combining_accents(self):
        # A ligature, full-width letters, an accent typed as a combining mark (NFD): the
        # letters they stand for. They split words, or matched nothing, on both databases.
        study = make_study(title="Fibromyalgia and itch", authors=["Müller K"])
        for text in ["\ufb01bromyalgia itch", "ＩＴＣＨ", "Mu\u0308ller", "mu\u0308ller itch"]:
            assert self.found(text) == [study.pk], text

    def test_one_stemmer_on_both_databases(self):
        # Porter on both: PostgreSQL's 'english' (Snowball) stemmed "related" and
        # "relative" alike, FTS5's Porter apart; and stemmed words that are stop words
        # ("others": "other") were left out of PostgreSQL's documents, not SQLite's.
        related = make_study(title="Itch related to naltrexone", year=2001)
        other = make_study(title="Dreams", summary="No other harm was seen.", year=2002)
        assert self.found("relative itch") == []  # not the last word: no prefix
        assert self.found("relating itch") == [related.pk]
        assert self.found("others") == [other.pk]
        assert self.found('"other harms"') == [other.pk]

    def test_best_match_first(self):
        # A title match ranks above an outcome-only match, on both databases.
        outcome_only = make_study(title="A cohort", year=2024)
        make_outcome(outcome_only, name="Insomnia")
        in_title = make_study(title="Insomnia and LDN", year=2001)
        assert self.found("insomnia", sort="relevance") == [in_title.pk, outcome_only.pk]
        assert self.found("insomnia", sort="newest") == [outcome_only.pk, in_title.pk]


class IndexInStepTests(TestCase):
    """Every write path updates the index: it is kept by database triggers."""

    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition(name="Long COVID", slug="long-covid", synonyms=["PASC"])
        cls.study = make_study(title="An open-label study", conditions=[cls.condition])

    def found(self, text):
        return list(Study.objects.search(text).values_list("pk", flat=True))

    def test_condition_rename_and_synonym_edit(self):
        assert self.found("pasc") == [self.study.pk]
        Condition.objects.filter(pk=self.condition.pk).update(
            name="Post-COVID condition", synonyms=["post-acute sequelae"]
        )
        assert self.found("pasc") == []
        assert self.found("sequelae") == [self.study.pk]

    def test_links_outcomes_and_deletes(self):
        self.study.conditions.clear()
        assert self.found("covid") == []
        outcome = make_outcome(self.study, name="Fatigue", figures="MFI fell")
        assert self.found("mfi") == [self.study.pk]
        outcome.delete()
        assert self.found("mfi") == []
        Study.objects.filter(pk=self.study.pk).update(pmid="999")
        assert self.found("999") == [self.study.pk]
        self.study.delete()
        assert self.found("open") == []

    def test_bibtex_import(self):
        import_bibtex(
            "@article{x, title = {Naltrexone and itch}, author = {Quux, Ada},"
            " doi = {10.1000/itch}, year = {2019}, keywords = {Long COVID}}\n"
            "@article{y, title = {Naltrexone and hives}, author = {Roe, Ben}, year = {2020}}\n",
            "itch.bib",
        )
        study = Study.objects.get(doi="10.1000/itch")
        assert self.found("quux itch") == [study.pk]
        assert self.found("10.1000/itch") == [study.pk]
        # Its condition link is indexed too (written after the study, in the same import).
        assert study.pk in self.found("pasc")
        assert self.found("roe hives") == [Study.objects.get(title__contains="hives").pk]
        # The triggers are in place again: a later edit is indexed at once.
        Study.objects.filter(pk=study.pk).update(title="Naltrexone and pruritus")
        assert self.found("pruritus") == [study.pk]

    def test_an_import_that_fails_leaves_the_index_kept_in_step(self):
        # The importer pauses the SQLite triggers inside its transaction: a failure
        # half-way rolls the pause back with the rows, and later writes are indexed.
        with (
            patch("studies.bulk_writes.copy_to_history", side_effect=DatabaseError("injected")),
            pytest.raises(DatabaseError),
        ):
            import_bibtex("@article{x, title = {Naltrexone and itch}, year = {2019}}\n", "x.bib")
        assert not Study.objects.filter(title__contains="itch").exists()
        make_study(title="Naltrexone for pruritus")
        assert len(self.found("pruritus")) == 1


@pytest.mark.django_db
def test_loaddata_fills_the_index():
    call_command("loaddata", "catalog", verbosity=0)
    # The cases of issue 11, on the curated catalog.
    stanford = Study.objects.get(title__startswith="Stanford double-blind")
    assert stanford in Study.objects.search("Younger Mackey")
    assert stanford in Study.objects.search("naltrexone fibromyalgia")
    # "fibromyalgia" finds every study of the condition, through its name.
    fibromyalgia = set(Study.objects.for_any_condition(["fibromyalgia"]))
    assert len(fibromyalgia) > 1
    assert fibromyalgia <= set(Study.objects.search("fibromyalgia"))


BAD_INPUT = [
    "!!!",
    '"unbalanced',
    'a "b" "',
    "pain NEAR/2 fatigue",
    "*",
    "^pain",
    "title:pain",
    "pain & fatigue | sleep",
    "!pain",
    "pain:*",
    "x" * 300,
    "pain " * 60,
    "pa\x00in",
    "\x07\x1b[31m",
    "\u202epain\u202c",
    "'; DROP TABLE studies_study; --",
    "AND OR NOT",
    "-",
    "\u200b",
    "(((",
]


class BadInputTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        make_study(title="Pain and fatigue", conditions=[make_condition(name="Fibromyalgia")])

    def test_never_an_error_and_the_page_says_what_was_ignored(self):
        for text in BAD_INPUT:
            response = self.client.get("/studies/", {"q": text}, follow=True)
            assert response.status_code == 200, text
            html = response.content.decode()
            assert "syntax" not in html.lower(), text
            assert "fts5" not in html.lower(), text
        html = self.client.get("/studies/", {"q": "pain & fatigue"}).content.decode()
        assert "Symbols such as" in html
        assert "1 study" in html
        html = self.client.get("/studies/", {"q": "pain " * 60}).content.decode()
        assert "Only the first 200 characters were searched" in html
        html = self.client.get("/studies/", {"q": "pa\x00in"}).content.decode()
        assert "control characters were removed" in html

    def test_exports_take_the_same_text(self):
        for text in BAD_INPUT:
            response = self.client.get("/studies.csv", {"q": text})
            assert response.status_code == 200, text
            b"".join(response.streaming_content)


class SqliteTableRebuildTests(TestCase):
    """Django alters a SQLite table by rebuilding it, which drops its triggers: after
    ``migrate``, the missing triggers are put back and the index rebuilt."""

    def test_missing_triggers_are_restored_and_the_index_rebuilt(self):
        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL keeps triggers when a table is altered")
        study = make_study(title="Itch after naltrexone")
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER studies_search_study_update")
            cursor.execute("DELETE FROM studies_search")
        Study.objects.filter(pk=study.pk).update(title="Sleep after naltrexone")
        assert not Study.objects.search("sleep").exists()
        ensure_installed(using="default")
        assert list(Study.objects.search("sleep")) == [study]
        Study.objects.filter(pk=study.pk).update(title="Dreams after naltrexone")
        assert list(Study.objects.search("dreams")) == [study]


class SearchFacetTests(TestCase):
    """The list's counts for a search: the condition facet and its "none" (the matching
    studies tied to no condition) come from one pass over the matches."""

    @classmethod
    def setUpTestData(cls):
        cls.fibromyalgia = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.crohns = make_condition(name="Crohn's disease", slug="crohns-disease")
        make_study([cls.fibromyalgia, cls.crohns], title="Pain after naltrexone", design="rct")
        make_study([cls.fibromyalgia], title="Pain and sleep", design="cohort")
        make_study([], title="Pain in the clinic", design="rct")
        make_study([cls.crohns], title="Remission of Crohn's disease", design="rct")
        make_study([], title="Itch", design="other")

    def summarise(self, query):
        return facets.compute_summary(StudyFilter(QueryDict(query)))

    def test_condition_counts_and_the_untagged_in_one_query(self):
        with CaptureQueriesContext(connection) as queries:
            summary = self.summarise("q=pain")
        assert summary.total == 3
        conditions = {option.value: option.count for option in summary.facets["condition"]}
        # A study with two conditions counts once under each; one with none under "none".
        assert conditions == {"crohns-disease": 1, "fibromyalgia": 2, "none": 1}
        designs = {option.value: option.count for option in summary.facets["design"]}
        assert designs["rct"] == 2 and designs["cohort"] == 1
        link_queries = [q["sql"] for q in queries.captured_queries if "conditions" in q["sql"]]
        assert len(link_queries) == 1
        assert "NOT EXISTS" not in link_queries[0]

    def test_a_search_that_finds_nothing_counts_no_conditions_and_caches_no_rows(self):
        with (
            CaptureQueriesContext(connection) as queries,
            patch("studies.views.for_this_version", wraps=for_this_version) as cached,
        ):
            response = self.client.get("/studies/", {"q": "fibromialgia"})
        assert "No study matches this filter" in response.content.decode()
        assert "Did you mean" in response.content.decode()
        assert not any("studies_study_conditions" in q["sql"] for q in queries.captured_queries)
        assert [name for (name, _), _ in cached.call_args_list if name.startswith("page:")] == []

    def test_with_another_filter(self):
        summary = self.summarise("q=pain&design=rct")
        assert summary.total == 2
        conditions = {option.value: option.count for option in summary.facets["condition"]}
        assert conditions == {"crohns-disease": 1, "fibromyalgia": 1, "none": 1}


class SqliteSearchIndexesTests(TestCase):
    """Migration 0018: the ranked search reads each match's year and creation time from a
    narrow index, and the suggestions read the distinct journals from one."""

    def plan(self, queryset):
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return " | ".join(row[3] for row in cursor.fetchall())

    def test_the_planner_takes_them(self):
        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL has its own indexes (migration 0016)")
        for n in range(20):
            make_study(title=f"Pain after naltrexone {n}", journal=f"Pain {n % 3}")
        # With statistics, as after any bulk load (README: "run ANALYZE"): without them
        # SQLite looks a match's study up by its row id.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        ranked = Study.objects.search("pain").sorted_by("relevance").values_list("pk")
        assert "COVERING INDEX study_search_order_idx (id=?)" in self.plan(ranked)
        journals = Study.objects.order_by().values_list("journal", flat=True).distinct()
        assert "COVERING INDEX study_journal_sqlite_idx" in self.plan(journals)
