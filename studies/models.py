"""The evidence model: studies, the conditions they address, what they found, and where
the catalog learned each fact (sources, their verbatim mentions and claims)."""

import secrets
import zlib
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from simple_history.models import HistoricalRecords

from . import identifiers, limits, search
from .limits import length_at_most
from .querysets import OutcomeQuerySet, StudyQuerySet
from .versions import Versioned, VersionedQuerySet
from .vocabulary import (
    DESIGN_LEVELS,
    DOSE_BAND_LIMITS,
    RATIO_MEASURES,
    Certainty,
    ClaimVerdict,
    ConditionBasis,
    ConditionCategory,
    Design,
    DesignBasis,
    Direction,
    DoseBand,
    EffectMeasure,
    EvidenceLevel,
    OutcomeDomain,
    RegistryStatus,
    SourceKind,
    Status,
    Verdict,
)

YEAR_MIN = 1900
YEAR_MAX = 2100


def text_field(verbose_name=None, *, limit=limits.LONG_TEXT_MAX, **options):
    """A text field of at most ``limit`` characters (see studies/limits.py)."""
    return models.TextField(
        verbose_name, max_length=limit, validators=[MaxLengthValidator(limit)], **options
    )


def _history_model_name(name):
    # The condition tags' history keeps the name (and table) it had before the tags had a
    # model of their own: HistoricalStudy_conditions.
    return "HistoricalStudy_conditions" if name == "StudyCondition" else f"Historical{name}"


class SluggedQuerySet(VersionedQuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


def _evidence_level_expression():
    whens = [
        models.When(design__in=[d for d, lvl in DESIGN_LEVELS.items() if lvl == level], then=level)
        for level in EvidenceLevel.values
    ]
    return models.Case(*whens, default=EvidenceLevel.UNCLASSIFIED.value)


def _dose_band_expression():
    """The band of the highest daily dose a study states (its maximum, else its minimum)."""
    whens = [
        models.When(
            dose_min_mg__isnull=True,
            dose_max_mg__isnull=True,
            then=models.Value(DoseBand.NOT_STATED.value),
        )
    ]
    for band, limit in DOSE_BAND_LIMITS.items():
        lookup = "lte" if band == DoseBand.LOW else "lt"
        below = Q(**{f"dose_max_mg__{lookup}": Decimal(limit)}) | Q(
            dose_max_mg__isnull=True, **{f"dose_min_mg__{lookup}": Decimal(limit)}
        )
        whens.append(models.When(below, then=models.Value(band.value)))
    return models.Case(*whens, default=models.Value(DoseBand.STANDARD.value))


class Condition(Versioned):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    synonyms = models.JSONField(
        default=list,
        blank=True,
        help_text="Other names, one per item.",
        validators=[limits.NameListValidator(limits.SYNONYMS_MAX, limits.SYNONYM_MAX, "synonym")],
    )
    category = models.CharField(max_length=30, choices=ConditionCategory, db_index=True)
    description = text_field(blank=True)

    objects = SluggedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            length_at_most("synonyms", limits.SYNONYMS_JSON_MAX, "condition_synonyms_length"),
            length_at_most("description", limits.LONG_TEXT_MAX, "condition_description_length"),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("studies:condition_detail", args=[self.slug])


class StudyCondition(models.Model):
    """A study's condition tag, with what it rests on (docs/curation.md)."""

    study = models.ForeignKey("Study", on_delete=models.CASCADE, related_name="condition_tags")
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="+")
    # Database defaults too: rows written in bulk without these columns (generate_studies)
    # get the same values as rows saved through the model.
    basis = models.CharField(
        max_length=10,
        choices=ConditionBasis,
        default=ConditionBasis.STUDY,
        db_default=ConditionBasis.STUDY,
    )
    note = models.TextField(
        blank=True, default="", db_default="", help_text="The curator's note on the tag."
    )

    class Meta:
        db_table = "studies_study_conditions"
        unique_together = [("study", "condition")]
        verbose_name = "condition tag"

    def __str__(self):
        return f"{self.study_id} → {self.condition_id} ({self.basis})"

    @property
    def named_only_by_citing(self):
        return self.basis == ConditionBasis.CITING


