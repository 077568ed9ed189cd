"""The evidence model: studies, the conditions they address, what they found, and where
the catalog learned each fact (sources, their verbatim mentions and claims)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.text import slugify
from simple_history.models import HistoricalRecords

from . import identifiers
from .querysets import StudyQuerySet
from .vocabulary import (
    DESIGN_LEVELS,
    Certainty,
    ClaimVerdict,
    ConditionCategory,
    Design,
    Direction,
    EffectMeasure,
    EvidenceLevel,
    RegistryStatus,
    SourceKind,
    Status,
    Verdict,
)

YEAR_MIN = 1900
YEAR_MAX = 2100


class SluggedManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


def _evidence_level_expression():
    whens = [
        models.When(design__in=[d for d, lvl in DESIGN_LEVELS.items() if lvl == level], then=level)
        for level in EvidenceLevel.values
    ]
    return models.Case(*whens, default=EvidenceLevel.UNCLASSIFIED.value)


class Condition(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    synonyms = models.JSONField(default=list, blank=True, help_text="Other names, one per item.")
    category = models.CharField(max_length=30, choices=ConditionCategory, db_index=True)
    description = models.TextField(blank=True)

    objects = SluggedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("studies:condition_detail", args=[self.slug])


class Study(models.Model):
    """A research publication or a registered trial."""

    title = models.TextField()
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
    authors = models.JSONField(default=list, blank=True, help_text="Author names, in order.")
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
    conditions = models.ManyToManyField(Condition, related_name="studies", blank=True)

    sample_size = models.PositiveIntegerField(null=True, blank=True)
    population = models.TextField(blank=True)
    dose = models.CharField(max_length=300, blank=True, help_text="As the source states it.")
    dose_min_mg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    dose_max_mg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    duration = models.CharField(max_length=300, blank=True)
    comparator = models.CharField(max_length=300, blank=True)
    adverse_events = models.TextField(blank=True)
    summary = models.TextField("curator's summary", blank=True)

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
    history = HistoricalRecords(excluded_fields=["evidence_level"], m2m_fields=[conditions])

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
        ]
        indexes = [
            models.Index(fields=["year"], name="study_year_idx"),
            models.Index(fields=["design", "year"], name="study_design_year_idx"),
            models.Index(fields=["evidence_level", "year"], name="study_level_year_idx"),
            models.Index(fields=["status"], name="study_status_idx"),
            # Covers the list's facet counts (studies/facets.py): design, status, decade.
            models.Index(fields=["design", "status", "year"], name="study_facets_idx"),
            models.Index(fields=["sample_size"], name="study_sample_size_idx"),
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

    def unique_slug(self):
        base = slugify(self.title)[:80].strip("-") or "study"
        if self.year:
            base = f"{base}-{self.year}"
        slug, n = base, 2
        while Study.objects.filter(slug=slug).exclude(pk=self.pk).exists():
            slug, n = f"{base}-{n}", n + 1
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

    def apply_registry_update(self, values, user=None, reason=""):
        """Take a newer registry record's status fields; saved with a history record.

        The one place an import changes a study the catalog holds: ``values`` maps some of
        REGISTRY_FIELDS to their new values.
        """
        for name, value in values.items():
            if name not in self.REGISTRY_FIELDS:
                raise ValueError(f"{name} is not a registry field")
            setattr(self, name, value)
        self._history_user = user
        self._change_reason = reason[:100]
        self.save()

    @property
    def completion_expected(self):
        """Whether the registry's completion date is still a plan (the trial goes on)."""
        return self.registry_status not in ("COMPLETED", "TERMINATED", "WITHDRAWN")

    @property
    def level(self):
        return EvidenceLevel(DESIGN_LEVELS[self.design])

    @property
    def has_results(self):
        return self.level not in (EvidenceLevel.NO_RESULTS,)


class Outcome(models.Model):
    """Something a study measured, with its figures verbatim as a source reports them."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="outcomes")
    condition = models.ForeignKey(
        Condition, null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes"
    )
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField("what was measured", max_length=300)
    direction = models.CharField(max_length=20, choices=Direction, default=Direction.UNCLEAR)
    figures = models.TextField(blank=True, help_text="The figures verbatim as reported.")
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
        ]

    def __str__(self):
        return self.name


class EffectSummary(models.Model):
    """The curator's one-line verdict on a study's evidence for one condition."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="effect_summaries")
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=20, choices=Verdict)
    certainty = models.CharField(max_length=20, choices=Certainty)
    rationale = models.TextField("why", blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "effect summaries"
        ordering = ["study", "condition__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "condition"], name="effect_summary_one_per_condition"
            )
        ]

    def __str__(self):
        return f"{self.get_verdict_display()} ({self.get_certainty_display()} certainty)"


class Source(models.Model):
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
    text = models.TextField(
        blank=True, help_text="The document's full text, where the catalog holds it."
    )
    description = models.TextField(blank=True)

    objects = SluggedManager()
    history = HistoricalRecords(excluded_fields=["text"])

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("studies:source_detail", args=[self.slug])


class Mention(models.Model):
    """A verbatim passage of a source that mentions a study: the study's provenance."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="mentions")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="mentions")
    quote = models.TextField()
    locator = models.CharField("where in the source", max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "source__title", "pk"]
        constraints = [models.CheckConstraint(condition=~Q(quote=""), name="mention_quote_present")]

    def __str__(self):
        return f"{self.source} on {self.study}"


class Claim(models.Model):
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
    quote = models.TextField()
    locator = models.CharField("where in the source", max_length=200, blank=True)
    verdict = models.CharField(max_length=20, choices=ClaimVerdict)
    note = models.TextField(blank=True)

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
        ]

    def __str__(self):
        return f"{self.source}: {self.quote[:80]}"
