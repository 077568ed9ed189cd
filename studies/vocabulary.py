"""The catalog's controlled vocabulary: stable slugs used in URLs, filters and exports."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.db import models


class Design(models.TextChoices):
    SYSTEMATIC_REVIEW = "systematic_review", "Systematic review"
    META_ANALYSIS = "meta_analysis", "Meta-analysis"
    RCT = "rct", "Randomised controlled trial"
    CROSSOVER_RCT = "crossover_rct", "Crossover randomised trial"
    COHORT = "cohort", "Cohort study"
    CASE_CONTROL = "case_control", "Case-control study"
    QUASI_EXPERIMENTAL = "quasi_experimental", "Quasi-experimental study"
    CASE_SERIES = "case_series", "Case series"
    CASE_REPORT = "case_report", "Case report"
    NARRATIVE_REVIEW = "narrative_review", "Narrative review"
    PRECLINICAL = "preclinical", "Preclinical or hypothesis paper"
    OTHER = "other", "Other or not stated"
    TRIAL_PROTOCOL = "trial_protocol", "Trial protocol"
    REGISTERED_TRIAL = "registered_trial", "Registered trial"


class EvidenceLevel(models.IntegerChoices):
    """Rank of a design in the evidence hierarchy: 1 is the strongest."""

    SYNTHESIS = 1, "Systematic review or meta-analysis"
    RANDOMISED = 2, "Randomised trial"
    CONTROLLED_OBSERVATIONAL = 3, "Observational or quasi-experimental"
    CASES = 4, "Case series or case report"
    OPINION = 5, "Narrative review or preclinical"
    UNCLASSIFIED = 6, "Design not stated"
    NO_RESULTS = 7, "No results yet"


DESIGN_LEVELS = {
    Design.SYSTEMATIC_REVIEW: EvidenceLevel.SYNTHESIS,
    Design.META_ANALYSIS: EvidenceLevel.SYNTHESIS,
    Design.RCT: EvidenceLevel.RANDOMISED,
    Design.CROSSOVER_RCT: EvidenceLevel.RANDOMISED,
    Design.COHORT: EvidenceLevel.CONTROLLED_OBSERVATIONAL,
    Design.CASE_CONTROL: EvidenceLevel.CONTROLLED_OBSERVATIONAL,
    Design.QUASI_EXPERIMENTAL: EvidenceLevel.CONTROLLED_OBSERVATIONAL,
    Design.CASE_SERIES: EvidenceLevel.CASES,
    Design.CASE_REPORT: EvidenceLevel.CASES,
    Design.NARRATIVE_REVIEW: EvidenceLevel.OPINION,
    Design.PRECLINICAL: EvidenceLevel.OPINION,
    Design.OTHER: EvidenceLevel.UNCLASSIFIED,
    Design.TRIAL_PROTOCOL: EvidenceLevel.NO_RESULTS,
    Design.REGISTERED_TRIAL: EvidenceLevel.NO_RESULTS,
}


class Status(models.TextChoices):
    PUBLISHED = "published", "Published"
    ONGOING = "ongoing", "Ongoing or recruiting"
    PROTOCOL = "protocol", "Protocol only"
    COMPLETED = "completed", "Completed, not published"
    STOPPED = "stopped", "Stopped early"


class RegistryStatus(models.TextChoices):
    """A trial's overall status as ClinicalTrials.gov (API v2) gives it."""

    NOT_YET_RECRUITING = "NOT_YET_RECRUITING", "Not yet recruiting"
    RECRUITING = "RECRUITING", "Recruiting"
    ENROLLING_BY_INVITATION = "ENROLLING_BY_INVITATION", "Enrolling by invitation"
    ACTIVE_NOT_RECRUITING = "ACTIVE_NOT_RECRUITING", "Active, not recruiting"
    SUSPENDED = "SUSPENDED", "Suspended"
    TERMINATED = "TERMINATED", "Terminated"
    COMPLETED = "COMPLETED", "Completed"
    WITHDRAWN = "WITHDRAWN", "Withdrawn"
    UNKNOWN = "UNKNOWN", "Unknown status"
    WITHHELD = "WITHHELD", "Withheld"


