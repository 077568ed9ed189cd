"""Background tasks (Django's tasks framework; the worker is `manage.py db_worker`)."""

from django.tasks import task

from . import importers


@task()
def import_job(job_id):
    """Run the confirmed BibTeX import ImportJob ``job_id``."""
    importers.run_job(job_id)