class Study(Versioned):
    """A research publication or a registered trial."""

    title = text_field(limit=limits.TITLE_MAX)
    descriptive_title = models.BooleanField(
        default=False,
        help_text="No source gives this study's title: the title is the curator's description.",
    )
    slug = models.SlugField(max_length=120, unique=True)
    year = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(YEAR_MIN), MaxValueValidator(YEAR_MAX)],
    )
    authors = models.JSONField(
        default=list,
        blank=True,
        help_text="Author names, in order.",
        validators=[limits.NameListValidator(limits.AUTHORS_MAX, limits.AUTHOR_MAX, "author")],
    )
    journal = models.CharField(max_length=300, blank=True)
    volume = models.CharField(max_length=50, blank=True)
    issue = models.CharField(max_length=50, blank=True)
    pages = models.CharField(max_length=50, blank=True)
    doi = models.CharField("DOI", max_length=255, null=True, blank=True, unique=True)
    pmid = models.CharField("PMID", max_length=12, null=True, blank=True, unique=True)
    pmcid = models.CharField("PMCID", max_length=15, null=True, blank=True, unique=True)
    registry_id = models.CharField(
        "trial registry id", max_length=50, null=True, blank=True, unique=True
    )
    url = models.URLField("URL", max_length=500, blank=True)

    design = models.CharField(max_length=30, choices=Design, default=Design.OTHER)
    design_basis = models.CharField(
        max_length=10,
        choices=DesignBasis,
        default=DesignBasis.STATED,
        db_default=DesignBasis.STATED,
        help_text="Whether a document states the design or the curator infers it.",
    )
    design_quote = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="For an inferred design: the verbatim text it is inferred from.",
    )
    evidence_level = models.GeneratedField(
        expression=_evidence_level_expression(),
        output_field=models.PositiveSmallIntegerField(choices=EvidenceLevel),
        db_persist=True,
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.PUBLISHED)
    registry_status = models.CharField(
        max_length=30,
        choices=RegistryStatus,
        blank=True,
        default="",
        db_default="",
        help_text="The trial's overall status as its registry gives it.",
    )
    registry_checked = models.CharField(
        "registry status checked",
        max_length=10,
        blank=True,
        default="",
        db_default="",
        help_text="When the registry last verified that status, as it gives the date "
        "(YYYY-MM or YYYY-MM-DD).",
    )
    expected_completion = models.CharField(
        max_length=10,
        blank=True,
        default="",
        db_default="",
        help_text="The trial's completion date as the registry gives it (expected, or "
        "actual once completed): YYYY-MM or YYYY-MM-DD.",
    )
    results_posted = models.BooleanField(
        null=True, blank=True, help_text="Whether the registry holds the trial's results."
    )
    conditions = models.ManyToManyField(
        Condition, related_name="studies", blank=True, through=StudyCondition
    )

    sample_size = models.PositiveIntegerField(null=True, blank=True)
    population = text_field(blank=True)
    dose = models.CharField(max_length=300, blank=True, help_text="As the source states it.")
    dose_min_mg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    dose_max_mg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    dose_band = models.GeneratedField(
        expression=_dose_band_expression(),
        output_field=models.CharField(max_length=20, choices=DoseBand),
        db_persist=True,
    )
    duration = models.CharField(max_length=300, blank=True)
    comparator = models.CharField(max_length=300, blank=True)
    adverse_events = text_field(blank=True)
    summary = text_field("curator's summary", limit=limits.SUMMARY_MAX, blank=True)

    reviewed_at = models.DateTimeField("last reviewed", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="last reviewed by",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StudyQuerySet.as_manager()
    history = HistoricalRecords(
        excluded_fields=["evidence_level", "dose_band"],
        m2m_fields=[conditions],
        custom_model_name=_history_model_name,
    )

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-year", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=YEAR_MIN, year__lte=YEAR_MAX),
                name="study_year_in_range",
                violation_error_message=f"The year must be between {YEAR_MIN} and {YEAR_MAX}.",
            ),
            models.CheckConstraint(
                condition=Q(doi__isnull=True) | Q(doi__regex=r"^10\.[0-9]{4,9}/[^A-Z\s]+$"),
                name="study_doi_normalised",
            ),
            models.CheckConstraint(
                condition=Q(pmid__isnull=True) | Q(pmid__regex=r"^[1-9][0-9]*$"),
                name="study_pmid_digits",
            ),
            models.CheckConstraint(
                condition=Q(pmcid__isnull=True) | Q(pmcid__regex=r"^PMC[0-9]+$"),
                name="study_pmcid_shape",
            ),
            models.CheckConstraint(
                condition=Q(dose_min_mg__isnull=True)
                | Q(dose_max_mg__isnull=True)
                | Q(dose_min_mg__lte=models.F("dose_max_mg")),
                name="study_dose_range_ordered",
                violation_error_message="The lowest dose must not exceed the highest dose.",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="study_title_present"),
            length_at_most("title", limits.TITLE_MAX, "study_title_length"),
            length_at_most("authors", limits.AUTHORS_JSON_MAX, "study_authors_length"),
            length_at_most("summary", limits.SUMMARY_MAX, "study_summary_length"),
            length_at_most("population", limits.LONG_TEXT_MAX, "study_population_length"),
            length_at_most("adverse_events", limits.LONG_TEXT_MAX, "study_adverse_events_length"),
        ]
        indexes = [
            models.Index(fields=["year"], name="study_year_idx"),
            models.Index(fields=["design", "year"], name="study_design_year_idx"),
            models.Index(fields=["evidence_level", "year"], name="study_level_year_idx"),
            models.Index(fields=["status"], name="study_status_idx"),
            # Covers the list's facet counts (studies/facets.py): design, status, decade.
            models.Index(fields=["design", "status", "year"], name="study_facets_idx"),
            models.Index(fields=["sample_size"], name="study_sample_size_idx"),
            models.Index(fields=["dose_band"], name="study_dose_band_idx"),
        ]

    def __str__(self):
        return f"{self.title} ({self.year})" if self.year else self.title

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("studies:study_detail", args=[self.slug])

    def save(self, *args, **kwargs):
        self.normalize_identifiers()
        if not self.slug:
            self.slug = self.unique_slug()
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        for field, normalize in self.IDENTIFIER_FIELDS.items():
            try:
                setattr(self, field, normalize(getattr(self, field)))
            except ValidationError as error:
                errors[field] = error
        if not isinstance(self.authors, list) or not all(isinstance(a, str) for a in self.authors):
            errors["authors"] = ValidationError("Authors must be a list of names.")
        if errors:
            raise ValidationError(errors)

    IDENTIFIER_FIELDS = {
        "doi": identifiers.normalize_doi,
        "pmid": identifiers.normalize_pmid,
        "pmcid": identifiers.normalize_pmcid,
        "registry_id": identifiers.normalize_registry_id,
    }

    def normalize_identifiers(self):
        """Store identifiers in canonical form; invalid ones raise ValidationError."""
        for field, normalize in self.IDENTIFIER_FIELDS.items():
            setattr(self, field, normalize(getattr(self, field)))

    def unique_slug(self, taken=None):
        """The title and year as a slug no other study has. Given ``taken`` (the slugs
        in use, as a set: an import checks a whole file against it), the set is asked
        instead of the database, and the slug is added to it."""
        base = slugify(self.title)[:80].strip("-") or "study"
        if self.year:
            base = f"{base}-{self.year}"
        slug, n = base, 2
        while (
            slug in taken
            if taken is not None
            else Study.objects.filter(slug=slug).exclude(pk=self.pk).exists()
        ):
            slug, n = f"{base}-{n}", n + 1
        if taken is not None:
            taken.add(slug)
        return slug

    # The fields a newer registry record of the same trial may change (the import's
    # "update" of a trial the catalog holds already).
    REGISTRY_FIELDS = (
        "status",
        "registry_status",
        "registry_checked",
        "expected_completion",
        "results_posted",
    )

    def apply_registry_update(self, values, user=None, reason="", expected_version=None):
        """Take a newer registry record's status fields; saved with a history record.

        The one place an import changes a study the catalog holds: ``values`` maps some of
        REGISTRY_FIELDS to their new values. With ``expected_version`` (the version the
        curator's preview showed) a study changed since is refused with ``EditConflict``.
        """
        for name, value in values.items():
            if name not in self.REGISTRY_FIELDS:
                raise ValueError(f"{name} is not a registry field")
            setattr(self, name, value)
        self._history_user = user
        self._change_reason = reason[:100]
        self.save(expected_version=expected_version)

    @property
    def completion_expected(self):
        """Whether the registry's completion date is still a plan (the trial goes on)."""
        return self.registry_status not in ("COMPLETED", "TERMINATED", "WITHDRAWN")

    @property
    def level(self):
        return EvidenceLevel(DESIGN_LEVELS[self.design])

    @property
    def design_inferred(self):
        return self.design_basis == DesignBasis.INFERRED


