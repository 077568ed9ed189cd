"""Random-effects pooling (studies/stats.py) against a published worked example.

The data are the six studies of the worked example in Borenstein M, Hedges LV, Higgins JPT,
Rothstein HR. *Introduction to Meta-Analysis*. Wiley, 2009 (Part 3, "Worked examples":
Carroll, Grant, Peck, Donat, Stewart, Young: mean, SD and size of each arm), also used by
Chen & Peace, *Applied Meta-Analysis with R* (2013) and by statsmodels' own tests. The test
computes Hedges' g and its variance from the raw data, then the DerSimonian–Laird estimate
by hand from the formulas of DerSimonian & Laird (Control Clin Trials 1986;7:177–88), and
checks that ``pool`` (statsmodels' combine_effects) gives the same numbers; the effect sizes
are also checked against metafor's, as statsmodels' tests quote them.
"""

import itertools
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from studies.stats import Z_95, pool, why_not_pooled

# study: (mean, SD, n) of the treated arm, then of the control arm
BORENSTEIN = {
    "Carroll": (94, 22, 60, 92, 20, 60),
    "Grant": (98, 21, 65, 92, 22, 65),
    "Peck": (98, 28, 40, 88, 26, 40),
    "Donat": (94, 19, 200, 82, 17, 200),
    "Stewart": (98, 21, 50, 88, 22, 45),
    "Young": (96, 21, 85, 92, 22, 85),
}
# Hedges' g as metafor computes it (escalc, measure="SMD"), quoted in statsmodels' tests.
METAFOR_G = [
    0.09452415852,
    0.27735586627,
    0.36654442952,
    0.66438496833,
    0.46180628129,
    0.18516443740,
]


_studies = itertools.count(1)


@dataclass(frozen=True)
class Row:
    value: float
    ci_low: float
    ci_high: float
    study: int = field(default_factory=lambda: next(_studies))  # each row its own study


def hedges_g(m1, s1, n1, m2, s2, n2):
    """Hedges' g and its variance (Borenstein et al. 2009, equations 4.18–4.24)."""
    pooled_sd = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    d = (m1 - m2) / pooled_sd
    variance_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))
    j = 1 - 3 / (4 * (n1 + n2 - 2) - 1)
    return j * d, j**2 * variance_d


def dersimonian_laird(effects, variances):
    """The DL random-effects estimate, written out from the formulas."""
    w = [1 / v for v in variances]
    fixed = sum(wi * y for wi, y in zip(w, effects, strict=True)) / sum(w)
    q = sum(wi * (y - fixed) ** 2 for wi, y in zip(w, effects, strict=True))
    df = len(effects) - 1
    c = sum(w) - sum(wi**2 for wi in w) / sum(w)
    tau2 = max(0.0, (q - df) / c)
    w_star = [1 / (v + tau2) for v in variances]
    mean = sum(wi * y for wi, y in zip(w_star, effects, strict=True)) / sum(w_star)
    se = math.sqrt(1 / sum(w_star))
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return {"mean": mean, "low": mean - Z_95 * se, "high": mean + Z_95 * se, "tau2": tau2, "i2": i2}


def as_rows(effects, variances, ratio=False):
    """Estimates with the 95% CIs a paper would print, from effects and variances."""
    rows = []
    for y, v in zip(effects, variances, strict=True):
        low, high = y - Z_95 * math.sqrt(v), y + Z_95 * math.sqrt(v)
        if ratio:
            y, low, high = math.exp(y), math.exp(low), math.exp(high)
        rows.append(Row(y, low, high))
    return rows


@pytest.fixture(scope="module")
def example():
    pairs = [hedges_g(*arms) for arms in BORENSTEIN.values()]
    return [g for g, _ in pairs], [v for _, v in pairs]


def test_the_effect_sizes_are_those_of_the_published_example(example):
    effects, _ = example
    # metafor corrects d by the exact gamma-function factor, the book (and this test) by its
    # approximation 1 - 3 / (4 df - 1): they agree to five decimals.
    assert effects == pytest.approx(METAFOR_G, abs=1e-5)


def test_pooled_smd_matches_the_dersimonian_laird_formulas(example):
    effects, variances = example
    expected = dersimonian_laird(effects, variances)
    pooled = pool("pain", "SMD", as_rows(effects, variances))
    assert pooled.k == 6
    assert pooled.method == "DerSimonian-Laird"
    assert pooled.value == pytest.approx(expected["mean"], abs=1e-9)
    assert pooled.ci_low == pytest.approx(expected["low"], abs=1e-9)
    assert pooled.ci_high == pytest.approx(expected["high"], abs=1e-9)
    assert pooled.tau2 == pytest.approx(expected["tau2"], abs=1e-9)
    assert pooled.i2 == pytest.approx(expected["i2"], abs=1e-9)
    # In short: a summary g of 0.36 (95% CI 0.15 to 0.56), T² 0.037, I² 58%.
    assert (round(pooled.value, 2), round(pooled.ci_low, 2), round(pooled.ci_high, 2)) == (
        0.36,
        0.15,
        0.56,
    )
    assert round(pooled.tau2, 3) == 0.037
    assert round(pooled.i2 * 100) == 58


