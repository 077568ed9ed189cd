from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.test import TestCase

from benchmarks.synthetic import (
    CONDITIONS,
    DESIGN_WEIGHTS,
    LINK,
    SyntheticCatalog,
    ensure_conditions,
    generate_studies,
)
from studies.models import BottomLine, Condition, Mention, Outcome, Study
from studies.vocabulary import DoseBand, OutcomeDomain
from tests.factories import make_condition, make_study


def build(seed, n=2000, conditions=None):
    conditions = conditions or [
        (Condition(pk=i, slug=slug, name=name, category=category), weight)
        for i, (slug, name, category, weight) in enumerate(CONDITIONS, start=1)
    ]
    catalog = SyntheticCatalog(seed, conditions, source_ids=[1, 2, 3], first_study_id=1)
    tables = {}
    for chunk in catalog.chunks(n, chunk_size=700):
        for model, rows in chunk.items():
            tables.setdefault(model, []).extend(rows)
    return tables


def test_same_seed_gives_the_same_rows():
    assert build(seed=5, n=300) == build(seed=5, n=300)
    assert build(seed=5, n=300) != build(seed=6, n=300)


def test_designs_and_conditions_come_in_realistic_proportions():
    tables = build(seed=1)
    designs = Counter(row["design"] for row in tables[Study])
    total_weight = sum(DESIGN_WEIGHTS.values())
    for design, weight in DESIGN_WEIGHTS.items():
        assert designs[design] / 2000 == pytest.approx(weight / total_weight, abs=0.03)
    conditions = Counter(row["condition_id"] for row in tables[LINK])
    fibromyalgia, opioid_use = 1, len(CONDITIONS)
    assert conditions[fibromyalgia] > 5 * conditions[opioid_use]


