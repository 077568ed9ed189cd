"""Edits to a study's rows that the curator may not make: said, never dropped silently.

Django's admin leaves out of a save, without a word, what a curator typed into an inline
they may not change, a row they may not add, a deletion they may not make, and anything
posted for an inline they may not see: a permission taken away while the page was open
does all of these. The rest of the page is saved as usual; each edit left out is then
named in a message, with what was typed, so the curator can ask for the permission and
make it again. What was typed is told from what the page showed by the value each field
had when the page was opened, which the change form posts beside it (conflicts.py); a row
shown read-only posts no fields, so it never counts as edited.
"""

from django.contrib import admin, messages

from .conflicts import STRUCTURAL_FIELDS, differs, display, raw


def typed_edits(form):
    """(label, had, typed) for each field of an inline row the curator changed."""
    edits = []
    for name, field in form.fields.items():
        bound = form[name]
        if name in STRUCTURAL_FIELDS or field.widget.is_hidden:
            continue
        if bound.html_initial_name in form.data:  # the value when the page was opened
            had = field.hidden_widget().value_from_datadict(
                form.data, form.files, bound.html_initial_name
            )
        elif bound.html_name in form.data:
            had = raw(field.prepare_value(bound.initial))
        else:
            continue  # not on the page as an editable field
        if differs(field, had, bound.data):
            label = form._meta.model._meta.get_field(name).verbose_name
            edits.append((label, display(field, had), display(field, bound.data)))
    return edits


def refused_inline_edits(model_admin, request, obj):
    """One message for each inline and kind of edit (add, change, delete) posted for
    ``obj`` that the curator may not make, naming each row and what was typed."""
    refused = []
    for inline_class in model_admin.get_inlines(request, obj):
        inline = inline_class(model_admin.model, model_admin.admin_site)
        may = {
            "add": inline.has_add_permission(request, obj),
            "change": inline.has_change_permission(request, obj),
            "delete": inline.can_delete and inline.has_delete_permission(request, obj),
        }
        if all(may.values()):
            continue
        FormSet = inline.get_formset(request, obj)
        prefix = FormSet.get_default_prefix()
        if f"{prefix}-TOTAL_FORMS" not in request.POST:
            continue
        deletes = any(k.startswith(f"{prefix}-") and k.endswith("-DELETE") for k in request.POST)
        if may["add"] and may["change"] and (may["delete"] or not deletes):
            continue  # nothing posted that the admin would leave out
        # Every posted row, read, not validated: a row's instance stays as stored. All the
        # study's rows: the inline's own queryset is empty for a curator who may not view.
        kwargs = model_admin.get_formset_kwargs(request, obj, inline, prefix)
        formset = FormSet(**kwargs | {"queryset": inline.model._default_manager.all()})
        name = inline.verbose_name
        rows = {"add": [], "change": [], "delete": []}
        for index, form in enumerate(formset.forms):
            if getattr(form, "gone", False):
                continue  # deleted since the page was opened: the conflict check says so
            deleting = f"{form.prefix}-DELETE" in request.POST
            if index < formset.initial_form_count():
                if deleting and not may["delete"]:
                    rows["delete"].append(f"deleting {name} “{form.instance}”")
                elif not deleting and not may["change"] and (edits := typed_edits(form)):
                    changes = ", ".join(
                        f"{label}: “{had}” → “{typed}”" for label, had, typed in edits
                    )
                    rows["change"].append(f"{name} “{form.instance}”, {changes}")
            elif not deleting and not may["add"] and (edits := typed_edits(form)):
                typed = ", ".join(f"{label} “{typed}”" for label, _, typed in edits)
                rows["add"].append(f"a new {name} ({typed})")
        for action, items in rows.items():
            if items:
                refused.append(
                    f"Not saved, as you may not {action} {inline.verbose_name_plural}: "
                    f"{'; '.join(items)}. Your other changes were saved."
                )
    return refused


class InlinePermissionsAdmin(admin.ModelAdmin):
    """A change form whose inline edits the curator may not make are reported."""

    def save_related(self, request, form, formsets, change):
        # Read before the rows are written: each row is named as it was stored.
        refused = refused_inline_edits(self, request, form.instance)
        super().save_related(request, form, formsets, change)
        for text in refused:
            self.message_user(request, text, level=messages.ERROR)
