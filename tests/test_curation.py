"""The build's curation rules (docs/curation.md): each refuses bad input, naming the record."""

import copy

import pytest

from studies import curation, grading

TEXT = (
    "Efficacy of LDN for Fibromyalgia [2020]. Twenty women took 4.5 mg daily or placebo. "
    "The relative hazard was 5.04 (95% CI, 1.22-20.77; P = 0.02). Pain fell 28.8% versus 18% "
    "(P=.045). Cited as [3] for autoimmune diseases. we have 49 studies"
)


def catalog(**study_changes):
    study = {
        "slug": "efficacy-ldn-fibromyalgia-2020",
        "title": "Efficacy of LDN for Fibromyalgia",
        "year": 2020,
        "design": "rct",
        "design_basis": "inferred",
        "design_quote": "Twenty women took 4.5 mg daily or placebo.",
        "sample_size": 20,
        "dose": "4.5 mg daily",
        "dose_min_mg": 4.5,
        "dose_max_mg": 4.5,
        "conditions": [
            {"slug": "fibromyalgia", "basis": "study"},
            {"slug": "autoimmune-disease", "basis": "citing"},
        ],
        "mentions": [
            {"source": "doc", "quote": "Efficacy of LDN for Fibromyalgia [2020]."},
            {"source": "doc", "quote": "Twenty women took 4.5 mg daily or placebo."},
        ],
        "outcomes": [
            {
                "name": "Improvement",
                "condition": "fibromyalgia",
                "domain": "symptoms",
                "direction": "improved",
                "source": "doc",
                "figures": "The relative hazard was 5.04 (95% CI, 1.22-20.77; P = 0.02).",
                "effect_measure": "HR",
                "value": 5.04,
                "ci_low": 1.22,
                "ci_high": 20.77,
                "p_value": 0.02,
            },
            {
                "name": "Pain",
                "condition": "fibromyalgia",
                "domain": "pain",
                "direction": "improved",
                "source": "doc",
                "figures": "Pain fell 28.8% versus 18% (P=.045).",
                "effect_measure": "pct_change",
                "pct_intervention": 28.8,
                "pct_control": 18,
                "p_value": 0.045,
            },
        ],
        "effect_summaries": [
            {
                "condition": "fibromyalgia",
                "verdict": "benefit",
                "certainty": "very_low",
                "downgrades": ["single_study", "secondary_source", "small_sample"],
            }
        ],
    }
    study.update(study_changes)
    built = curation.Catalog(
        conditions=[
            {"slug": "fibromyalgia", "name": "Fibromyalgia", "category": "pain"},
            {"slug": "autoimmune-disease", "name": "Autoimmune diseases", "category": "autoimmune"},
        ],
        sources=[{"slug": "doc", "evidence_quote": "we have 49 studies"}],
        studies=[study],
        bottom_lines=[
            {
                "condition": "fibromyalgia",
                "text": "No controlled evidence yet.",
                "certainty": "very_low",
                "studies": ["efficacy-ldn-fibromyalgia-2020"],
                "reviewed": "2026-11-30",
            }
        ],
        texts={"doc": TEXT},
    )
    return built


def outcome(**changes):
    changed = copy.deepcopy(catalog())
    changed.studies[0]["outcomes"][0].update(changes)
    return changed


def refused(built, message):
    with pytest.raises(curation.CurationError, match=message):
        curation._check(built)


def test_a_catalog_that_follows_the_rules_builds():
    curation._check(catalog())


def test_a_pseudo_condition_is_refused():
    built = catalog()
    built.conditions.append(
        {"slug": "not-stated", "name": "Condition not stated", "category": "other"}
    )
    refused(built, "condition “not-stated”: “Condition not stated” names no condition")
    built.conditions[-1]["name"] = "Several conditions (broad reviews)"
    refused(built, "names no condition")


def test_a_condition_tag_without_basis_is_refused():
    refused(
        catalog(conditions=[{"slug": "fibromyalgia"}]),
        "study “efficacy-ldn-fibromyalgia-2020”: the tag “fibromyalgia” has no basis",
    )
    refused(catalog(conditions=["fibromyalgia"]), "must be")
    refused(catalog(conditions=[{"slug": "fibromyalgia", "basis": "guess"}]), "has no basis")


def test_a_study_tied_to_no_condition_says_so():
    built = catalog(conditions=[], effect_summaries=[], outcomes=[])
    built.bottom_lines = []
    curation._check(built)
    del built.studies[0]["conditions"]
    refused(built, "write \\[\\] for a study tied to none")


def test_an_effect_summary_needs_the_study_itself_to_name_the_condition():
    built = catalog()
    built.studies[0]["effect_summaries"][0]["condition"] = "autoimmune-disease"
    refused(built, "effect summary for “autoimmune-disease”: the study itself must name")