def test_years_are_in_range_and_skewed_recent():
    years = sorted(row["year"] for row in build(seed=2)[Study])
    assert years[0] >= 1980 and years[-1] <= 2026
    assert years[len(years) // 2] >= 2010


def test_each_study_has_one_to_three_conditions_and_at_most_five_outcomes():
    tables = build(seed=3)
    per_study = Counter(row["study_id"] for row in tables[LINK])
    assert set(per_study.values()) <= {1, 2, 3}
    assert len(per_study) == 2000
    outcomes = Counter(row["study_id"] for row in tables[Outcome])
    assert max(outcomes.values()) <= 5
    assert len(outcomes) < 2000  # some studies report no outcome


def test_outcomes_have_domains_and_sound_estimates_some_poolable():
    tables = build(seed=4)
    outcomes = tables[Outcome]
    domains = Counter(row["domain"] for row in outcomes)
    assert set(domains) <= set(OutcomeDomain.values)
    assert len(domains) >= 8 and domains["other"] < len(outcomes) / 5
    estimates = [row for row in outcomes if row["ci_low"] is not None]
    # trials and reviews report an interval for about half their outcomes, others less
    assert 0.15 < len(estimates) / len(outcomes) < 0.5
    for row in estimates:
        # what Outcome.clean and the check constraints demand of every estimate
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        if row["effect_measure"] in ("HR", "RR", "OR"):
            assert row["ci_low"] > 0
        assert f"{row['value']} (95% CI {row['ci_low']} to {row['ci_high']})" in row["figures"]
    groups = Counter(
        (condition, row["domain"], row["effect_measure"])
        for row in estimates
        for condition in [row["condition_id"]]
    )
    poolable = [g for g, k in groups.items() if k >= 2 and g[2] in ("HR", "RR", "OR", "MD", "SMD")]
    assert len(poolable) >= 20


def test_doses_fall_in_every_band_in_realistic_proportions():
    studies = build(seed=6)[Study]
    bands = Counter(dose_band(row["dose_min_mg"], row["dose_max_mg"]) for row in studies)
    n = len(studies)
    assert set(bands) == set(DoseBand.values)
    assert bands["low"] / n > 0.4  # most studies give the 1.5–4.5 mg of LDN
    assert bands["not_stated"] / n > 0.3  # reviews and preclinical papers give none
    assert 0 < bands["ultra_low"] < bands["very_low"] < bands["low"]
    assert 0 < bands["standard"] / n < 0.05


def dose_band(low, high):
    top = high if high is not None else low
    if top is None:
        return "not_stated"
    if top < Decimal("0.1"):
        return "ultra_low"
    if top < 1:
        return "very_low"
    return "low" if top <= 5 else "standard"


class GenerateStudiesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curated_condition = make_condition(slug="fibromyalgia", name="Fibromyalgia")
        cls.curated_study = make_study(title="A curated study", doi="10.1000/real")
        cls.first = generate_studies(400, seed=9)
        cls.second = generate_studies(300, seed=9)

    def test_counts_are_reported_and_appended_after_existing_rows(self):
        assert self.first["studies"] == 400
        assert self.second["studies"] == 300
        assert Study.objects.count() == 701
        assert Study.objects.filter(pk__gt=self.curated_study.pk).count() == 700

    def test_identifiers_and_slugs_are_unique(self):
        for field in ("slug", "doi", "pmid", "pmcid", "registry_id"):
            duplicates = (
                Study.objects.exclude(**{f"{field}__isnull": True})
                .values(field)
                .annotate(n=Count("pk"))
                .filter(n__gt=1)
            )
            assert not duplicates.exists(), field
        synthetic = Study.objects.filter(doi__startswith="10.5555/ldn.")
        assert synthetic.count() > 600  # unpublished trials may have no DOI
        assert all(doi == f"10.5555/ldn.{pk}" for pk, doi in synthetic.values_list("pk", "doi"))
        assert Study.objects.filter(registry_id__startswith="NCT").exists()
        assert Study.objects.filter(pmcid__startswith="PMC").exists()

    def test_existing_conditions_are_reused(self):
        assert Condition.objects.filter(slug="fibromyalgia").count() == 1
        assert self.curated_condition.studies.count() > 50
        assert Condition.objects.count() == len(CONDITIONS)

    def test_every_study_has_a_mention_and_a_condition(self):
        assert not Study.objects.exclude(pk=self.curated_study.pk).filter(mentions=None).exists()
        assert not Study.objects.exclude(pk=self.curated_study.pk).filter(conditions=None).exists()
        assert Mention.objects.count() >= 700

    def test_rows_read_back_as_valid_studies(self):
        study = Study.objects.exclude(pk=self.curated_study.pk).order_by("pk").first()
        study.full_clean()
        assert study.created_at.year in (2025, 2026)
        assert study.level.value == study.evidence_level
        assert study.authors and all(isinstance(a, str) for a in study.authors)

    def test_the_planner_has_statistics_afterwards(self):
        if connection.vendor == "postgresql":
            statement = "SELECT count(*) FROM pg_stats WHERE tablename = 'studies_study'"
        else:
            statement = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'studies_study'"
        with connection.cursor() as cursor:
            cursor.execute(statement)
            assert cursor.fetchone()[0] > 0

    def test_common_conditions_get_a_bottom_line_resting_on_their_strongest_studies(self):
        assert self.first["bottom lines"] > 0 and self.second["bottom lines"] == 0
        rare = [slug for slug, _, _, weight in CONDITIONS if weight < 2]
        assert not BottomLine.objects.filter(condition__slug__in=rare).exists()
        line = BottomLine.objects.get(condition__slug="fibromyalgia")
        assert line.studies.exists()
        assert all(level <= 2 for level in line.studies.values_list("evidence_level", flat=True))
        assert line.history.exists()

    def test_stored_rows_pass_the_models_checks_and_bands(self):
        for outcome in Outcome.objects.exclude(ci_low=None)[:200]:
            outcome.full_clean()
        bands = set(Study.objects.values_list("dose_band", flat=True))
        assert {"low", "not_stated"} <= bands

    def test_new_studies_can_still_be_saved_normally(self):
        study = make_study(title="Added after generation")
        assert study.pk > Study.objects.exclude(pk=study.pk).order_by("-pk").first().pk


class CommandTests(TestCase):
    def test_command_writes_and_reports_counts(self):
        out = StringIO()
        call_command("generate_studies", "25", "--seed", "4", stdout=out)
        assert "25 studies" in out.getvalue()
        assert Study.objects.count() == 25

    def test_command_rejects_a_non_positive_count(self):
        with pytest.raises(CommandError, match="positive"):
            call_command("generate_studies", "0")

    def test_ensure_conditions_creates_missing_rows_once(self):
        ensure_conditions()
        ensure_conditions()
        assert Condition.objects.count() == len(CONDITIONS)