def test_ratios_are_pooled_on_the_log_scale_and_reported_as_ratios(example):
    effects, variances = example  # read as log hazard ratios
    expected = dersimonian_laird(effects, variances)
    pooled = pool("pain", "HR", as_rows(effects, variances, ratio=True))
    assert pooled.value == pytest.approx(math.exp(expected["mean"]), rel=1e-9)
    assert pooled.ci_low == pytest.approx(math.exp(expected["low"]), rel=1e-9)
    assert pooled.ci_high == pytest.approx(math.exp(expected["high"]), rel=1e-9)
    assert pooled.tau2 == pytest.approx(expected["tau2"], abs=1e-9)  # on the log scale


def test_homogeneous_estimates_have_no_between_study_variance():
    rows = [Row(0.5, 0.1, 0.9), Row(0.5, 0.2, 0.8)]
    # Q is below its degrees of freedom: tau² truncates at zero, and the pool is the
    # fixed-effect (inverse-variance) one, its interval finite.
    expected = dersimonian_laird([0.5, 0.5], [(0.4 / Z_95) ** 2, (0.3 / Z_95) ** 2])
    pooled = pool("pain", "MD", rows)
    assert pooled.tau2 == 0 and pooled.i2 == 0
    assert pooled.value == pytest.approx(0.5)
    assert pooled.ci_low == pytest.approx(expected["low"], abs=1e-9)
    assert pooled.ci_high == pytest.approx(expected["high"], abs=1e-9)


def test_identical_estimates_have_no_heterogeneity():
    # Two studies with the same ratio and interval: Q is zero, but on the log scale it
    # comes out a rounding error below zero, and I² = (Q - df) / Q was then 5.6e14 (shown
    # as "I² = 56294995342131296%"). I² is a proportion: no spread, none of it real.
    for measure, numbers in (("HR", (2, 1, 4)), ("OR", (0.7, 0.3, 1.9)), ("MD", (2, 1, 4))):
        pooled = pool("pain", measure, [Row(*numbers), Row(*numbers)])
        assert pooled.i2 == 0 and pooled.tau2 == 0, measure
        assert pooled.value == pytest.approx(numbers[0])


def test_estimates_whose_weights_differ_beyond_float_precision_are_not_pooled():
    # HR 10000 with a 0.0001-wide interval weighs 1e17 times HR 2 (1 to 4): the moments
    # of DerSimonian–Laird then cancel to nothing, and τ² came out infinite and the pool
    # NaN (written as NaN into the JSON, "nan" on the page).
    rows = [Row(10000, 10000, 10000.0001), Row(2, 1, 4)]
    assert pool("pain", "HR", rows) is None
    assert "too far apart" in why_not_pooled("HR", rows)
    rows = [Row(0.0001, 0, 0.0002), Row(5, -(10**8), 10**8)]
    assert pool("pain", "MD", rows) is None
    # Unequal but not extreme precision is pooled as ever.
    assert pool("pain", "HR", [Row(100, 99.9, 100.1), Row(2, 1, 4)]) is not None


def test_what_is_not_pooled_says_why():
    one = [Row(5.04, 1.22, 20.77)]
    assert pool("other", "HR", one) is None
    assert "single estimate" in why_not_pooled("HR", one)
    two = [Row(30, 20, 40), Row(50, 40, 60)]
    assert pool("pain", "pct_responders", two) is None
    assert "not pooled" in why_not_pooled("pct_responders", two)
    one_study = [Row(0.5, 0.1, 0.9, study=7), Row(0.4, 0.0, 0.8, study=7)]
    assert pool("pain", "SMD", one_study) is None
    assert "all from one study" in why_not_pooled("SMD", one_study)
    # Beside another study's, a study's two estimates would count its patients twice.
    twice = [*one_study, Row(0.3, -0.1, 0.7, study=8)]
    assert pool("pain", "SMD", twice) is None
    assert "would count twice" in why_not_pooled("SMD", twice)
    flat = [Row(1, 1, 1), Row(2, 1, 3)]
    assert pool("pain", "MD", flat) is None
    assert "zero-width" in why_not_pooled("MD", flat)


def test_a_web_worker_loads_statsmodels_only_to_pool():
    # statsmodels brings scipy and pandas (about 90 MB): a worker that has loaded the site
    # but never pools must not carry them (the downloads' memory goal, docs/deployment.md).
    script = (
        "import sys; from ldn_catalog.wsgi import application;"
        "import ldn_catalog.urls, studies.admin, studies.views, studies.synthesis;"
        "print(sorted(m for m in ('statsmodels', 'scipy', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ldn_catalog.settings", "SECRET_KEY": "x"},
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
