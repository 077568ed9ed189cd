"""The curators' admin for the evidence model. Every admin keeps and shows history."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import Count, Exists, ForeignKey, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseBadRequest
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME

from ..forms import CatalogAdminForm, StudyAdminForm
from ..models import (
    BottomLine,
    Claim,
    Condition,
    EffectSummary,
    Mention,
    Outcome,
    Source,
    Study,
    StudyCondition,
)
from ..versions import EditConflict
from . import imports
from .conflicts import (
    StudyPartForm,
    VersionedAdmin,
    VersionedInlineForm,
    VersionedInlineFormSet,
)
from .inline_permissions import InlinePermissionsAdmin


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


def _without_nul(text):
    return text.replace("\x00", "")


def _pk_or_404(model, value):
    """``value`` as ``model``'s primary key, or 404: a URL's id may be anything."""
    field = model._meta.pk
    try:
        value = field.to_python(value)
        field.run_validators(value)  # within the column's range
    except ValidationError:
        raise Http404(f"No {model._meta.verbose_name} with that id.") from None


class HistoryAdmin(SimpleHistoryAdmin):
    form: type[forms.ModelForm] = CatalogAdminForm

    def changelist_view(self, request, extra_context=None):
        # A NUL in a filter or search would reach the database (PostgreSQL refuses it).
        if any("\x00" in "".join([key, *values]) for key, values in request.GET.lists()):
            return HttpResponseBadRequest(
                "A filter or search holds a NUL character.\n",
                content_type="text/plain; charset=utf-8",
            )
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        # The autocomplete's term too: a NUL is no part of any name.
        return super().get_search_results(request, queryset, _without_nul(search_term))

    def history_view(self, request, object_id, extra_context=None):
        _pk_or_404(self.model, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        _pk_or_404(self.model, object_id)
        _pk_or_404(self.model.history.model, version_id)
        extra_context = {**self.revert_context(object_id, version_id), **(extra_context or {})}
        # A revert is one write, as a change form's save is: the record and what is
        # restored with it (a study's condition tags), or nothing.
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_context(self, object_id, version_id):
        """What the revert page shows besides the version's fields."""
        return {}

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


