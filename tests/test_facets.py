from urllib.parse import urlencode

from django.db import connection
from django.http import QueryDict
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from studies import facets
from studies.filters import StudyFilter
from studies.models import Study

from .factories import make_condition, make_study


def counts(summary, name):
    return {option.value: option.count for option in summary.facets[name]}


class SummaryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.crohn = make_condition(name="Crohn's disease", slug="crohns-disease")
        make_study([cls.fibro], design="rct", year=2013)
        make_study([cls.fibro, cls.crohn], design="rct", year=2019, status="ongoing")
        make_study([cls.fibro], design="case_series", year=2016)
        make_study([cls.crohn], design="rct", year=2007)
        make_study([cls.fibro], design="cohort", year=1988)
        make_study([], design="other", year=None)

    def summarise(self, query):
        return facets.compute_summary(StudyFilter(QueryDict(urlencode(query))))

    def test_each_facet_ignores_its_own_selection_and_keeps_the_others(self):
        query = {
            "condition": "fibromyalgia",
            "design": "rct",
            "year_min": "2010",
            "year_max": "2019",
            "status": "published",
        }
        summary = self.summarise(query)
        assert summary.total == 1  # the 2013 trial
        # Every facet against the set it should count, built the slow, obvious way.
        for name, without, column in [
            ("design", ("design",), "design"),
            ("status", ("status",), "status"),
            ("level", ("level",), "evidence_level"),
        ]:
            expected = {}
            for value in (
                StudyFilter(QueryDict(urlencode(query)))
                .facet_queryset(*without)
                .values_list(column, flat=True)
            ):
                expected[str(value)] = expected.get(str(value), 0) + 1
            assert {k: v for k, v in counts(summary, name).items() if v} == expected, name
        assert counts(summary, "design")["case_series"] == 1
        assert counts(summary, "status")["ongoing"] == 1
        assert counts(summary, "decade") == {"1980": 0, "1990": 0, "2000": 0, "2010": 1}
        # "none": the matching studies tied to no condition (condition=none).
        assert counts(summary, "condition") == {"crohns-disease": 0, "fibromyalgia": 1, "none": 0}

    def test_without_filters_one_query_counts_the_study_table_facets(self):
        with CaptureQueriesContext(connection) as queries:
            summary = self.summarise({})
        # The design, level, status, decade and dose band facets share one; the condition
        # facet has its own (counted over the link table).
        assert sum("GROUP BY" in q["sql"] for q in queries.captured_queries) == 2
        assert summary.total == 6
        assert counts(summary, "design")["rct"] == 3
        assert counts(summary, "condition") == {"crohns-disease": 2, "fibromyalgia": 4, "none": 1}
        assert counts(summary, "decade")["1990"] == 0  # between the first and last decades

    def test_when_nothing_matches_the_condition_facet_is_not_counted_again(self):
        with CaptureQueriesContext(connection) as queries:
            summary = self.summarise({"design": "cohort", "status": "ongoing"})
        assert summary.total == 0
        # Without a condition selected, the facet counts the results, and there are none.
        assert not any("studies_study_conditions" in q["sql"] for q in queries.captured_queries)
        assert counts(summary, "condition") == {"crohns-disease": 0, "fibromyalgia": 0, "none": 0}
        # With one selected, the facet counts without it: the other conditions' studies.
        summary = self.summarise({"condition": "crohns-disease", "design": "case_series"})
        assert summary.total == 0
        assert counts(summary, "condition") == {"crohns-disease": 0, "fibromyalgia": 1, "none": 0}

    def test_the_summary_is_cached_until_the_catalog_changes(self):
        query = {"condition": "fibromyalgia"}
        assert facets.summarise(StudyFilter(QueryDict(urlencode(query)))).total == 4
        with CaptureQueriesContext(connection) as queries:
            assert facets.summarise(StudyFilter(QueryDict(urlencode(query)))).total == 4
        assert not any("GROUP BY" in q["sql"] for q in queries.captured_queries)
        with self.captureOnCommitCallbacks(execute=True):
            make_study([self.fibro], design="rct", year=2021)
        summary = facets.summarise(StudyFilter(QueryDict(urlencode(query))))
        assert summary.total == 5
        assert counts(summary, "decade")["2020"] == 1
        assert Study.objects.for_any_condition(["fibromyalgia"]).count() == 5