class SearchDocument(models.Model):
    """A study's search document: the ``studies_search`` table that database triggers
    keep in step with the study (studies/search.py); never written through Django."""

    study = models.OneToOneField(
        "Study",
        primary_key=True,
        db_column="rowid",
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="search_document",
    )
    document = search.SearchDocumentField()

    class Meta:
        managed = False
        db_table = search.TABLE


class StudyPart(models.Model):
    """A row edited as part of its study: writing it bumps the study's version, so that a
    study form opened before the change is stale (studies/versions.py)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        Study.objects.filter(pk=self.study_id).bump_version()

    def delete(self, *args, **kwargs):
        study_id = self.study_id
        result = super().delete(*args, **kwargs)
        Study.objects.filter(pk=study_id).bump_version()
        return result


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


class BottomLine(models.Model):
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


class Source(Versioned):
    """A secondary document that mentions studies and makes claims about them."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=20, choices=SourceKind)
    author = models.CharField(max_length=300, blank=True)
    publisher = models.CharField(max_length=300, blank=True)
    url = models.URLField("URL", max_length=500, blank=True)
    date = models.CharField(max_length=50, blank=True, help_text="As the document gives it.")
    file_name = models.CharField(
        max_length=100, blank=True, help_text="The document's text file in fixtures/sources/."
    )
    text = text_field(
        limit=limits.SOURCE_TEXT_MAX,
        blank=True,
        help_text="The document's full text, where the catalog holds it.",
    )
    description = text_field(blank=True)
    evidence_quote = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="What the source says about the evidence as a whole, verbatim.",
    )
    evidence_note = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="The curator's note on it, e.g. where it conflicts with the list.",
    )

    objects = SluggedQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["text"])

    class Meta:
        ordering = ["title"]
        constraints = [
            length_at_most("text", limits.SOURCE_TEXT_MAX, "source_text_length"),
            length_at_most("description", limits.LONG_TEXT_MAX, "source_description_length"),
        ]

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("studies:source_detail", args=[self.slug])