# A date as a registry gives it: the year, the month or the day.
REGISTRY_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def is_registry_date(value):
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, and a date of the calendar (not 2021-13)."""
    match = REGISTRY_DATE.match(value)
    if not match:
        return False
    year, month, day = (int(part) if part else 1 for part in match.groups())
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def validate_registry_date(value):
    if value and not is_registry_date(value):
        raise ValidationError(
            "“%(value)s” is not a date as a registry gives it: YYYY, YYYY-MM or YYYY-MM-DD.",
            code="invalid_registry_date",
            params={"value": value[:40]},
        )


# The catalog's status of a trial the registry gives each status. A registry's "unknown"
# is a trial whose sponsor stopped confirming it was still going: the catalog keeps it
# as ongoing, and the page shows the registry's own word beside it; so is a trial whose
# record the registry withholds (nothing says it is over).
REGISTRY_STATUSES = {
    RegistryStatus.NOT_YET_RECRUITING: Status.ONGOING,
    RegistryStatus.RECRUITING: Status.ONGOING,
    RegistryStatus.ENROLLING_BY_INVITATION: Status.ONGOING,
    RegistryStatus.ACTIVE_NOT_RECRUITING: Status.ONGOING,
    RegistryStatus.SUSPENDED: Status.ONGOING,
    RegistryStatus.UNKNOWN: Status.ONGOING,
    RegistryStatus.WITHHELD: Status.ONGOING,
    RegistryStatus.TERMINATED: Status.STOPPED,
    RegistryStatus.WITHDRAWN: Status.STOPPED,
    RegistryStatus.COMPLETED: Status.COMPLETED,
}


class ConditionCategory(models.TextChoices):
    PAIN = "pain", "Pain"
    AUTOIMMUNE = "autoimmune", "Autoimmune and inflammatory"
    IMMUNOLOGICAL = "immunological", "Allergic and immunological"
    NEUROLOGICAL = "neurological", "Neurological"
    GASTROINTESTINAL = "gastrointestinal", "Gastrointestinal"
    DERMATOLOGICAL = "dermatological", "Dermatological"
    PSYCHIATRIC = "psychiatric", "Psychiatric"
    POST_VIRAL = "post_viral", "Post-viral and fatigue"
    INFECTIOUS = "infectious", "Infectious"
    CANCER = "cancer", "Cancer"
    SUBSTANCE_USE = "substance_use", "Substance use"
    OTHER = "other", "Other"


class Direction(models.TextChoices):
    IMPROVED = "improved", "Improved"
    NO_DIFFERENCE = "no_difference", "No difference"
    WORSENED = "worsened", "Worsened"
    MIXED = "mixed", "Mixed"
    UNCLEAR = "unclear", "Unclear"


class EffectMeasure(models.TextChoices):
    HR = "HR", "Hazard ratio"
    RR = "RR", "Risk ratio"
    OR = "OR", "Odds ratio"
    MD = "MD", "Mean difference"
    SMD = "SMD", "Standardised mean difference"
    PCT_RESPONDERS = "pct_responders", "% responders"
    PCT_CHANGE = "pct_change", "% change from baseline"
    OTHER = "other", "Other"


class OutcomeDomain(models.TextChoices):
    """What an outcome measures, so outcomes can be compared across studies."""

    PAIN = "pain", "Pain"
    FATIGUE = "fatigue", "Fatigue"
    SLEEP = "sleep", "Sleep"
    MOOD = "mood", "Mood"
    QUALITY_OF_LIFE = "quality_of_life", "Quality of life"
    FUNCTION = "function", "Function"
    DISEASE_ACTIVITY = "disease_activity", "Disease activity"
    SYMPTOMS = "symptoms", "Symptoms"
    BIOMARKERS = "biomarkers", "Biomarkers"
    ADVERSE_EVENTS = "adverse_events", "Adverse events"
    DISCONTINUATION = "discontinuation", "Discontinuation"
    OTHER = "other", "Other"


RATIO_MEASURES = frozenset({EffectMeasure.HR, EffectMeasure.RR, EffectMeasure.OR})
# The measures a random-effects model may pool (studies/stats.py): ratios on the log scale.
POOLABLE_MEASURES = (
    EffectMeasure.HR,
    EffectMeasure.RR,
    EffectMeasure.OR,
    EffectMeasure.MD,
    EffectMeasure.SMD,
)


class DoseBand(models.TextChoices):
    """A study's daily naltrexone dose, banded by the highest dose it states (docs/synthesis.md).

    Limits in mg: ultra-low doses are stated in micrograms; "low dose" is the 1 to 5 mg the
    catalog's sources describe; the standard (opioid- and alcohol-use) dose is 50 mg.
    """

    ULTRA_LOW = "ultra_low", "Ultra-low (under 0.1 mg, micrograms)"
    VERY_LOW = "very_low", "Very low (0.1 mg to under 1 mg)"
    LOW = "low", "Low (1 to 5 mg)"
    STANDARD = "standard", "Standard (over 5 mg, usually 50 mg)"
    NOT_STATED = "not_stated", "Dose not stated"


# The upper limit (exclusive for the first two, inclusive for low) of each band, in mg.
DOSE_BAND_LIMITS = {DoseBand.ULTRA_LOW: "0.1", DoseBand.VERY_LOW: "1", DoseBand.LOW: "5"}


class ConditionBasis(models.TextChoices):
    """Why a study is tagged with a condition."""

    STUDY = "study", "Named by the study"
    CITING = "citing", "Named only by a citing document"


class DesignBasis(models.TextChoices):
    """Whether a document states a study's design or the curator infers it from a quote."""

    STATED = "stated", "Stated"
    INFERRED = "inferred", "Inferred"


