"""Curators' edits that were overtaken: refuse them, show what changed, offer to re-apply.

Every versioned change form (a study with its inlines, a condition, a source) carries the
version it was opened at (studies/versions.py) and, beside each field, the value the field
had then (Django's ``show_hidden_initial``). When the record has moved on by the time the
form is saved, the save is refused, nothing is written, and the form comes back with

- a table of every field someone else changed: what you had, what is there now and what
  you typed;
- the current values, with your own changes (the fields where what you typed differs from
  what you had) applied on top, and the current version: saving again keeps both.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Case, When
from django.forms.models import BaseInlineFormSet
from django.forms.utils import ErrorDict

from ..models import Study
from ..versions import EditConflict

STRUCTURAL_FIELDS = {"id", "DELETE", "ORDER", "version"}


@dataclass
class FieldChange:
    label: str
    had: str
    now: str
    typed: str
    yours: bool  # you changed this field too: what you typed is kept, check it


def raw(value):
    """A prepared form value as a browser would send it."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return str(value)


def display(field, value):
    """A raw form value, readable: choices by their label, related rows by their name."""
    if isinstance(field, forms.ModelMultipleChoiceField):
        pks = [pk for pk in (value or []) if str(pk).isdigit()]
        return ", ".join(str(row) for row in field.queryset.filter(pk__in=pks)) or "(none)"
    if isinstance(field, forms.ModelChoiceField):
        if not str(value).isdigit():
            return "(none)"
        return str(field.queryset.filter(pk=value).first() or "(none)")
    if isinstance(field, forms.BooleanField):
        return "yes" if field.to_python(value) else "no"
    if isinstance(field, forms.ChoiceField):
        labels = {}
        for key, label in field.choices:
            if isinstance(label, (list, tuple)):  # a group of choices
                labels.update({str(k): v for k, v in label})
            else:
                labels[str(key)] = label
        return str(labels.get(str(value), value))
    if isinstance(value, list):
        return ", ".join(value)
    return value if value not in ("", None) else "(empty)"


def differs(field, old, new):
    """Whether two raw values of ``field`` differ, as Django's ``has_changed`` sees it."""
    try:
        old = field.to_python(old)
    except ValidationError:
        return True
    return field.has_changed(old, new)


class VersionedFormMixin:
    """Remembers what each field held when the form was opened, and the version."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in STRUCTURAL_FIELDS and not field.widget.is_hidden:
                field.show_hidden_initial = True
        self.conflicts = []

    def opened_value(self, field, bound):
        """The field's value when the form was opened, as its hidden input sent it."""
        return field.hidden_widget().value_from_datadict(
            self.data, self.files, bound.html_initial_name
        )

    def field_changes(self):
        """What someone else changed since the form was opened, field by field."""
        changes = []
        for name, field in self.fields.items():
            if not field.show_hidden_initial or field.disabled:
                continue
            bound = self[name]
            had = self.opened_value(field, bound)
            now = raw(field.prepare_value(bound.initial))
            typed = bound.data
            if differs(field, had, now):
                changes.append(
                    FieldChange(
                        label=str(bound.label),
                        had=display(field, had),
                        now=display(field, now),
                        typed=display(field, typed),
                        yours=differs(field, had, typed),
                    )
                )
        return changes

    def reapply_on_current(self):
        """Make the form show the current values with this curator's changes on top."""
        data = self.data.copy()
        for name, field in self.fields.items():
            if not field.show_hidden_initial or field.disabled:
                continue
            bound = self[name]
            had = self.opened_value(field, bound)
            now = raw(field.prepare_value(bound.initial))
            keys = [bound.html_name, bound.html_initial_name]
            if differs(field, had, bound.data):
                keys = [bound.html_initial_name]  # keep what the curator typed
            for key in keys:
                if isinstance(now, list):
                    data.setlist(key, now)
                else:
                    data[key] = now
        self.data = data

    def record_conflict(self):
        self.conflicts = self.field_changes()
        self.reapply_on_current()


