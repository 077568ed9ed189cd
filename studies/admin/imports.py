"""The admin's import (BibTeX, RIS, MEDLINE, CSL JSON, ClinicalTrials.gov JSON, the
catalog's CSV and JSON): upload or paste, preview each entry, confirm, follow the job.

Both the preview and the import run in a worker (``manage.py db_worker``), so that a file
of any size the form accepts is read with bounded memory and no request waits for it. The
upload becomes an ImportJob; the worker checks every entry and keeps the preview, writing
nothing; the job's page follows its progress (it reloads itself) and then shows the
preview with a confirm button, the registry updates the curator may accept, and (when
entries have errors) the choice to import the valid ones: otherwise a file with errors
writes nothing. Confirming queues the job again: the worker checks the entries against
the catalog as it is then and creates the new ones in one transaction. A cancel button
stops the job at any point, writing nothing; the curator who started the job sees it, and
a superuser (the others are told who started it).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse

from ..forms import BibtexImportForm
from ..jobs import fail_stale_jobs, rows_to_show
from ..models import ImportJob

# Seconds between reloads of the job's page while it waits or runs.
REFRESH_SECONDS = 2
# How many of a curator's own imports the import page links.
RECENT_JOBS = 10


def _context(model_admin, request, **extra):
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Import studies",
        **extra,
    }


def _require_add(model_admin, request):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied


def import_view(model_admin, request):
    """Step 1: the form; a valid upload becomes a job that a worker checks (step 2)."""
    _require_add(model_admin, request)
    bound = request.method == "POST"
    form = BibtexImportForm(request.POST if bound else None, request.FILES if bound else None)
    if bound and form.is_valid():
        text, file_name = form.cleaned_data["bibtex"], form.cleaned_data["file_name"]
        job = ImportJob.submit(
            text, file_name, user=request.user, format=form.cleaned_data["format"]
        )
        return redirect(job)
    # The curator's own last imports, to find a job's page again (not their big reports).
    recent = ImportJob.objects.filter(user=request.user).only("file_name", "status", "created_at")
    recent = recent[:RECENT_JOBS]
    return TemplateResponse(
        request,
        "admin/studies/study/import_form.html",
        _context(model_admin, request, form=form, recent=recent),
    )


def confirm_view(model_admin, request):
    """Step 3: queue the previewed import for a worker; then its page again."""
    _require_add(model_admin, request)
    if request.method != "POST":
        return redirect("admin:studies_study_import")
    job = ImportJob.objects.filter(token=request.POST.get("token", ""), user=request.user).first()
    if job is not None and job.confirmed:
        return _confirmed_already(request, job)
    if job is None or job.status != ImportJob.Status.PREVIEWED:
        messages.error(request, "That import is no longer pending. Upload the file again.")
        return redirect("admin:studies_study_import")
    skip_errors = bool(request.POST.get("skip_errors"))
    errors = (job.report or {}).get("errors", 0)
    if errors and not skip_errors:
        # The preview again, still pending: the curator may tick the box and confirm.
        messages.error(
            request,
            f"Nothing was imported: {errors} entr{pluralize(errors, 'y,ies')} of "
            f"{job.file_name} {pluralize(errors, 'has,have')} errors. "
            "Fix them, or tick “Import the valid entries” to skip them.",
        )
        return redirect(job)
    updates = [int(n) for n in request.POST.getlist("update") if n.isdigit()]
    if not job.confirm(skip_errors=skip_errors, updates=updates):
        if job.confirmed:  # by a request of the same curator meanwhile
            return _confirmed_already(request, job)
        messages.error(request, "That import is no longer pending. Upload the file again.")
        return redirect("admin:studies_study_import")
    return redirect(job)


def _confirmed_already(request, job):
    """A second click on the confirm button, or the preview confirmed in another tab: the
    job's page, which follows the one import."""
    messages.info(request, "This import was confirmed already; its page follows it.")
    return redirect(job)


def job_view(model_admin, request, pk):
    """An import job: its progress while it waits or runs, then its preview or report."""
    _require_add(model_admin, request)
    fail_stale_jobs()
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
            token=job.token if job.can_confirm(request.user) else "",
            can_cancel=job.can_cancel(request.user),
            refresh=REFRESH_SECONDS if job.waiting else None,
        ),
    )


def cancel_view(model_admin, request, pk):
    """Cancel a queued, previewed or running job: nothing of it is written. Only the
    curator who started it may, or a superuser (ImportJob.can_cancel)."""
    _require_add(model_admin, request)
    job = get_object_or_404(ImportJob, pk=pk)
    if request.method == "POST":
        if not job.can_cancel(request.user):
            # The job's page shows others no cancel button, and says who may cancel it: a
            # cancel sent anyway gets that page, refused.
            messages.error(request, "You cannot cancel this import; it goes on.")
            response = job_view(model_admin, request, pk)
            response.status_code = 403
            return response
        if job.finished:
            messages.warning(
                request, f"Nothing to cancel: the import has ended ({job.get_status_display()})."
            )
        else:
            job.request_cancel()
            messages.info(request, "Cancelling the import: nothing of it will be written.")
    return redirect(job)
