"""The admin's import (BibTeX, RIS, MEDLINE, CSL JSON, ClinicalTrials.gov JSON, the
catalog's CSV and JSON): upload or paste, preview each entry, confirm, create.

Nothing is written before the curator confirms, and a file with entries in error writes
nothing unless the curator chooses to import its valid entries. The text waits in the
session between the two steps (compressed), and is parsed and checked again on
confirmation, so what gets created reflects the catalog at that moment.
"""

import base64
import secrets
import zlib

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ..formats import LABELS
from ..forms import BibtexImportForm
from ..importers import import_bibtex, preview_bibtex

PENDING = "pending_bibtex_import"


def _stash(request, text, file_name, format):
    token = secrets.token_urlsafe(16)
    request.session[PENDING] = {
        "token": token,
        "file_name": file_name,
        "format": format,
        "text": base64.b64encode(zlib.compress(text.encode())).decode("ascii"),
    }
    return token


def _unstash(request, token):
    pending = request.session.get(PENDING)
    if not pending or not token or not secrets.compare_digest(pending["token"], token):
        return None, None, None
    text = zlib.decompress(base64.b64decode(pending["text"])).decode()
    return text, pending["file_name"], pending.get("format", "bibtex")


def _context(model_admin, request, **extra):
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Import studies",
        **extra,
    }


def import_view(model_admin, request):
    """Step 1 (GET: the form) and step 2 (POST: the preview)."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    bound = request.method == "POST"
    form = BibtexImportForm(request.POST if bound else None, request.FILES if bound else None)
    if bound and form.is_valid():
        text, file_name = form.cleaned_data["bibtex"], form.cleaned_data["file_name"]
        format = form.cleaned_data["format"]
        report = preview_bibtex(text, file_name, format=format)
        pending = report.new or any(row.update for row in report.rows)
        return TemplateResponse(
            request,
            "admin/studies/study/import_preview.html",
            _context(
                model_admin,
                request,
                report=report,
                token=_stash(request, text, file_name, format) if pending else "",
                format_label=LABELS[format],
            ),
        )
    return TemplateResponse(
        request, "admin/studies/study/import_form.html", _context(model_admin, request, form=form)
    )


def confirm_view(model_admin, request):
    """Step 3: create the new entries of the pending import in one transaction."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    if request.method != "POST":
        return redirect("admin:studies_study_import")
    text, file_name, format = _unstash(request, request.POST.get("token"))
    if text is None:
        messages.error(request, "That import is no longer pending. Upload the file again.")
        return redirect("admin:studies_study_import")
    try:
        report = import_bibtex(
            text,
            file_name,
            user=request.user,
            format=format,
            skip_errors=bool(request.POST.get("skip_errors")),
            updates=[int(n) for n in request.POST.getlist("update") if n.isdigit()],
        )
    except IntegrityError:
        messages.error(
            request,
            "Another curator added one of these studies meanwhile; nothing was imported. "
            "Upload the file again to see the new preview.",
        )
        return redirect("admin:studies_study_import")
    if report.errors and not request.POST.get("skip_errors"):
        # The preview again, still pending: the curator may tick the box and confirm.
        messages.error(
            request,
            f"Nothing was imported: {len(report.errors)} entries of {file_name} have errors. "
            "Fix them, or tick “Import the valid entries” to skip them.",
        )
        return TemplateResponse(
            request,
            "admin/studies/study/import_preview.html",
            _context(
                model_admin,
                request,
                report=report,
                token=request.POST["token"],
                format_label=LABELS[format],
            ),
        )
    del request.session[PENDING]
    messages.success(
        request,
        f"Imported {len(report.created)} studies from {file_name}"
        + (f" and updated {len(report.updated)} trials" if report.updated else "")
        + f"; {len(report.duplicates)} duplicates and {len(report.errors)} entries with "
        "errors were skipped.",
    )
    return redirect(reverse("admin:studies_study_changelist"))