class VersionedModelForm(VersionedFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_version = self.stored_version() if self.instance.pk is not None else None
        self.fields["version"].initial = self.current_version

    def stored_version(self):
        # The stored version, not the instance's: reverting to an entry of the history
        # edits an old copy (simple-history's form), and is checked against the record.
        return (
            type(self.instance)
            ._default_manager.filter(pk=self.instance.pk)
            .values_list("version", flat=True)
            .first()
        )

    def clean(self):
        cleaned = super().clean()
        opened = cleaned.get("version")
        if self.current_version is not None and opened != self.current_version:
            self.record_conflict()
            data = self.data.copy()
            data[self.add_prefix("version")] = str(self.current_version)
            self.data = data
            raise ValidationError(
                "Someone saved this %(model)s after you opened it (you opened version "
                "%(opened)s; it is now at version %(now)s), so nothing was saved. The "
                "form now holds the current values with your changes applied on top: "
                "check the changes listed below and save again to keep yours.",
                code="edit_conflict",
                params={
                    "model": self.instance._meta.verbose_name,
                    "opened": opened,
                    "now": self.current_version,
                },
            )
        return cleaned


class StudyPartForm(VersionedModelForm):
    """An outcome, effect summary, claim or provenance quote edited on a page of its own:
    it has no version, but writing it bumps its study's (StudyPart), so the form carries
    the study's version and is checked against it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.study_id = self.instance.study_id  # before the form may move it to another

    def stored_version(self):
        return (
            Study.objects.filter(pk=self.instance.study_id)
            .values_list("version", flat=True)
            .first()
        )


class VersionedInlineForm(VersionedFormMixin, forms.ModelForm):
    gone = False  # the row was deleted after the form was opened (VersionedInlineFormSet)

    def full_clean(self):
        if self.gone:
            # Not validated: nothing is saved from it (its id no longer names a row).
            self._errors, self.cleaned_data = ErrorDict(), {}
            return
        super().full_clean()


class VersionedInlineFormSet(BaseInlineFormSet):
    """Rows of a versioned record: a stale parent form re-applies their changes too.

    A row deleted after the form was opened is listed as removed and left out: Django
    saves nothing from it (``save_existing_objects`` skips a row whose record is gone), but
    its id no longer validates, an error the admin shows nowhere, so the form could not be
    saved at all."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if self.is_bound and i < self.initial_form_count():
            form.gone = form.instance.pk is None
        return form

    @property
    def initial_forms(self):
        return [form for form in super().initial_forms if not form.gone]

    def get_queryset(self):
        """The rows, those the form was posted with first and in its order: the admin pairs
        the n-th row form with the n-th row (a row deleted or added since shifted the
        pairs, and the last row form was not shown)."""
        if not hasattr(self, "_queryset") and self.is_bound:
            rows = super().get_queryset()
            name = self.model._meta.pk.name
            posted = [
                self.data.get(f"{self.add_prefix(i)}-{name}", "")
                for i in range(self.initial_form_count())
            ]
            whens = [When(pk=pk, then=n) for n, pk in enumerate(posted) if str(pk).isdigit()]
            if whens:
                ordering = rows.query.order_by or rows.model._meta.ordering or ["pk"]
                self._queryset = rows.order_by(Case(*whens, default=len(posted)), *ordering)
        return super().get_queryset()

    def clean(self):
        super().clean()
        self.added_rows, self.removed_rows = [], []
        opened = self.data.get("version")
        if self.instance.pk is None or opened == str(self.instance.version):
            return
        # A fresh read: the forms have written what was typed onto their own instances.
        current = {str(row.pk): row for row in self.get_queryset().all()}
        name = self.model._meta.verbose_name
        for form in self.forms:
            if form.instance.pk is not None:
                form.record_conflict()
                row = current.get(str(form.instance.pk), form.instance)
                for change in form.conflicts:
                    change.label = f"{name} “{row}”: {change.label}"
        posted = {
            str(self.data.get(f"{self.add_prefix(i)}-{self.model._meta.pk.name}"))
            for i in range(self.initial_form_count())
        }
        self.added_rows = [row for pk, row in current.items() if pk not in posted]
        self.removed_rows = sorted(posted - set(current))


class VersionedAdmin(admin.ModelAdmin):
    """Change forms that refuse stale saves (mix in before the history admin)."""

    change_form_template = "admin/studies/versioned_change_form.html"
    object_history_form_template = "admin/studies/versioned_history_form.html"

    versioned_form = VersionedModelForm

    def get_form(self, request, obj=None, **kwargs):
        if not issubclass(self.form, self.versioned_form):
            kwargs["form"] = type(
                f"Versioned{self.form.__name__}", (self.versioned_form, self.form), {}
            )
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return [name for name in super().get_fields(request, obj) if name != "version"]

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user  # as simple-history's admin does
        if change:
            obj.save(expected_version=form.cleaned_data["version"])
        else:
            obj.save()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except EditConflict:
            # Saved by someone else between this request's read and its write: everything
            # was rolled back; going through again finds the new version and shows the
            # conflict like any other.
            return super().changeform_view(request, object_id, form_url, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        try:
            return super().history_form_view(request, object_id, version_id, extra_context)
        except EditConflict:
            # A revert overtaken the same way: shown as a conflict, as the change form's.
            return super().history_form_view(request, object_id, version_id, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        rows = list(getattr(form, "conflicts", []))
        added, removed = [], []
        for inline in context.get("inline_admin_formsets", []):
            formset = inline.formset
            name = formset.model._meta.verbose_name
            for inline_form in formset.forms:
                rows += getattr(inline_form, "conflicts", [])
            added += [f"{name} “{row}”" for row in getattr(formset, "added_rows", [])]
            removed += [f"{name} #{pk}" for pk in getattr(formset, "removed_rows", [])]
        context["edit_conflict"] = {
            "changes": rows,
            "added": added,
            "removed": removed,
            "stale": bool(form.errors and form.has_error("__all__", "edit_conflict")),
        }
        return super().render_change_form(request, context, add, change, form_url, obj)
