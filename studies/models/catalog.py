"""The catalog's core: conditions, studies and their condition tags, each study's search
document, and the base of the rows edited as part of a study."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from simple_history.models import HistoricalRecords

from .. import identifiers, limits, search
from ..limits import length_at_most
from ..querysets import ConditionQuerySet, StudyQuerySet
from ..versions import Versioned
from ..vocabulary import (
    DESIGN_LEVELS,
    DOSE_BAND_LIMITS,
    ConditionBasis,
    ConditionCategory,
    Design,
    DesignBasis,
    DoseBand,
    EvidenceLevel,
    RegistryStatus,
    Status,
    validate_registry_date,
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

    objects = ConditionQuerySet.as_manager()
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

    def evidence(self, section_size):
        """What the condition's page shows of its studies: the number of studies by
        evidence level, and the first ``section_size`` rows of each section with how many
        there are in all (a condition with thousands of studies still gives a page of a
        few dozen lines). The section counts come with the levels, in one query."""
        by_level = Study.objects.counted_for_any_condition_id([self.pk]).level_counts()
        studies = Study.objects.for_any_condition_id([self.pk]).with_citing_only(self)
        from .results import EffectSummary

        findings, findings_total = EffectSummary.objects.findings(self).first_with_total(
            section_size
        )
        return {
            "total": sum(row["n"] for row in by_level.values()),
            "pyramid": [
                (level, by_level[level.value]["n"] if level.value in by_level else 0)
                for level in EvidenceLevel
            ],
            "pyramid_max": max((row["n"] for row in by_level.values()), default=0),
            "findings": {"rows": findings, "total": findings_total},
            "ongoing": {
                "rows": list(studies.ongoing().for_list().sorted_by("newest")[:section_size]),
                "total": sum(row["ongoing"] for row in by_level.values()),
            },
            "harms": {
                "rows": list(studies.reporting_harms().sorted_by("level")[:section_size]),
                "total": sum(row["harms"] for row in by_level.values()),
            },
            "strongest": list(studies.for_list().sorted_by("level")[:5]),
        }


class StudyPart(models.Model):
    """A row edited as part of its study: writing or deleting it bumps the study's version,
    so that a study form opened before the change is stale (studies/versions.py), and its
    ``updated_at``, which dates the study's entry in the feed (its verdicts are there)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.study_changed()

    def study_changed(self):
        Study.objects.filter(pk=self.study_id).bump_version(updated_at=timezone.now())


def study_part_deleted(sender, instance, **kwargs):
    """A part deleted alone, or with what it points to (deleting a condition deletes its
    tags and effect summaries): its study changed. Connected to each StudyPart model by
    StudiesConfig.ready: a receiver for every sender would take the fast delete from every
    model of the project (sessions, history records), since Django then sends it for each."""
    instance.study_changed()


class StudyCondition(StudyPart):
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
        return str(self.condition)

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
        validators=[validate_registry_date],
    )
    expected_completion = models.CharField(
        max_length=10,
        blank=True,
        default="",
        db_default="",
        help_text="The trial's completion date as the registry gives it (expected, or "
        "actual once completed): YYYY-MM or YYYY-MM-DD.",
        validators=[validate_registry_date],
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
            # Covers the list's facet counts (studies/facets.py): design, status, decade and
            # dose band in one GROUP BY.
            models.Index(fields=["design", "status", "year", "dose_band"], name="study_facets_idx"),
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

    def record_condition_tags(self):
        """Copy the study's condition tags as they are now onto its newest history record.

        simple-history copies them when the study is saved; the admin saves a study's
        inline rows, its tags among them, after the study, so the record of the save that
        changed the tags held the tags from before it."""
        record = self.history.first()
        links = record.conditions.model  # simple-history's HistoricalStudy_conditions
        links.objects.filter(history=record).delete()
        fields = [field.name for field in StudyCondition._meta.fields]
        links.objects.bulk_create(
            links(history=record, **{name: getattr(tag, name) for name in fields})
            for tag in self.condition_tags.all()
        )

    def recorded_condition_tags(self, record):
        """The condition tags ``record``, one of the study's history records, holds: its
        history link rows (condition, basis, note), each with ``condition_name`` and
        ``gone``: the condition was deleted since, so no tag can point at it again (its
        name is then the last its own history holds)."""
        tags = list(record.conditions.all())
        names = dict(
            Condition.objects.filter(pk__in=[tag.condition_id for tag in tags]).values_list(
                "pk", "name"
            )
        )
        for tag in tags:
            tag.gone = tag.condition_id not in names
            if tag.gone:
                last = Condition.history.filter(id=tag.condition_id).first()
                tag.condition_name = last.name if last else f"condition #{tag.condition_id}"
            else:
                tag.condition_name = names[tag.condition_id]
        return sorted(tags, key=lambda tag: tag.condition_name.casefold())

    def restore_condition_tags(self, record):
        """Make the study's condition tags those ``record`` holds, basis and note included
        (reverting to it restores the whole record), and copy them onto the newest history
        record. Returns the recorded tags that could not come back (``gone``)."""
        recorded = self.recorded_condition_tags(record)
        wanted = {tag.condition_id: tag for tag in recorded if not tag.gone}
        # One write per tag, each through the model: each bumps the study's version.
        for tag in self.condition_tags.all():
            was = wanted.pop(tag.condition_id, None)
            if was is None:
                tag.delete()
            elif (tag.basis, tag.note) != (was.basis, was.note):
                tag.basis, tag.note = was.basis, was.note
                tag.save()
        for was in wanted.values():
            StudyCondition.objects.create(
                study=self, condition_id=was.condition_id, basis=was.basis, note=was.note
            )
        self.record_condition_tags()
        return [tag for tag in recorded if tag.gone]

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

    # A registered trial's record at its registry (issue 13): its status there, when that
    # was checked, the completion date, whether results are posted. The exports write them.
    REGISTRY_RECORD = (
        "registry_status",
        "registry_checked",
        "expected_completion",
        "results_posted",
    )
    # The fields a newer registry record of the same trial may change (the import's
    # "update" of a trial the catalog holds already).
    REGISTRY_FIELDS = ("status", *REGISTRY_RECORD)

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
