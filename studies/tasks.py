"""Background tasks (Django's tasks framework; the worker is `manage.py db_worker`)."""

from django.tasks import task

from . import jobs


@task()
def import_job(job_id):
    """Run the ImportJob ``job_id``: its preview, or, once confirmed, its import."""
    jobs.run_job(job_id)
