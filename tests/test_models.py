from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import TestCase

from studies.models import Claim, Outcome, Study
from studies.vocabulary import DESIGN_LEVELS, Design, EvidenceLevel

from .factories import make_condition, make_outcome, make_source, make_study


class StudyIdentifierTests(TestCase):
    def test_doi_is_normalised_on_save(self):
        study = make_study(doi="https://doi.org/10.1000/XYZ.")
        study.refresh_from_db()
        assert study.doi == "10.1000/xyz"

    def test_pmid_and_pmcid_are_normalised_on_save(self):
        study = make_study(pmid=" PMID: 24526250 ", pmcid="pmc 3962576")
        study.refresh_from_db()
        assert (study.pmid, study.pmcid) == ("24526250", "PMC3962576")

    def test_blank_identifiers_are_stored_as_null(self):
        first = make_study(doi="", pmid="  ")
        second = make_study(doi="", pmid="")
        assert first.doi is None and second.doi is None and second.pmid is None

    def test_duplicate_doi_is_rejected(self):
        make_study(doi="10.1000/abc")
        with pytest.raises(IntegrityError), transaction.atomic():
            make_study(doi="https://doi.org/10.1000/ABC")

    def test_duplicate_doi_is_reported_by_validation(self):
        make_study(doi="10.1000/abc")
        study = Study(title="Another", slug="another", doi="10.1000/ABC")
        with pytest.raises(ValidationError) as error:
            study.full_clean()
        assert "doi" in error.value.message_dict

    def test_invalid_identifiers_raise_field_errors(self):
        study = Study(
            title="T", slug="t", doi="not a doi", pmid="12a", pmcid="PMC", registry_id="NCT1"
        )
        with pytest.raises(ValidationError) as error:
            study.full_clean()
        assert set(error.value.message_dict) >= {"doi", "pmid", "pmcid", "registry_id"}

    def test_database_rejects_an_unnormalised_doi_written_around_save(self):
        study = make_study()
        with pytest.raises(IntegrityError), transaction.atomic():
            Study.objects.filter(pk=study.pk).update(doi="10.1000/UPPER")


