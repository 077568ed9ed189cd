"""The curators' admin for the evidence model. Every admin keeps and shows history."""

import json

from django.contrib import admin, messages
from django.db.models import Count, Exists, ForeignKey, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import path
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from ..forms import StudyAdminForm
from ..models import Claim, Condition, EffectSummary, Mention, Outcome, Source, Study
from . import imports


def _count(model, counted="pk"):
    """How many distinct ``counted`` of ``model`` rows point at the outer study.

    A subquery per column rather than joins, so two counts do not multiply each other.
    """
    rows = (
        model.objects.filter(study=OuterRef("pk"))
        .order_by()
        .values("study")
        .annotate(n=Count(counted, distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


class HistoryAdmin(SimpleHistoryAdmin):
    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        # simple-history 3.13 calls select_related() without names for models with no
        # foreign key (Condition, Source), which Django 6.1 deprecates.
        records = history_manager.filter(**{pk_name: object_id}).select_related("history_user")
        foreign_keys = [
            field.name
            for field in history_manager.model.tracked_fields
            if isinstance(field, ForeignKey)
        ]
        return records.select_related(*foreign_keys) if foreign_keys else records


class HasProvenanceFilter(admin.SimpleListFilter):
    title = "provenance quote"
    parameter_name = "provenance"

    def lookups(self, request, model_admin):
        return [("yes", "Has a quote"), ("no", "Has no provenance quote")]

    def queryset(self, request, queryset):
        quoted = Exists(Mention.objects.filter(study=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(quoted)
        if self.value() == "no":
            return queryset.filter(~quoted)
        return queryset


class HasOutcomesFilter(admin.SimpleListFilter):
    title = "outcomes"
    parameter_name = "outcomes"

    def lookups(self, request, model_admin):
        return [("yes", "Has outcomes"), ("no", "Has no outcomes")]

    def queryset(self, request, queryset):
        measured = Exists(Outcome.objects.filter(study=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(measured)
        if self.value() == "no":
            return queryset.filter(~measured)
        return queryset


class OutcomeInline(admin.StackedInline):
    model = Outcome
    extra = 0
    autocomplete_fields = ["condition", "source"]
    fields = [
        ("name", "position", "condition"),
        ("direction", "source"),
        "figures",
        ("effect_measure", "value", "ci_low", "ci_high", "p_value"),
        ("n_intervention", "n_control"),
    ]


class EffectSummaryInline(admin.TabularInline):
    model = EffectSummary
    extra = 0
    autocomplete_fields = ["condition"]


class ClaimInline(admin.StackedInline):
    model = Claim
    fk_name = "study"
    extra = 0
    autocomplete_fields = ["source", "cited_source"]
    fields = [("source", "locator", "verdict"), "quote", "note", "cited_source"]


class MentionInline(admin.TabularInline):
    model = Mention
    extra = 0
    autocomplete_fields = ["source"]
    verbose_name = "provenance quote"


@admin.register(Study)
class StudyAdmin(HistoryAdmin):
    form = StudyAdminForm
    inlines = [OutcomeInline, EffectSummaryInline, ClaimInline, MentionInline]
    autocomplete_fields = ["conditions"]
    search_fields = ["title", "authors", "doi", "pmid", "pmcid", "registry_id", "slug"]
    list_display = [
        "title",
        "design",
        "year",
        "sample_size",
        "outcome_count",
        "source_count",
        "reviewed_at",
    ]
    list_filter = [
        "design",
        "status",
        "conditions",
        "year",
        HasProvenanceFilter,
        HasOutcomesFilter,
    ]
    list_per_page = 50
    readonly_fields = ["evidence_level", "reviewed_at", "reviewed_by", "created_at", "updated_at"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["mark_reviewed"]
    fieldsets = [
        (None, {"fields": ["title", "descriptive_title", "slug", "year", "authors"]}),
        ("Publication", {"fields": [("journal", "volume", "issue", "pages"), "url"]}),
        ("Identifiers", {"fields": [("doi", "pmid", "pmcid", "registry_id")]}),
        (
            "Registry",
            {
                "fields": [
                    ("registry_status", "registry_checked"),
                    ("expected_completion", "results_posted"),
                ]
            },
        ),
        (
            "Study",
            {
                "fields": [
                    ("design", "evidence_level", "status"),
                    "conditions",
                    "sample_size",
                    "population",
                    ("dose", "dose_min_mg", "dose_max_mg"),
                    ("duration", "comparator"),
                    "adverse_events",
                    "summary",
                ]
            },
        ),
        (
            "Review",
            {
                "fields": [
                    ("reviewed_at", "reviewed_by", "mark_reviewed"),
                    ("created_at", "updated_at"),
                    "save_anyway",
                ]
            },
        ),
    ]

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(lambda request: view(self, request))

        return [
            path("import-bibtex/", wrap(imports.import_view), name="studies_study_import"),
            path(
                "import-bibtex/confirm/",
                wrap(imports.confirm_view),
                name="studies_study_import_confirm",
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                outcome_count=_count(Outcome),
                source_count=_count(Mention, "source"),
            )
        )

    @admin.display(description="outcomes", ordering="outcome_count")
    def outcome_count(self, study):
        return study.outcome_count

    @admin.display(description="sources", ordering="source_count")
    def source_count(self, study):
        return study.source_count

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # SQLite keeps JSON with non-ASCII characters escaped (“M\u00fcller”): match that too.
        escaped = json.dumps(search_term.strip())[1:-1]
        if search_term.strip() and escaped != search_term.strip():
            queryset |= self.model.objects.filter(authors__icontains=escaped)
        return queryset, may_have_duplicates

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("mark_reviewed"):
            obj.reviewed_at = timezone.now()
            obj.reviewed_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Mark the selected studies as reviewed", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        now = timezone.now()
        # One save per study, not update(): each review is recorded in the study's history.
        for study in queryset:
            study.reviewed_at, study.reviewed_by = now, request.user
            study._change_reason = "Marked as reviewed"
            study.save(update_fields=["reviewed_at", "reviewed_by", "updated_at"])
        self.message_user(
            request, f"Marked {len(queryset)} studies as reviewed.", level=messages.SUCCESS
        )


@admin.register(Condition)
class ConditionAdmin(HistoryAdmin):
    # Explicit: the study count's GROUP BY drops the model's default ordering, and the
    # autocomplete pages through this queryset.
    ordering = ["name"]
    search_fields = ["name", "slug", "synonyms"]
    list_display = ["name", "category", "study_count"]
    list_filter = ["category"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(study_count=Count("studies"))

    @admin.display(description="studies", ordering="study_count")
    def study_count(self, condition):
        return condition.study_count


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    search_fields = ["title", "slug", "author", "publisher", "url"]
    list_display = ["title", "kind", "publisher", "date", "mention_count"]
    list_filter = ["kind"]
    prepopulated_fields = {"slug": ["title"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(mention_count=Count("mentions"))

    @admin.display(description="mentions", ordering="mention_count")
    def mention_count(self, source):
        return source.mention_count


class StudyPartAdmin(HistoryAdmin):
    """A model edited inline on its study; listed on its own for its history."""

    autocomplete_fields = ["study"]
    list_select_related = ["study"]


@admin.register(Outcome)
class OutcomeAdmin(StudyPartAdmin):
    list_display = ["name", "study", "direction", "effect_measure", "value"]
    list_filter = ["direction", "effect_measure"]
    search_fields = ["name", "figures", "study__title"]
    autocomplete_fields = ["study", "condition", "source"]


@admin.register(EffectSummary)
class EffectSummaryAdmin(StudyPartAdmin):
    list_display = ["study", "condition", "verdict", "certainty"]
    list_filter = ["verdict", "certainty", "condition"]
    search_fields = ["study__title", "condition__name"]
    autocomplete_fields = ["study", "condition"]
    list_select_related = ["study", "condition"]


@admin.register(Claim)
class ClaimAdmin(StudyPartAdmin):
    list_display = ["__str__", "study", "verdict"]
    list_filter = ["verdict"]
    search_fields = ["quote", "study__title", "source__title"]
    autocomplete_fields = ["study", "source", "cited_source"]
    list_select_related = ["study", "source"]


@admin.register(Mention)
class MentionAdmin(StudyPartAdmin):
    list_display = ["study", "source", "locator"]
    search_fields = ["quote", "study__title", "source__title"]
    autocomplete_fields = ["study", "source"]
    list_select_related = ["study", "source"]