class Downgrade(models.TextChoices):
    """GRADE-style reasons to lower an effect summary's certainty one step (docs/curation.md)."""

    SINGLE_STUDY = "single_study", "Single study"
    SMALL_SAMPLE = "small_sample", "Small sample or wide confidence interval"
    NO_CONTROL_GROUP = "no_control_group", "No control group"
    SECONDARY_SOURCE = "secondary_source", "Figures known only from a secondary source"
    INDIRECTNESS = "indirectness", "Indirectness"
    RISK_OF_BIAS = "risk_of_bias", "Risk of bias"


class Verdict(models.TextChoices):
    BENEFIT = "benefit", "Benefit"
    NO_BENEFIT = "no_benefit", "No benefit"
    MIXED = "mixed", "Mixed"
    INSUFFICIENT = "insufficient", "Insufficient evidence"


class Certainty(models.TextChoices):
    HIGH = "high", "High"
    MODERATE = "moderate", "Moderate"
    LOW = "low", "Low"
    VERY_LOW = "very_low", "Very low"


class SourceKind(models.TextChoices):
    BLOG = "blog", "Blog post"
    ENCYCLOPEDIA = "encyclopedia", "Encyclopedia article"
    NEWS = "news", "News item"
    MARKETING = "marketing", "Clinic marketing"
    WEB_PAGE = "web_page", "Web page"
    OTHER = "other", "Other"


class ClaimVerdict(models.TextChoices):
    SUPPORTED = "supported", "Supported"
    MISATTRIBUTED = "misattributed", "Misattributed"
    NOT_SUPPORTED = "not_supported", "Not supported"
    UNVERIFIABLE = "unverifiable", "Unverifiable"


# Designs and dose bands as the list's heading names them ("randomised trials · 2010–2024").
DESIGN_PLURALS = {
    Design.SYSTEMATIC_REVIEW: "systematic reviews",
    Design.META_ANALYSIS: "meta-analyses",
    Design.RCT: "randomised trials",
    Design.CROSSOVER_RCT: "crossover randomised trials",
    Design.COHORT: "cohort studies",
    Design.CASE_CONTROL: "case-control studies",
    Design.QUASI_EXPERIMENTAL: "quasi-experimental studies",
    Design.CASE_SERIES: "case series",
    Design.CASE_REPORT: "case reports",
    Design.NARRATIVE_REVIEW: "narrative reviews",
    Design.PRECLINICAL: "preclinical or hypothesis papers",
    Design.OTHER: "studies of other or unstated design",
    Design.TRIAL_PROTOCOL: "trial protocols",
    Design.REGISTERED_TRIAL: "registered trials",
}


DOSE_BAND_WORDS = {
    DoseBand.ULTRA_LOW: "ultra-low dose",
    DoseBand.VERY_LOW: "very low dose",
    DoseBand.LOW: "low dose (1–5 mg)",
    DoseBand.STANDARD: "standard dose",
    DoseBand.NOT_STATED: "dose not stated",
}
