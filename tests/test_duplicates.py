from django.test import TestCase

from studies.duplicates import (
    TitleIndex,
    identifier_duplicates,
    normalised_title,
    title_duplicates,
)
from studies.models import Study
from tests.factories import make_study


class DuplicateTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.existing = make_study(
            title="Low-dose naltrexone for fibromyalgia: a randomised trial",
            year=2013,
            doi="10.1000/ldn.1",
        )

    def test_the_same_identifier_is_a_duplicate(self):
        candidate = Study(title="Something else", doi="10.1000/ldn.1")
        assert identifier_duplicates(candidate) == [("doi", self.existing)]

    def test_a_near_identical_title_of_the_same_year_is_a_duplicate(self):
        candidate = Study(
            title="Low dose naltrexone for fibromyalgia - a randomized trial", year=2013
        )
        assert title_duplicates(candidate) == [self.existing]

    def test_another_year_or_another_title_is_not(self):
        assert title_duplicates(Study(title=self.existing.title, year=2014)) == []
        assert title_duplicates(Study(title="Naltrexone in Crohn's disease", year=2013)) == []

    def test_a_study_is_not_its_own_duplicate(self):
        assert identifier_duplicates(self.existing) == []
        assert title_duplicates(self.existing) == []

    def test_titles_are_compared_without_case_punctuation_or_spacing(self):
        assert normalised_title("LDN in  Fibromyalgia.") == "ldn in fibromyalgia"


class TitleIndexTests(TestCase):
    def test_the_same_title_first_then_the_most_similar_of_the_year(self):
        index = TitleIndex()
        index.add("Low-dose naltrexone for fibromyalgia", 2013, "a")
        index.add("Low-dose naltrexone for fibromyalgia: a pilot", 2013, "b")
        index.add("Low-dose naltrexone for fibromyalgia", 2014, "c")
        assert index.find("low dose naltrexone for fibromyalgia.", 2013) == "a"
        assert index.find("Low-dose naltrexone for fibromyalgia: a pilot.", 2013) == "b"
        assert index.find("Low-dose naltrexone in fibromyalgia", 2014) == "c"
        assert index.find("Naltrexone for Crohn's disease", 2013) is None
        assert index.find("Low-dose naltrexone for fibromyalgia", 2015) is None
        assert index.matches("Low dose naltrexone for fibromyalgia - a pilot", 2013) == ["b"]
        assert index.matches("Low-dose naltrexone in fibromyalgia", 2014) == ["c"]

    def test_titles_that_differ_in_their_numbers_are_different(self):
        index = TitleIndex()
        index.add("Low-dose naltrexone trial, part 1", 2013, "one")
        assert index.find("Low-dose naltrexone trial, part 2", 2013) is None
        assert index.find("Low dose naltrexone trial - part 1.", 2013) == "one"

    def test_find_or_add_adds_only_what_matches_nothing(self):
        index = TitleIndex()
        assert index.find_or_add("Low-dose naltrexone trial, part 1", 2013, "one") is None
        assert index.find_or_add("Low dose naltrexone trial - part 1.", 2013, "again") == "one"
        assert index.find_or_add("Low-dose naltrexone trial, part 1.", 2013, "near") == "one"
        assert index.find_or_add("Low-dose naltrexone trial, part 2", 2013, "two") is None
        assert index.find("Low-dose naltrexone trial, part 2", 2013) == "two"
        assert index.matches("Low-dose naltrexone trial, part 1", 2013) == ["one"]
