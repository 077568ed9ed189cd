"""What studies found: outcomes with their figures and estimates, the curator's verdict per
study and condition, and the bottom line per condition."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .. import limits
from ..limits import length_at_most
from ..querysets import EffectSummaryQuerySet, OutcomeQuerySet
from ..versions import Versioned
from ..vocabulary import RATIO_MEASURES, Certainty, Direction, EffectMeasure, OutcomeDomain, Verdict
from .catalog import Condition, Study, StudyPart, text_field


class Outcome(StudyPart):
    """Something a study measured, with its figures verbatim as a source reports them."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="outcomes")
    condition = models.ForeignKey(
        Condition, null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes"
    )
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField("what was measured", max_length=300)
    domain = models.CharField(
        max_length=20,
        choices=OutcomeDomain,
        default=OutcomeDomain.OTHER,
        db_default=OutcomeDomain.OTHER,  # rows written in bulk without it are "other"
        db_index=True,
    )
    direction = models.CharField(max_length=20, choices=Direction, default=Direction.UNCLEAR)
    figures = text_field(blank=True, help_text="The figures verbatim as reported.")
    source = models.ForeignKey(
        "Source",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outcomes",
        help_text="The document whose text the figures are quoted from.",
    )
    effect_measure = models.CharField(max_length=20, choices=EffectMeasure, blank=True)
    value = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    ci_low = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    ci_high = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    p_value = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    n_intervention = models.PositiveIntegerField(null=True, blank=True)
    n_control = models.PositiveIntegerField(null=True, blank=True)
    pct_intervention = models.DecimalField(
        "% in the LDN arm", max_digits=7, decimal_places=3, null=True, blank=True
    )
    pct_control = models.DecimalField(
        "% in the control arm", max_digits=7, decimal_places=3, null=True, blank=True
    )

    objects = OutcomeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(p_value__isnull=True) | Q(p_value__gte=0, p_value__lte=1),
                name="outcome_p_value_range",
            ),
            models.CheckConstraint(
                condition=Q(ci_low__isnull=True)
                | Q(ci_high__isnull=True)
                | Q(ci_low__lte=models.F("ci_high")),
                name="outcome_ci_ordered",
            ),
            models.CheckConstraint(
                condition=Q(ci_low__isnull=True, ci_high__isnull=True)
                | Q(ci_low__isnull=False, ci_high__isnull=False),
                name="outcome_ci_both_bounds",
                violation_error_message="A confidence interval needs both bounds.",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True)
                | Q(ci_low__isnull=True)
                | Q(ci_low__lte=models.F("value"), ci_high__gte=models.F("value")),
                name="outcome_ci_contains_value",
                violation_error_message="The confidence interval must contain the estimate.",
            ),
            models.CheckConstraint(
                condition=~Q(effect_measure__in=sorted(RATIO_MEASURES))
                | (
                    (Q(value__isnull=True) | Q(value__gt=0))
                    & (Q(ci_low__isnull=True) | Q(ci_low__gt=0))
                ),
                name="outcome_ratio_positive",
                violation_error_message="A hazard, risk or odds ratio must be above zero.",
            ),
            length_at_most("figures", limits.LONG_TEXT_MAX, "outcome_figures_length"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        """Refuse an estimate no plot could draw: each message names the field at fault."""
        errors = {}
        low, high, value = self.ci_low, self.ci_high, self.value
        if (low is None) != (high is None):
            missing = "ci_high" if high is None else "ci_low"
            errors[missing] = "Give both bounds of the confidence interval, or neither."
        if self.effect_measure in RATIO_MEASURES:
            name = EffectMeasure(self.effect_measure).label.lower()
            article = "An" if name[0] in "aeiou" else "A"
            for field, number in (("value", value), ("ci_low", low), ("ci_high", high)):
                if number is not None and number <= 0:
                    errors[field] = f"{article} {name} is above zero; {number} cannot be one."
        if low is not None and high is not None and not errors:
            if low > high:
                errors["ci_low"] = f"The lower bound {low} is above the upper bound {high}."
            elif value is not None and not low <= value <= high:
                errors["value"] = (
                    f"The estimate {value} lies outside its own confidence interval "
                    f"({low} to {high}): one of the three numbers is wrong."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def has_estimate(self):
        """A number with both bounds of its interval: what a forest plot can draw."""
        return None not in (self.value, self.ci_low, self.ci_high) and bool(self.effect_measure)


class EffectSummary(StudyPart):
    """The curator's one-line verdict on a study's evidence for one condition."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="effect_summaries")
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=20, choices=Verdict)
    certainty = models.CharField(max_length=20, choices=Certainty)
    rationale = text_field("why", blank=True)
    downgrades = models.JSONField(
        default=list,
        db_default=[],
        blank=True,
        help_text="GRADE reasons for lowering the certainty.",
    )

    objects = EffectSummaryQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "effect summaries"
        ordering = ["study", "condition__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "condition"], name="effect_summary_one_per_condition"
            ),
            length_at_most("rationale", limits.LONG_TEXT_MAX, "effect_summary_rationale_length"),
        ]

    def __str__(self):
        return f"{self.get_verdict_display()} ({self.get_certainty_display()} certainty)"


class BottomLine(Versioned):
    """The curator's plain statement of what the evidence for one condition adds up to."""

    condition = models.OneToOneField(
        Condition, on_delete=models.CASCADE, related_name="bottom_line"
    )
    text = models.TextField(help_text="One or two plain sentences.")
    certainty = models.CharField(max_length=20, choices=Certainty)
    studies = models.ManyToManyField(
        Study, related_name="bottom_lines", blank=True, help_text="The studies it rests on."
    )
    reviewed = models.DateField("last reviewed")

    history = HistoricalRecords(m2m_fields=[studies])

    class Meta:
        ordering = ["condition__name"]

    def __str__(self):
        return f"Bottom line: {self.condition}"
