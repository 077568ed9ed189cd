from decimal import Decimal

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import TestCase

from studies import facets
from studies.filters import StudyFilter

from .factories import make_condition, make_outcome, make_study


def run(query):
    filterset = StudyFilter(QueryDict(query))
    return filterset, list(filterset.qs.values_list("title", flat=True))


class StudyFilterTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.crohn = make_condition(name="Crohn's disease", slug="crohns-disease")
        cls.ms = make_condition(name="Multiple sclerosis", slug="multiple-sclerosis")
        cls.trial = make_study(
            [cls.fibro],
            title="Fibro trial",
            year=2013,
            design="crossover_rct",
            sample_size=31,
            authors=["Younger J"],
            journal="Arthritis Rheum",
        )
        make_outcome(cls.trial, name="Daily pain", figures="28.8% reduction (P = 0.016)")
        cls.review = make_study(
            [cls.crohn],
            title="Crohn review",
            year=2018,
            design="systematic_review",
            sample_size=None,
        )
        cls.series = make_study(
            [cls.crohn, cls.fibro],
            title="Mixed case series",
            year=2007,
            design="case_series",
            sample_size=17,
            summary="Mucosal healing in some patients.",
        )
        cls.registered = make_study(
            [cls.ms],
            title="MS registered trial",
            year=2024,
            design="registered_trial",
            status="ongoing",
            sample_size=200,
        )
        cls.undated = make_study([], title="Undated preclinical paper", design="preclinical")

    def test_no_filter_gives_every_study_newest_first_undated_last(self):
        _, titles = run("")
        assert titles == [
            "MS registered trial",
            "Crohn review",
            "Fibro trial",
            "Mixed case series",
            "Undated preclinical paper",
        ]

    def test_condition_is_or_within_the_filter_and_lists_each_study_once(self):
        _, titles = run("condition=fibromyalgia&condition=crohns-disease")
        assert titles == ["Crohn review", "Fibro trial", "Mixed case series"]

    def test_design_is_repeatable(self):
        _, titles = run("design=case_series&design=systematic_review")
        assert titles == ["Crohn review", "Mixed case series"]

    def test_condition_and_design_combine_with_and(self):
        _, titles = run("condition=crohns-disease&design=case_series")
        assert titles == ["Mixed case series"]

    def test_year_range_is_inclusive(self):
        assert run("year_min=2013")[1] == ["MS registered trial", "Crohn review", "Fibro trial"]
        assert run("year_max=2013")[1] == ["Fibro trial", "Mixed case series"]
        assert run("year_min=2013&year_max=2018")[1] == ["Crohn review", "Fibro trial"]

    def test_reversed_year_range_is_swapped(self):
        filterset, titles = run("year_min=2018&year_max=2013")
        assert titles == ["Crohn review", "Fibro trial"]
        assert filterset.canonical_params() == [("year_min", "2013"), ("year_max", "2018")]

    def test_status(self):
        assert run("status=ongoing")[1] == ["MS registered trial"]

    def test_level(self):
        assert run("level=1")[1] == ["Crohn review"]
        assert run("level=7")[1] == ["MS registered trial"]

    def test_min_n(self):
        assert run("min_n=31")[1] == ["MS registered trial", "Fibro trial"]

    def test_has_results_means_reported_outcomes(self):
        assert run("has_results=1")[1] == ["Fibro trial"]
        assert run("has_results=true")[1] == ["Fibro trial"]
        assert len(run("has_results=0")[1]) == 5

    def test_free_text_matches_title_authors_journal_summary_and_outcomes(self):
        assert run("q=review")[1] == ["Crohn review"]
        assert run("q=younger")[1] == ["Fibro trial"]
        assert run("q=arthritis")[1] == ["Fibro trial"]
        assert run("q=mucosal")[1] == ["Mixed case series"]
        assert run("q=pain")[1] == ["Fibro trial"]

    def test_sorts(self):
        assert run("sort=oldest")[1][:2] == ["Mixed case series", "Fibro trial"]
        assert run("sort=oldest")[1][-1] == "Undated preclinical paper"
        assert run("sort=largest")[1][:3] == [
            "MS registered trial",
            "Fibro trial",
            "Mixed case series",
        ]
        assert run("sort=level")[1][:3] == ["Crohn review", "Fibro trial", "Mixed case series"]
        assert run("sort=title")[1][0] == "Crohn review"

    def test_canonical_params_are_ordered_sorted_and_without_defaults(self):
        filterset, _ = run(
            "sort=newest&design=rct&condition=fibromyalgia&condition=crohns-disease&q=&min_n="
            "&condition=fibromyalgia"
        )
        assert filterset.canonical_params() == [
            ("condition", "crohns-disease"),
            ("condition", "fibromyalgia"),
            ("design", "rct"),
        ]
        assert filterset.canonical_params(page=2)[-1] == ("page", "2")

    def test_search_text_is_trimmed_and_spaces_collapsed(self):
        filterset, _ = run("q=%20%20low%20%20%20dose%20")
        assert filterset.canonical_params() == [("q", "low dose")]

    def test_sort_newest_is_kept_when_a_search_defaults_to_best_match(self):
        filterset, _ = run("q=trial&sort=newest")
        assert filterset.canonical_params() == [("q", "trial"), ("sort", "newest")]

    def test_unknown_slug_is_dropped_alone_and_reported(self):
        filterset, titles = run("condition=fibromyalgia&condition=no-such-thing")
        assert titles == ["Fibro trial", "Mixed case series"]
        assert filterset.problems() == [
            "Condition: “no-such-thing” is not in the catalog; left out."
        ]

    def test_bad_values_are_reported_and_the_rest_still_applies(self):
        filterset, titles = run("year_min=abc&min_n=99999999999999999999&design=rct&q=a%00b")
        problems = " ".join(filterset.problems())
        assert "Year from: “abc”" in problems
        assert "Smallest sample size" in problems
        # A NUL in the search is dropped, said so, and the rest searched as words.
        assert filterset.value["q"] == "a b"
        assert "control characters were removed" in " ".join(filterset.search_notes())
        assert titles == []  # design=rct still applies; no plain rct here
        assert run("design=crossover_rct&year_min=abc")[1] == ["Fibro trial"]

    def test_description_in_words(self):
        filterset, titles = run(
            "condition=fibromyalgia&design=crossover_rct&year_min=2010&year_max=2024"
        )
        assert filterset.heading(len(titles)) == (
            "Fibromyalgia · crossover randomised trials · 2010–2024 · 1 study"
        )
        assert StudyFilter(QueryDict("")).heading(5) == "All studies · 5 studies"

    def test_file_stem_names_the_filter(self):
        filterset, _ = run("condition=fibromyalgia")
        assert filterset.file_stem() == "ldn-studies-fibromyalgia"

    def test_search_comes_best_match_first_on_postgresql(self):
        if connection.vendor != "postgresql":
            pytest.skip("ranking is PostgreSQL full-text search")
        make_study(title="Fatigue in a cohort", year=2001, design="cohort")
        make_study(title="A later study", year=2022, summary="Some fatigue noted.")
        assert run("q=fatigue")[1] == ["Fatigue in a cohort", "A later study"]
        assert run("q=fatigue&sort=newest")[1] == ["A later study", "Fatigue in a cohort"]
        # websearch syntax: quoted phrases and exclusions, never a syntax error.
        assert run('q="fatigue in" -later')[1] == ["Fatigue in a cohort"]


