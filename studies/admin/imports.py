"""The admin's BibTeX import: upload or paste, preview each entry, confirm, follow the job.

Nothing is written before the curator confirms. The preview keeps the file in an ImportJob
(compressed); confirming queues the job for a worker (``manage.py db_worker``), which checks
the entries again against the catalog as it is then and creates the new ones in one
transaction. The job's page shows its progress, a cancel button, and the report.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from ..forms import BibtexImportForm
from ..importers import preview_bibtex, report_json, rows_to_show
from ..models import ImportJob

# Seconds between reloads of the progress page while the job runs.
REFRESH_SECONDS = 2


def _context(model_admin, request, **extra):
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Import studies from BibTeX",
        **extra,
    }


def _require_add(model_admin, request):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied


def import_view(model_admin, request):
    """Step 1 (GET: the form) and step 2 (POST: the preview)."""
    _require_add(model_admin, request)
    bound = request.method == "POST"
    form = BibtexImportForm(request.POST if bound else None, request.FILES if bound else None)
    if bound and form.is_valid():
        text, file_name = form.cleaned_data["bibtex"], form.cleaned_data["file_name"]
        report = preview_bibtex(text, file_name)
        token = ""
        if report.new:
            job = ImportJob(user=request.user, file_name=file_name[:255], total=len(report.rows))
            job.text = text
            job.save()
            token = job.token
        rows, hidden = rows_to_show(report_json(report)["rows"])
        return TemplateResponse(
            request,
            "admin/studies/study/import_preview.html",
            _context(model_admin, request, report=report, rows=rows, hidden=hidden, token=token),
        )
    return TemplateResponse(
        request, "admin/studies/study/import_form.html", _context(model_admin, request, form=form)
    )


def confirm_view(model_admin, request):
    """Step 3: queue the previewed import for a worker; then its progress page."""
    _require_add(model_admin, request)
    if request.method != "POST":
        return redirect("admin:studies_study_import")
    job = ImportJob.objects.filter(
        token=request.POST.get("token", ""),
        user=request.user,
        status=ImportJob.Status.PREVIEWED,
    ).first()
    if job is None:
        messages.error(request, "That import is no longer pending. Upload the file again.")
        return redirect("admin:studies_study_import")
    job.confirm()
    return redirect(job)


def job_view(model_admin, request, pk):
    """An import job: its progress while it runs (the page reloads itself), then its report."""
    _require_add(model_admin, request)
    job = get_object_or_404(ImportJob, pk=pk)
    report = job.report or {}
    rows, hidden = rows_to_show(report.get("rows", []))
    return TemplateResponse(
        request,
        "admin/studies/study/import_job.html",
        _context(
            model_admin,
            request,
            title=f"Import of {job.file_name}",
            job=job,
            report=report,
            rows=rows,
            hidden=hidden,
            refresh=None if job.finished else REFRESH_SECONDS,
        ),
    )


def cancel_view(model_admin, request, pk):
    """Cancel a queued or running import: nothing of it is written."""
    _require_add(model_admin, request)
    job = get_object_or_404(ImportJob, pk=pk)
    if request.method == "POST":
        if job.finished:
            messages.warning(request, f"The import is {job.get_status_display()} already.")
        else:
            job.request_cancel()
            messages.info(request, "Cancelling the import: nothing of it will be written.")
    return redirect(job)
