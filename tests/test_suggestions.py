from html import unescape

from django.test import TestCase

from studies.search import parse
from studies.suggestions import suggest

from .factories import make_condition, make_study


class SuggestionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia", synonyms=["FMS"])
        make_study(
            [cls.fibro],
            title="Naltrexone for fibromyalgia",
            authors=["Younger J", "Mackey S"],
            journal="Pain Medicine",
        )
        make_study([], title="Crohn's disease and naltrexone", authors=["Smith JP"])

    def test_a_misspelt_search_is_corrected_from_the_catalogs_words(self):
        assert suggest(parse("fibromialgia"), 0).corrected == "fibromyalgia"
        assert suggest(parse("naltrxone youngr"), 0).corrected == "naltrexone younger"
        assert suggest(parse('"pian medicine" -crohn'), 0).corrected == '"pain medicine" -crohn'

    def test_no_suggestion_when_enough_is_found_or_nothing_is_close(self):
        assert suggest(parse("fibromialgia"), 10).corrected == ""
        assert suggest(parse("fibromyalgia"), 0).corrected == ""
        assert suggest(parse("zzzzqqqq"), 0).corrected == ""

    def test_a_search_that_names_a_condition_offers_it(self):
        assert suggest(parse("fibromyalgia"), 5).condition == ("fibromyalgia", "Fibromyalgia")
        assert suggest(parse("fms"), 5).condition == ("fibromyalgia", "Fibromyalgia")
        assert suggest(parse("fibromialgia"), 0).condition == ("fibromyalgia", "Fibromyalgia")
        assert suggest(parse("crohn"), 5).condition == ()

    def test_the_page_links_to_the_corrected_search_and_the_condition(self):
        html = unescape(self.client.get("/studies/?q=fibromialgia&design=rct").content.decode())
        assert 'Did you mean <a href="/studies/?q=fibromyalgia&design=rct"' in html
        assert '<a href="/conditions/fibromyalgia/">the condition\'s page</a>' in html
        # The search was the condition's name, misspelt: its filter replaces the search,
        # which found nothing (and would find nothing among the condition's studies).
        assert 'href="/studies/?condition=fibromyalgia&design=rct"' in html

    def test_a_condition_named_by_one_word_of_the_search_keeps_the_search(self):
        html = unescape(self.client.get("/studies/?q=fms+mackey").content.decode())
        assert '<a href="/studies/?q=fms+mackey&condition=fibromyalgia">show only' in html
        assert suggest(parse("fms mackey"), 1).condition_is_search is False
        assert suggest(parse("fibromialgia"), 0).condition_is_search is True
        # A search that also leaves something out is more than the condition's name.
        assert suggest(parse("fibromyalgia -mackey"), 0).condition_is_search is False