@pytest.mark.django_db
def test_the_search_text_is_isolated_in_the_heading():
    # A right-to-left override is dropped from the search, and the text kept isolated.
    heading = StudyFilter(QueryDict("q=\u202epain")).heading(2)
    assert heading == "“\u2068pain\u2069” · 2 studies"


class DomainAndDoseFilterTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.pain = make_study(
            title="Pain trial", dose_min_mg=Decimal("4.5"), dose_max_mg=Decimal("4.5")
        )
        make_outcome(cls.pain, domain="pain")
        make_outcome(cls.pain, domain="pain")
        cls.sleep = make_study(title="Sleep trial", dose_max_mg=Decimal("0.05"))
        make_outcome(cls.sleep, domain="sleep")
        cls.none = make_study(
            title="Standard-dose trial", dose_min_mg=Decimal("50"), dose_max_mg=Decimal("50")
        )
        cls.bare = make_study(title="Dose not stated")

    def test_domain_is_repeatable_and_lists_each_study_once(self):
        assert run("domain=pain")[1] == ["Pain trial"]
        assert sorted(run("domain=pain&domain=sleep")[1]) == ["Pain trial", "Sleep trial"]

    def test_unknown_domain_is_left_out_and_reported(self):
        filterset, titles = run("domain=pain&domain=happiness")
        assert titles == ["Pain trial"]
        assert any("happiness" in p for p in filterset.problems())

    def test_dose_band(self):
        assert run("dose_band=low")[1] == ["Pain trial"]
        assert sorted(run("dose_band=ultra_low&dose_band=standard")[1]) == [
            "Sleep trial",
            "Standard-dose trial",
        ]
        assert run("dose_band=not_stated")[1] == ["Dose not stated"]

    def test_heading_and_canonical_params(self):
        filterset, _ = run("dose_band=low&domain=sleep&domain=pain")
        assert filterset.canonical_params() == [
            ("domain", "pain"),
            ("domain", "sleep"),
            ("dose_band", "low"),
        ]
        assert filterset.heading(1).startswith("Outcomes on pain or sleep · ")
        assert "low dose (1–5 mg)" in filterset.heading(1)

    def test_dose_band_facet_counts_without_its_own_selection(self):
        summary = facets.compute_summary(StudyFilter(QueryDict("dose_band=low")))
        counts = {o.value: (o.count, o.selected) for o in summary.facets["dose_band"]}
        assert counts == {
            "ultra_low": (1, False),
            "very_low": (0, False),
            "low": (1, True),
            "standard": (1, False),
            "not_stated": (1, False),
        }
        assert summary.total == 1
