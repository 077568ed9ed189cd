"""Random-effects pooling of effect estimates (DerSimonian–Laird), with statsmodels.

Each estimate is a point value with its 95% confidence interval. Ratios (HR, RR, OR) are
pooled on the log scale and reported back on the ratio scale; differences (MD, SMD) on
their own scale. The standard error is recovered from the interval:
se = (upper − lower) / (2 × 1.959964), on the analysis scale.
"""

import math
import sys
from dataclasses import dataclass

from .vocabulary import POOLABLE_MEASURES, RATIO_MEASURES

Z_95 = 1.959963984540054  # the 97.5th percentile of the standard normal
METHOD = "DerSimonian-Laird"


@dataclass(frozen=True)
class Pooled:
    """A random-effects summary of k estimates sharing a measure and a domain."""

    domain: str
    measure: str
    k: int
    value: float
    ci_low: float
    ci_high: float
    i2: float  # a proportion, 0 to 1
    tau2: float  # between-study variance, on the analysis (log, for ratios) scale
    method: str = METHOD


def is_ratio(measure):
    return measure in RATIO_MEASURES


def to_analysis_scale(measure, number):
    return math.log(number) if is_ratio(measure) else number


def from_analysis_scale(measure, number):
    return math.exp(number) if is_ratio(measure) else number


def effect_and_variance(measure, value, ci_low, ci_high):
    """The effect and its variance on the analysis scale, from a 95% interval."""
    low = to_analysis_scale(measure, float(ci_low))
    high = to_analysis_scale(measure, float(ci_high))
    se = (high - low) / (2 * Z_95)
    return to_analysis_scale(measure, float(value)), se * se


def why_not_pooled(measure, estimates):
    """A sentence saying why a group of estimates has no pooled estimate, or None."""
    if measure not in POOLABLE_MEASURES:
        return "this measure is not pooled (only HR, RR, OR, MD and SMD are)"
    if len(estimates) < 2:
        return "a single estimate: nothing to pool"
    studies = len({e.study for e in estimates})
    if studies < 2:
        # Outcomes of one study are not independent, and there is no between-study spread.
        return "the estimates are all from one study: nothing to pool"
    if studies < len(estimates):
        # Pooled as if independent, its patients would count once for each estimate.
        return "a study gives more than one estimate here: pooled, it would count twice"
    if any(e.ci_low == e.ci_high for e in estimates):
        return "an estimate has a zero-width interval, so its weight is undefined"
    variances = [effect_and_variance(measure, e.value, e.ci_low, e.ci_high)[1] for e in estimates]
    if min(variances) < max(variances) * sys.float_info.epsilon:
        # One weight is then lost beside another in floating point: the moments of
        # DerSimonian–Laird cancel to nothing, and τ² comes out infinite or meaningless.
        return "the widths of the intervals are too far apart to weigh them together"
    return None


def pool(domain, measure, estimates):
    """The DerSimonian–Laird random-effects estimate of ``estimates`` (objects with
    study, value, ci_low and ci_high), or None with the reason from ``why_not_pooled``."""
    if why_not_pooled(measure, estimates):
        return None
    # Imported here, not at the top: statsmodels brings scipy and pandas, about 90 MB in
    # every web worker that never draws a pooled diamond (a download's worker, say), and
    # the memory goal for the downloads is 150 MB a worker (benchmarks/exports.py).
    import numpy as np
    from statsmodels.stats.meta_analysis import combine_effects

    pairs = [effect_and_variance(measure, e.value, e.ci_low, e.ci_high) for e in estimates]
    effects = np.array([effect for effect, _ in pairs])
    variances = np.array([variance for _, variance in pairs])
    # A negative tau² (below) makes statsmodels take the square root of a negative
    # variance, and identical estimates divide by a zero Q: both are handled here.
    with np.errstate(invalid="ignore", divide="ignore"):
        result = combine_effects(effects, variances, method_re="dl", use_t=False)
        fixed, random = result.conf_int(use_t=False)[:2]
    # I² = (Q - df) / Q where Q exceeds its degrees of freedom, else 0. statsmodels gives
    # (Q - df) / Q as it is: negative below df, and far above 1 where identical estimates
    # leave Q a rounding error below zero.
    q, df = float(result.q), len(estimates) - 1
    i2 = (q - df) / q if q > df else 0.0
    mean, (low, high), tau2 = result.mean_effect_re, random, result.tau2
    if tau2 < 0:
        # DerSimonian and Laird truncate tau² at zero (less spread than chance alone gives
        # means no between-study variance), and the random-effects model is then the fixed-
        # effect one; statsmodels (0.14) returns the negative moment estimate as it is.
        mean, (low, high), tau2 = result.mean_effect_fe, fixed, 0.0
    return Pooled(
        domain=domain,
        measure=measure,
        k=len(estimates),
        value=from_analysis_scale(measure, float(mean)),
        ci_low=from_analysis_scale(measure, float(low)),
        ci_high=from_analysis_scale(measure, float(high)),
        i2=i2,
        tau2=float(tau2),
    )