class Mention(StudyPart):
    """A verbatim passage of a source that mentions a study: the study's provenance."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="mentions")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="mentions")
    quote = text_field()
    locator = models.CharField("where in the source", max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "source__title", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(quote=""), name="mention_quote_present"),
            length_at_most("quote", limits.LONG_TEXT_MAX, "mention_quote_length"),
        ]

    def __str__(self):
        return f"{self.source} on {self.study}"


class Claim(StudyPart):
    """A statement a source makes about a study, and the curator's verdict on it.

    ``study`` is the study the statement is about (the paper the source cites);
    a claim that cites a non-research document names it in ``cited_source`` instead.
    """

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="claims")
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.CASCADE, related_name="claims"
    )
    cited_source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="cited_by_claims"
    )
    quote = text_field()
    locator = models.CharField("where in the source", max_length=200, blank=True)
    verdict = models.CharField(max_length=20, choices=ClaimVerdict)
    note = text_field(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["source__title", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(quote=""), name="claim_quote_present"),
            models.CheckConstraint(
                condition=Q(study__isnull=False) | Q(cited_source__isnull=False),
                name="claim_has_subject",
                violation_error_message="A claim is about a study or cites a source.",
            ),
            length_at_most("quote", limits.LONG_TEXT_MAX, "claim_quote_length"),
            length_at_most("note", limits.LONG_TEXT_MAX, "claim_note_length"),
        ]

    def __str__(self):
        return f"{self.source}: {self.quote[:80]}"


class CatalogRevision(models.Model):
    """One row counting changes to the catalog: every write bumps it in the same transaction
    (studies/caching.py), so every worker that reads it by primary key sees a change as
    soon as the change itself. Public pages' ETags and the data cached per catalog version
    are keyed on it."""

    number = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField()

    def __str__(self):
        return f"revision {self.number} of {self.changed_at:%Y-%m-%d %H:%M:%S}"


def new_token():
    return secrets.token_urlsafe(16)


class ImportJob(models.Model):
    """One BibTeX import from upload to report: who, which file, how far, what came of it.

    A worker (``manage.py db_worker``) runs it twice: first it checks every entry and keeps
    the preview (nothing written); once a curator confirms, it checks again and creates the
    new studies. The file waits here (compressed) in between; progress and reports are
    recorded here, so the progress page survives restarts of the site and of the worker.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "waiting for a worker"
        CHECKING = "checking", "checking entries"
        PREVIEWED = "previewed", "checked, waiting for confirmation"
        WRITING = "writing", "writing the new studies"
        DONE = "done", "done"
        CANCELLED = "cancelled", "cancelled: nothing was imported"
        FAILED = "failed", "failed: nothing was imported"

    FINISHED = (Status.DONE, Status.CANCELLED, Status.FAILED)
    RUNNING = (Status.CHECKING, Status.WRITING)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    # The preview page's confirmation carries this; it confirms nothing else.
    token = models.CharField(max_length=32, default=new_token, unique=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.QUEUED)
    # False: the worker checks and keeps a preview; True: it imports.
    confirmed = models.BooleanField(default=False)
    format = models.CharField(max_length=20, default="bibtex")
    # Set when the curator confirms: import the valid entries of a file with errors (the
    # admin asks first; import_bibtex --background does, as import_bibtex does), and the
    # accepted registry updates ({position in the report: the study's version then}).
    skip_errors = models.BooleanField(default=True)
    accepted_updates = models.JSONField(default=dict, blank=True)
    # zlib-compressed UTF-8 text of the file; emptied once the import has finished.
    data = models.BinaryField(default=b"")
    done = models.PositiveIntegerField("entries checked", default=0)
    total = models.PositiveIntegerField("entries", default=0)
    cancel_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=64, blank=True)
    # Counts and the per-entry report (jobs.report_json) of the preview, then of the
    # import; why it failed.
    report = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("admin:studies_study_import_job", args=[self.pk])

    @property
    def finished(self):
        return self.status in self.FINISHED

    @property
    def waiting(self):
        """Queued or running: its page reloads itself."""
        return not self.finished and self.status != self.Status.PREVIEWED

    @property
    def percent(self):
        return 100 * self.done // self.total if self.total else 0

    @property
    def text(self):
        return zlib.decompress(self.data).decode() if self.data else ""

    @text.setter
    def text(self, value):
        self.data = zlib.compress(value.encode(), 6)

    @classmethod
    def submit(cls, text, file_name, user=None, confirmed=False, format="bibtex", **options):
        """A new job for ``text`` (in ``format``: see formats.PARSERS), queued for a worker:
        to preview, or (``confirmed``, as ``import_bibtex --background`` does) to import
        at once; ``options`` are skip_errors and accepted_updates."""
        job = cls(
            user=user, file_name=file_name[:255], confirmed=confirmed, format=format, **options
        )
        job.text = text
        job.save()
        job._enqueue()
        return job

    def confirm(self, skip_errors=False, updates=()):
        """Queue a previewed job again, this time to import; with ``skip_errors`` the valid
        entries of a file with errors, and the registry updates of the rows at ``updates``
        (positions in the preview) the curator accepted."""
        offered = {
            position: row["existing_version"]
            for position, row in enumerate((self.report or {}).get("rows", []))
            if row.get("update")
        }
        accepted = {str(n): offered[n] for n in updates if n in offered}
        confirmed = ImportJob.objects.filter(pk=self.pk, status=self.Status.PREVIEWED).update(
            status=self.Status.QUEUED,
            confirmed=True,
            done=0,
            skip_errors=skip_errors,
            accepted_updates=accepted,
        )
        if confirmed:
            self._enqueue()
        self.refresh_from_db()
        return bool(confirmed)

    def _enqueue(self):
        # The job's status and its row in the database task queue commit together.
        from .tasks import import_job  # the task imports studies.jobs, which imports models

        with transaction.atomic():
            result = import_job.enqueue(self.pk)
            ImportJob.objects.filter(pk=self.pk).update(task_id=str(result.id))
        self.refresh_from_db()

    def request_cancel(self):
        """Cancel: at once if no worker is on it, else at the worker's next check."""
        waiting = ImportJob.objects.filter(
            pk=self.pk, status__in=[self.Status.QUEUED, self.Status.PREVIEWED]
        )
        if waiting.update(status=self.Status.CANCELLED, finished_at=timezone.now(), data=b""):
            return
        ImportJob.objects.filter(pk=self.pk, status__in=self.RUNNING).update(cancel_requested=True)

    def is_cancel_requested(self):
        return ImportJob.objects.filter(pk=self.pk, cancel_requested=True).exists()

    def record_progress(self, done, total):
        ImportJob.objects.filter(pk=self.pk).update(done=done, total=total or self.total)