class StudyConstraintTests(TestCase):
    def test_year_out_of_range_is_rejected_by_the_database(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            make_study(year=1066)

    def test_year_out_of_range_is_rejected_by_validation(self):
        with pytest.raises(ValidationError) as error:
            Study(title="T", slug="t", year=2200).full_clean()
        assert "year" in error.value.message_dict

    def test_year_may_be_empty(self):
        assert make_study(year=None).year is None

    def test_dose_range_must_be_ordered(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            make_study(dose_min_mg=Decimal("4.5"), dose_max_mg=Decimal("1.5"))

    def test_empty_title_is_rejected(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Study.objects.create(title="", slug="untitled")

    def test_claim_needs_a_study_or_a_cited_source(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Claim.objects.create(source=make_source(), quote="q", verdict="supported")


class StudyBehaviourTests(TestCase):
    def test_every_design_has_an_evidence_level_in_the_database(self):
        for design in Design.values:
            study = make_study(design=design)
            study.refresh_from_db()
            assert study.evidence_level == DESIGN_LEVELS[design]

    def test_reviews_and_trials_rank_above_case_reports(self):
        assert DESIGN_LEVELS[Design.SYSTEMATIC_REVIEW] < DESIGN_LEVELS[Design.RCT]
        assert DESIGN_LEVELS[Design.RCT] < DESIGN_LEVELS[Design.CASE_REPORT]
        assert DESIGN_LEVELS[Design.TRIAL_PROTOCOL] == EvidenceLevel.NO_RESULTS

    def test_slug_is_made_from_title_and_year_and_kept_unique(self):
        first = make_study(title="LDN for Fibromyalgia", year=2013)
        second = make_study(title="LDN for Fibromyalgia", year=2013)
        assert first.slug == "ldn-for-fibromyalgia-2013"
        assert second.slug == "ldn-for-fibromyalgia-2013-2"

    def test_slug_checked_against_a_set_of_slugs_taken(self):
        # The importer's way: a whole file's slugs against one set, not a query each.
        make_study(title="LDN for Fibromyalgia", year=2013)
        taken = {"ldn-for-fibromyalgia-2013-2"}
        with self.assertNumQueries(0):
            first = Study(title="LDN for Fibromyalgia", year=2013).unique_slug(taken)
            second = Study(title="LDN for Fibromyalgia", year=2013).unique_slug(taken)
        assert (first, second) == ("ldn-for-fibromyalgia-2013", "ldn-for-fibromyalgia-2013-3")
        assert taken == {first, second, "ldn-for-fibromyalgia-2013-2"}
        assert Study(title="LDN for Fibromyalgia", year=2013).unique_slug() == (
            "ldn-for-fibromyalgia-2013-2"
        )

    def test_queryset_filters_by_condition_and_results(self):
        pain = make_condition(slug="pain-x")
        with_outcome = make_study(conditions=[pain])
        make_outcome(with_outcome)
        without = make_study(conditions=[pain])
        make_study()
        assert set(Study.objects.for_any_condition(["pain-x"])) == {with_outcome, without}
        assert list(Study.objects.for_any_condition([pain.slug]).with_results()) == [with_outcome]


class OutcomeEstimateTests(TestCase):
    """An estimate no plot could draw is refused by clean() and by the database."""

    @classmethod
    def setUpTestData(cls):
        cls.study = make_study()

    def outcome(self, **fields):
        return Outcome(study=self.study, name="Pain", **fields)

    def errors(self, **fields):
        with pytest.raises(ValidationError) as caught:
            self.outcome(**fields).full_clean()
        return caught.value.message_dict

    def test_a_sound_estimate_passes(self):
        self.outcome(
            effect_measure="HR",
            value=Decimal("5.04"),
            ci_low=Decimal("1.22"),
            ci_high=Decimal("20.77"),
        ).full_clean()
        self.outcome(
            effect_measure="MD",
            value=Decimal("-1.2"),
            ci_low=Decimal("-2.5"),
            ci_high=Decimal("0.1"),
        ).full_clean()

    def test_a_zero_or_negative_ratio_is_refused(self):
        assert "above zero" in self.errors(effect_measure="OR", value=Decimal("0"))["value"][0]
        errors = self.errors(
            effect_measure="RR", value=Decimal("0.5"), ci_low=Decimal("-0.2"), ci_high=Decimal("1")
        )
        assert "risk ratio is above zero" in errors["ci_low"][0]

    def test_a_negative_difference_is_allowed(self):
        self.outcome(effect_measure="SMD", value=Decimal("-0.4")).full_clean()

    def test_an_interval_excluding_its_estimate_is_refused(self):
        errors = self.errors(
            effect_measure="HR",
            value=Decimal("5.04"),
            ci_low=Decimal("1.22"),
            ci_high=Decimal("2.77"),
        )
        assert "outside its own confidence interval" in errors["value"][0]

    def test_a_missing_bound_is_refused(self):
        errors = self.errors(effect_measure="HR", value=Decimal("2"), ci_low=Decimal("1.1"))
        assert "both bounds" in errors["ci_high"][0]
        errors = self.errors(effect_measure="MD", value=Decimal("2"), ci_high=Decimal("3"))
        assert "both bounds" in errors["ci_low"][0]

    def test_the_database_refuses_them_too(self):
        bad = [
            {"effect_measure": "HR", "value": Decimal("-1")},
            {
                "effect_measure": "OR",
                "value": Decimal("1"),
                "ci_low": Decimal("0"),
                "ci_high": Decimal("2"),
            },
            {
                "effect_measure": "MD",
                "value": Decimal("5"),
                "ci_low": Decimal("1"),
                "ci_high": Decimal("2"),
            },
            {"effect_measure": "MD", "value": Decimal("1"), "ci_low": Decimal("0.5")},
        ]
        for fields in bad:
            with pytest.raises(IntegrityError), transaction.atomic():
                make_outcome(self.study, **fields)


class DoseBandTests(TestCase):
    def band(self, low, high):
        study = make_study(
            dose_min_mg=None if low is None else Decimal(low),
            dose_max_mg=None if high is None else Decimal(high),
        )
        study.refresh_from_db()
        return study.dose_band

    def test_bands_follow_the_highest_stated_dose(self):
        assert self.band(None, None) == "not_stated"
        assert self.band("0.01", "0.05") == "ultra_low"
        assert self.band("0.10", "0.50") == "very_low"
        assert self.band("0.50", "4.50") == "low"  # the highest dose decides
        assert self.band("1.00", "5.00") == "low"
        assert self.band("4.50", None) == "low"  # only a minimum stated
        assert self.band(None, "0.99") == "very_low"
        assert self.band("5.01", "5.01") == "standard"
        assert self.band("50", "50") == "standard"