def test_an_inferred_design_without_its_quote_is_refused():
    refused(catalog(design_quote=""), "efficacy-ldn-fibromyalgia-2020”: an inferred design needs")
    refused(catalog(design_basis=None), "the design needs a basis")
    refused(catalog(design_quote="Forty women took part."), "verbatim text of no source")
    refused(catalog(design="other", design_basis="inferred"), "takes no basis")


def test_a_certainty_above_its_ceiling_is_refused():
    built = catalog()
    summary = built.studies[0]["effect_summaries"][0]
    summary.update(certainty="low", downgrades=["secondary_source", "small_sample"])
    refused(built, r"requires the downgrades \['single_study'\].*above its ceiling")
    summary.update(certainty="moderate", downgrades=["single_study"])
    refused(built, r"requires the downgrades \['secondary_source'\]")
    summary.update(certainty="low", downgrades=["single_study", "secondary_source", "small_sample"])
    refused(built, "certainty low is not what the rubric gives \\(very_low")


def test_the_rubric_starts_by_design_and_steps_down():
    assert grading.graded_certainty("rct", []) == "high"
    assert grading.graded_certainty("rct", ["single_study", "secondary_source"]) == "low"
    assert grading.graded_certainty("cohort", ["single_study"]) == "very_low"
    assert grading.graded_certainty("case_report", []) == "very_low"
    assert grading.graded_certainty("registered_trial", []) is None
    assert grading.required_downgrades("systematic_review", True) == {"secondary_source"}
    assert grading.required_downgrades("case_series", False) == {"single_study"}


def test_a_structured_number_absent_from_its_figures_is_refused():
    refused(outcome(value=5.4), "outcome “Improvement”: value 5.4 does not appear")
    refused(outcome(n_intervention=31), "n_intervention 31 does not appear")
    built = catalog()
    built.studies[0]["outcomes"][1]["pct_control"] = 11
    refused(built, "outcome “Pain”: pct_control 11 does not appear")


def test_numbers_are_read_as_the_figures_write_them():
    assert {5.04, 1.22, 20.77, 0.02} <= {float(n) for n in curation.decimals_in(TEXT)}
    assert 0.045 in {float(n) for n in curation.decimals_in("(P=.045)")}
    assert 32 in curation.decimals_in("Thirty two percent of participants")


def test_an_unsound_estimate_is_refused():
    text = "HR 0 (95% CI, 0-2.5) and HR -1.5 and 1.4 (95% CI 1.5-2.5)"
    for changes, message in [
        ({"value": 0, "ci_low": 0, "ci_high": 2.5}, "a HR must be above zero \\(value 0\\)"),
        ({"value": -1.5, "ci_low": None, "ci_high": None}, "above zero"),
        ({"value": 1.4, "ci_low": 1.5, "ci_high": 2.5}, "excludes its own point estimate 1.4"),
        ({"value": 1.4, "ci_low": 1.5, "ci_high": None}, "needs both bounds"),
        ({"value": 1.4, "ci_low": 1.5, "ci_high": 2.5, "effect_measure": ""}, "needs its"),
    ]:
        built = outcome(figures=text, p_value=None, **changes)
        built.texts["doc"] = TEXT + " " + text
        refused(built, message)


def test_an_outcome_needs_a_domain():
    refused(outcome(domain=None), "outcome “Improvement”: needs a domain")
    refused(outcome(domain="happiness"), "needs a domain")


def test_a_dose_must_be_quoted_from_the_study():
    refused(catalog(dose="4.5 mg at night"), "the dose “4.5 mg at night” is not quoted")
    refused(catalog(dose_max_mg=5), "the dose 5 mg is not stated")


def test_an_identifier_must_be_stated_by_the_studys_own_quotes():
    # In the document is not enough: the quote that cites the study must state it.
    built = catalog(pmid="12345678")
    built.texts["doc"] = TEXT + " Elsewhere: PMID 12345678."
    refused(built, "no provenance quote states its pmid “12345678”")
    built.studies[0]["mentions"].append({"source": "doc", "quote": "PMID 12345678."})
    curation._check(built)


def test_a_slug_carries_no_year_the_study_lacks():
    refused(catalog(year=None, mentions=catalog().studies[0]["mentions"]), "carries the year 2020")


def test_a_source_note_quotes_its_source():
    built = catalog()
    built.sources[0]["evidence_quote"] = "we have 50 studies"
    refused(built, "source “doc”: the quote is not verbatim")


def test_every_condition_with_results_has_a_sound_bottom_line():
    built = catalog()
    built.bottom_lines[0]["certainty"] = "low"
    refused(built, "bottom line for “fibromyalgia”: certainty low is above its best study's")
    built.bottom_lines = []
    refused(built, "conditions with results but no bottom line: \\['fibromyalgia'\\]")
    built = catalog()
    built.bottom_lines[0]["studies"] = ["elsewhere"]
    refused(built, "unknown study “elsewhere”")