class ColumnForm(VersionedInlineForm):
    """A row of a tabular inline: its fields have no <label>, only the column's heading,
    so each control carries its field's name for screen readers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.label:
                field.widget.attrs.setdefault("aria-label", str(field.label).capitalize())


class OutcomeInline(admin.StackedInline):
    form = VersionedInlineForm
    formset = VersionedInlineFormSet
    model = Outcome
    extra = 0
    classes = ["collapse"]
    autocomplete_fields = ["condition", "source"]
    fields = [
        ("name", "position", "condition"),
        ("domain", "direction", "source"),
        "figures",
        ("effect_measure", "value", "ci_low", "ci_high", "p_value"),
        ("n_intervention", "n_control", "pct_intervention", "pct_control"),
    ]


class StudyConditionInline(admin.TabularInline):
    form = ColumnForm
    formset = VersionedInlineFormSet
    model = StudyCondition
    extra = 0
    autocomplete_fields = ["condition"]
    fields = ["condition", "basis", "note"]


class EffectSummaryInline(admin.TabularInline):
    form = ColumnForm
    formset = VersionedInlineFormSet
    model = EffectSummary
    extra = 0
    autocomplete_fields = ["condition"]


class ClaimInline(admin.StackedInline):
    form = VersionedInlineForm
    formset = VersionedInlineFormSet
    model = Claim
    fk_name = "study"
    extra = 0
    classes = ["collapse"]
    autocomplete_fields = ["source", "cited_source"]
    fields = [("source", "locator", "verdict"), "quote", "note", "cited_source"]


class MentionInline(admin.TabularInline):
    form = ColumnForm
    formset = VersionedInlineFormSet
    model = Mention
    extra = 0
    classes = ["collapse"]
    autocomplete_fields = ["source"]
    verbose_name = "provenance quote"


@admin.register(Study)
class StudyAdmin(VersionedAdmin, InlinePermissionsAdmin, HistoryAdmin):
    form = StudyAdminForm
    inlines = [
        StudyConditionInline,
        OutcomeInline,
        EffectSummaryInline,
        ClaimInline,
        MentionInline,
    ]
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
    readonly_fields = [
        "evidence_level",
        "dose_band",
        "reviewed_at",
        "reviewed_by",
        "created_at",
        "updated_at",
    ]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["mark_reviewed"]
    # The common edits open; the rest in collapsed sections (<details>), opened by a
    # click, and opened by Django whenever a field inside holds an error.
    fieldsets = [
        (None, {"fields": ["title", "descriptive_title", "slug", "year", "authors"]}),
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
                    ("design_basis", "design_quote"),
                    ("sample_size", "dose", "dose_min_mg", "dose_max_mg", "dose_band"),
                    "summary",
                ]
            },
        ),
        ("Review", {"fields": [("reviewed_at", "reviewed_by", "mark_reviewed"), "save_anyway"]}),
        (
            "Population, duration, comparator, adverse events",
            {
                "classes": ["collapse"],
                "fields": ["population", ("duration", "comparator"), "adverse_events"],
            },
        ),
        (
            "Publication",
            {"classes": ["collapse"], "fields": [("journal", "volume", "issue", "pages"), "url"]},
        ),
        (
            "Identifiers",
            {"classes": ["collapse"], "fields": [("doi", "pmid", "pmcid", "registry_id")]},
        ),
        ("Record", {"classes": ["collapse"], "fields": [("created_at", "updated_at")]}),
    ]

    class Media:
        js = ["studies/admin-names.js"]

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(lambda request, **kw: view(self, request, **kw))

        return [
            path("import-bibtex/", wrap(imports.import_view), name="studies_study_import"),
            path(
                "import-bibtex/confirm/",
                wrap(imports.confirm_view),
                name="studies_study_import_confirm",
            ),
            path(
                "import-bibtex/<int:pk>/",
                wrap(imports.job_view),
                name="studies_study_import_job",
            ),
            path(
                "import-bibtex/<int:pk>/cancel/",
                wrap(imports.cancel_view),
                name="studies_study_import_cancel",
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
        search_term = _without_nul(search_term)
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # SQLite keeps JSON with non-ASCII characters escaped (“M\u00fcller”): match that too.
        escaped = json.dumps(search_term.strip())[1:-1]
        if search_term.strip() and escaped != search_term.strip():
            queryset |= self.model.objects.filter(authors__icontains=escaped)
        return queryset, may_have_duplicates

    def revert_context(self, object_id, version_id):
        study = Study.objects.filter(pk=object_id).first()
        record = Study.history.filter(id=object_id, history_id=version_id).first()
        if study is None or record is None:
            return {}
        # What a revert does to the tags, shown before the curator confirms.
        tags = study.recorded_condition_tags(record)
        return {
            "revert_condition_tags": {
                "restored": [tag for tag in tags if not tag.gone],
                "gone": [tag for tag in tags if tag.gone],
                "now": list(study.condition_tags.select_related("condition")),
            },
        }

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("mark_reviewed"):
            obj.reviewed_at = timezone.now()
            obj.reviewed_by = request.user
        super().save_model(request, obj, form, change)
        # simple-history marks a study built from a history record: this save is a revert.
        record = getattr(obj, SIMPLE_HISTORY_REVERSE_ATTR_NAME, None)
        if record is not None:
            for tag in obj.restore_condition_tags(record):
                self.message_user(
                    request,
                    f"Not restored: the condition tag “{tag.condition_name}” "
                    f"({tag.get_basis_display()}): its condition has been deleted since, "
                    "so the study cannot be tagged with it.",
                    level=messages.WARNING,
                )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for formset in formsets:
            if formset.model is StudyCondition and (
                formset.new_objects or formset.changed_objects or formset.deleted_objects
            ):
                form.instance.record_condition_tags()

    def action_checkbox(self, study):
        # The version each row showed, so that the action refuses studies changed since.
        return format_html(
            '{}<input type="hidden" name="version-{}" value="{}">',
            super().action_checkbox(study),
            study.pk,
            study.version,
        )

    @admin.action(description="Mark the selected studies as reviewed", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        now = timezone.now()
        marked, refused = 0, []
        # One save per study, not update(): each review is recorded in the study's history.
        for study in queryset:
            seen = request.POST.get(f"version-{study.pk}", "")
            study.reviewed_at, study.reviewed_by = now, request.user
            study._change_reason = "Marked as reviewed"
            study._history_user = request.user
            try:
                study.save(
                    update_fields=["reviewed_at", "reviewed_by", "updated_at"],
                    expected_version=int(seen) if seen.isdigit() else None,
                )
            except EditConflict:
                refused.append((study, int(seen)))
            else:
                marked += 1
        if marked:
            self.message_user(
                request, f"Marked {marked} studies as reviewed.", level=messages.SUCCESS
            )
        for study, seen in refused:
            self.message_user(
                request,
                f"Not marked as reviewed: “{study}” changed after this list was loaded "
                f"({study.changes_since(seen)}). The list now shows it as it is: check "
                "it and mark it again.",
                level=messages.ERROR,
            )


@admin.register(Condition)
class ConditionAdmin(VersionedAdmin, HistoryAdmin):
    form = CatalogAdminForm  # HistoryAdmin's, named here for the type checker

    class Media:
        js = ["studies/admin-names.js"]

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


@admin.register(BottomLine)
class BottomLineAdmin(VersionedAdmin, HistoryAdmin):
    list_display = ["condition", "certainty", "reviewed"]
    list_filter = ["certainty"]
    search_fields = ["condition__name", "text"]
    autocomplete_fields = ["condition", "studies"]
    list_select_related = ["condition"]


@admin.register(Source)
class SourceAdmin(VersionedAdmin, HistoryAdmin):
    form = CatalogAdminForm  # HistoryAdmin's, named here for the type checker

    class Media:
        js = ["studies/admin-names.js"]

    search_fields = ["title", "slug", "author", "publisher", "url"]
    list_display = ["title", "kind", "publisher", "date", "mention_count"]
    list_filter = ["kind"]
    prepopulated_fields = {"slug": ["title"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(mention_count=Count("mentions"))

    @admin.display(description="mentions", ordering="mention_count")
    def mention_count(self, source):
        return source.mention_count


class StudyPartAdmin(VersionedAdmin, HistoryAdmin):
    """A model edited inline on its study; listed on its own for its history. Its own
    change form is checked against the study's version, as the study's form is."""

    versioned_form = StudyPartForm
    autocomplete_fields = ["study"]
    list_select_related = ["study"]

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        if change:
            # EditConflict when the study changed since the form was opened (the admin's
            # transaction then writes nothing, and the form shows the conflict).
            Study.objects.filter(pk=form.study_id).bump_version(
                expected_version=form.cleaned_data["version"]
            )
        obj.save()


@admin.register(Outcome)
class OutcomeAdmin(StudyPartAdmin):
    list_display = ["name", "study", "domain", "direction", "effect_measure", "value"]
    list_filter = ["domain", "direction", "effect_measure"]
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
