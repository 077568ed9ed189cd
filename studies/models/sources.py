"""Where the catalog learned each fact: secondary documents, their verbatim mentions of
studies and the claims they make about them."""

from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from .. import limits
from ..limits import length_at_most
from ..querysets import SluggedQuerySet
from ..versions import Versioned
from ..vocabulary import ClaimVerdict, SourceKind
from .catalog import Study, StudyPart, text_field


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
