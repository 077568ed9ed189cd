"""Imports as background jobs: the task, the admin's progress page and cancel button, the
command's --background, and the real worker (manage.py db_worker) running a queued job."""

import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.test import TestCase, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studies import bulk_writes, importers, jobs
from studies.models import ImportJob, Study
from tests.factories import make_condition, make_study

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
ROOT = Path(__file__).resolve().parent.parent


def bib(n, start=0):
    return "".join(
        f"@article{{k{i}, title = {{Background study {i}}}, year = 2020,"
        f" doi = {{10.5555/job.{i}}}, keywords = {{Fibromyalgia}}}}\n"
        for i in range(start, start + n)
    )


def queued_job(text, file_name="jobs.bib"):
    """A confirmed job queued without a task: run it with jobs.run_job."""
    job = ImportJob(file_name=file_name, status=ImportJob.Status.QUEUED, confirmed=True)
    job.text = text
    job.save()
    return job


def make_curator():
    user = User.objects.create_user("curator", is_staff=True)
    user.groups.add(Group.objects.get(name="Curators"))
    return user


class RunJobTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        make_condition(name="Fibromyalgia")

    def test_a_job_records_progress_and_its_report(self):
        job = queued_job(bib(2500) + "@article{bad, year = 2020}\n")
        seen = []
        real = ImportJob.record_progress

        def record(self, done, total):
            real(self, done, total)
            seen.append(ImportJob.objects.values_list("status", "done", "total").get(pk=self.pk))

        with mock.patch.object(ImportJob, "record_progress", record):
            jobs.run_job(job.pk)
        assert seen[:3] == [
            ("checking", 0, 2501),
            ("checking", 1000, 2501),
            ("checking", 2000, 2501),
        ]
        job.refresh_from_db()
        assert (job.status, job.done, job.total, job.data) == ("done", 2501, 2501, b"")
        assert job.report["created"] == 2500 and job.report["errors"] == 1
        assert job.report["rows"][-1]["reasons"] == ["no title"]
        assert Study.objects.count() == 2500
        assert Study.conditions.through.objects.count() == 2500
        assert job.started_at <= job.finished_at

    def test_an_unconfirmed_job_keeps_a_preview_and_writes_nothing(self):
        again = "@misc{again, title = {Again}, doi = {10.5555/job.0}}\n"  # k0's DOI
        job = queued_job(bib(3) + again)
        ImportJob.objects.filter(pk=job.pk).update(confirmed=False)
        jobs.run_job(job.pk)
        job.refresh_from_db()
        assert (job.status, job.done, job.total) == ("previewed", 4, 4)
        assert (job.report["new"], job.report["duplicates"]) == (3, 1)
        assert job.report["rows"][3]["earlier_key"] == "k0"
        assert job.text == bib(3) + again  # kept for the import
        assert not Study.objects.exists()

    def test_a_job_cancelled_before_a_worker_takes_it_does_nothing(self):
        job = queued_job(bib(3))
        job.request_cancel()
        job.refresh_from_db()
        assert (job.status, job.data) == ("cancelled", b"")
        jobs.run_job(job.pk)
        assert ImportJob.objects.get(pk=job.pk).status == "cancelled"
        assert not Study.objects.exists()

    def test_cancelled_while_checking_writes_nothing(self):
        job = queued_job(bib(2500))
        real = ImportJob.record_progress

        def cancel_half_way(self, done, total):
            real(self, done, total)
            if done == 1000:
                ImportJob.objects.get(pk=self.pk).request_cancel()

        with mock.patch.object(ImportJob, "record_progress", cancel_half_way):
            jobs.run_job(job.pk)
        job.refresh_from_db()
        assert (job.status, job.done, job.report) == ("cancelled", 1000, None)
        assert not Study.objects.exists()

    def test_cancelled_while_writing_rolls_back_what_was_written(self):
        job = queued_job(bib(600))  # two batches of studies
        real = bulk_writes.insert

        def cancel_after_the_first_batch(model, rows, using):
            real(model, rows, using)
            ImportJob.objects.get(pk=job.pk).request_cancel()

        with mock.patch.object(bulk_writes, "insert", cancel_after_the_first_batch):
            jobs.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == "cancelled"
        assert not Study.objects.exists()
        assert not Study.history.exists()
        assert not Study.conditions.through.objects.exists()

    def test_a_study_added_while_the_preview_reads_the_catalog_is_a_duplicate(self):
        job = queued_job(bib(3))
        index_catalog = importers._index_catalog

        def index_then_a_study_is_added(studies=None):
            index = index_catalog(studies)
            if studies is None:  # the preview's index, not the import's recheck
                make_study(title="Entered by hand meanwhile", doi="10.5555/job.1")
            return index

        with mock.patch.object(importers, "_index_catalog", index_then_a_study_is_added):
            jobs.run_job(job.pk)
        job.refresh_from_db()
        assert (job.status, job.report["created"], job.report["duplicates"]) == ("done", 2, 1)
        assert Study.objects.filter(doi="10.5555/job.1").count() == 1

    def test_a_refused_write_fails_the_job_with_a_message_and_writes_nothing(self):
        job = queued_job(bib(3))
        refused = IntegrityError("UNIQUE constraint failed: studies_study.slug")
        with (
            mock.patch.object(bulk_writes, "insert", side_effect=refused),
            pytest.raises(IntegrityError),
        ):
            jobs.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == "failed"
        assert job.message.startswith("Another curator added one of these studies meanwhile")
        assert not Study.objects.exists()


class JobPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()

    def setUp(self):
        self.client.force_login(self.curator)

    def test_a_running_job_shows_its_progress_and_reloads(self):
        job = ImportJob.objects.create(
            file_name="big.bib",
            user=self.curator,
            status=ImportJob.Status.CHECKING,
            done=1000,
            total=4000,
        )
        page = self.client.get(job.get_absolute_url()).content.decode()
        assert '<progress id="import-progress" max="4000" value="1000">25%</progress>' in page
        assert "1,000 of 4,000 entries checked" in page  # as the command prints it
        assert '<meta http-equiv="refresh" content="2">' in page
        assert reverse("admin:studies_study_import_cancel", args=[job.pk]) in page
        assert "<script>" not in page.split("</head>")[1].split("<footer")[0]

    def test_the_cancel_button_stops_a_running_job(self):
        job = ImportJob.objects.create(
            file_name="big.bib", user=self.curator, status=ImportJob.Status.CHECKING
        )
        cancel = reverse("admin:studies_study_import_cancel", args=[job.pk])
        response = self.client.post(cancel, follow=True)
        assert "Cancelling the import" in response.content.decode()
        job.refresh_from_db()
        assert job.cancel_requested and job.is_cancel_requested()

    def test_a_finished_job_cannot_be_cancelled(self):
        job = ImportJob.objects.create(
            file_name="a.bib", user=self.curator, status=ImportJob.Status.DONE
        )
        cancel = reverse("admin:studies_study_import_cancel", args=[job.pk])
        response = self.client.post(cancel, follow=True)
        assert "Nothing to cancel: the import has ended (done)." in response.content.decode()
        assert not ImportJob.objects.get(pk=job.pk).cancel_requested

    def test_cancelling_twice_says_the_import_has_ended(self):
        job = ImportJob.objects.create(
            file_name="a.bib", user=self.curator, status=ImportJob.Status.QUEUED
        )
        cancel = reverse("admin:studies_study_import_cancel", args=[job.pk])
        self.client.post(cancel)
        page = self.client.post(cancel, follow=True).content.decode()
        assert "Nothing to cancel: the import has ended (cancelled: nothing was imported)." in page

    def test_a_failed_job_shows_why(self):
        job = ImportJob.objects.create(
            file_name="a.bib", status=ImportJob.Status.FAILED, message="The database refused"
        )
        page = self.client.get(job.get_absolute_url()).content.decode()
        assert "failed: nothing was imported" in page and "The database refused" in page
        assert "http-equiv" not in page

    def test_following_a_job_writes_nothing(self):
        # On SQLite a write waits for the write lock, which the worker's import transaction
        # holds until it commits: the page polled meanwhile would wait, then fail.
        job = ImportJob.objects.create(
            file_name="big.bib",
            status=ImportJob.Status.WRITING,
            started_at=timezone.now(),
            done=4000,
            total=4000,
        )
        with CaptureQueriesContext(connection) as queries:
            page = self.client.get(job.get_absolute_url())
        assert page.status_code == 200
        writes = [q["sql"] for q in queries if not q["sql"].lstrip().startswith("SELECT")]
        assert not [sql for sql in writes if "importjob" in sql], writes

    def test_unknown_jobs_are_404_and_others_are_refused(self):
        assert self.client.get("/admin/studies/study/import-bibtex/999999/").status_code == 404
        self.client.force_login(User.objects.create_user("reader", is_staff=True))
        job = ImportJob.objects.create(file_name="a.bib")
        assert self.client.get(job.get_absolute_url()).status_code == 403


class ConfirmTwiceTests(TestCase):
    """A double click on the confirm button, or the preview confirmed in two tabs."""

    def setUp(self):
        self.enterContext(override_settings(TASKS=DATABASE_TASKS))  # the job stays queued
        self.client.force_login(make_curator())

    def test_the_second_confirmation_follows_the_one_import(self):
        self.client.post(reverse("admin:studies_study_import"), {"text": bib(3)})
        job = ImportJob.objects.get()
        jobs.run_job(job.pk)
        confirm = reverse("admin:studies_study_import_confirm")
        first = self.client.post(confirm, {"token": job.token})
        assert first.url == job.get_absolute_url()
        second = self.client.post(confirm, {"token": job.token}, follow=True)
        assert second.redirect_chain == [(job.get_absolute_url(), 302)]
        page = second.content.decode()
        assert "This import was confirmed already; its page follows it." in page
        assert "no longer pending" not in page
        assert DBTaskResult.objects.count() == 2  # the preview's task and one import
        jobs.run_job(job.pk)
        assert Study.objects.count() == 3
        third = self.client.post(confirm, {"token": job.token}, follow=True)
        assert third.redirect_chain == [(job.get_absolute_url(), 302)]
        assert "3 created" in third.content.decode()


@override_settings(IMPORT_JOB_TIMEOUT=3600)
class StaleJobTests(TestCase):
    """A job left "checking" or "writing" by a worker that was killed is failed after
    IMPORT_JOB_TIMEOUT, by the next worker to take a job or by the job's page."""

    def _job(self, status, minutes_ago):
        job = ImportJob(
            file_name=f"{status}-{minutes_ago}.bib",
            status=status,
            started_at=timezone.now() - timedelta(minutes=minutes_ago),
        )
        job.text = bib(1)
        job.save()
        return job

    def test_only_running_jobs_started_before_the_timeout_are_failed(self):
        Status = ImportJob.Status
        stale = [self._job(Status.CHECKING, 61), self._job(Status.WRITING, 600)]
        kept = [
            self._job(Status.CHECKING, 59),
            self._job(Status.WRITING, 1),
            self._job(Status.PREVIEWED, 600),
            self._job(Status.QUEUED, 600),
            self._job(Status.DONE, 600),
        ]
        assert jobs.fail_stale_jobs() == 2
        for job in stale:
            job.refresh_from_db()
            assert job.status == Status.FAILED and job.finished_at is not None
            assert job.message == (
                "The worker stopped: the import was still unfinished 1\xa0hour after it "
                "started. Nothing was imported; upload the file again."
            )
            # Its file is let go; a worker still on it stops at its next check.
            assert job.data == b"" and job.is_cancel_requested()
        for job in kept:
            status = job.status
            job.refresh_from_db()
            assert (job.status, job.message, job.cancel_requested) == (status, "", False)
            assert job.text == bib(1)

    def test_the_next_worker_fails_a_job_whose_worker_died(self):
        dead = self._job(ImportJob.Status.WRITING, 90)
        queued = queued_job(bib(2))
        jobs.run_job(queued.pk)
        dead.refresh_from_db()
        queued.refresh_from_db()
        assert dead.status == ImportJob.Status.FAILED
        assert queued.status == ImportJob.Status.DONE and Study.objects.count() == 2

    def test_the_jobs_page_shows_it_failed_and_stops_reloading(self):
        job = self._job(ImportJob.Status.CHECKING, 120)
        self.client.force_login(make_curator())
        page = self.client.get(job.get_absolute_url()).content.decode()
        assert "failed: nothing was imported" in page and "The worker stopped" in page
        assert "http-equiv" not in page

    def test_a_cancel_by_the_reaper_stops_a_worker_still_on_the_job(self):
        # A worker slower than the timeout (not dead after all) writes nothing.
        job = queued_job(bib(1500))
        real = ImportJob.record_progress

        def record_and_fall_behind(self, done, total):
            real(self, done, total)
            if done:
                ImportJob.objects.filter(pk=self.pk).update(
                    started_at=timezone.now() - timedelta(hours=2)
                )
                jobs.fail_stale_jobs()

        with mock.patch.object(ImportJob, "record_progress", record_and_fall_behind):
            jobs.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == ImportJob.Status.CANCELLED
        assert not Study.objects.exists()


class BackgroundCommandTests(TestCase):
    def test_background_queues_a_job(self):
        path = Path(self._tmp()) / "refs.bib"
        path.write_text(bib(3))
        out = io.StringIO()
        call_command("import_bibtex", path, "--background", stdout=out)
        job = ImportJob.objects.get()
        assert out.getvalue().startswith(f"Queued import job {job.pk} for refs.bib")
        # The tests' backend runs the task at once.
        assert (job.status, job.report["created"]) == ("done", 3)
        assert Study.objects.count() == 3

    def _tmp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        return directory.name


class WorkerTests(TransactionTestCase):
    """The database backend's own worker runs the queued job."""

    def setUp(self):
        # After the tests' autouse fixture, which runs tasks at once.
        self.enterContext(override_settings(TASKS=DATABASE_TASKS))

    def test_the_worker_runs_a_queued_import(self):
        job = ImportJob.submit(bib(1200), "worker.bib", confirmed=True)
        assert job.status == "queued" and not Study.objects.exists()
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        job.refresh_from_db()
        assert (job.status, job.done, job.report["created"]) == ("done", 1200, 1200)
        assert Study.objects.count() == 1200

    @pytest.mark.skipif(
        connection.vendor == "sqlite", reason="the SQLite test database is in memory"
    )
    def test_a_worker_process_runs_a_queued_import(self):
        job = ImportJob.submit(bib(50), "process.bib", confirmed=True)
        settings_dict = connection.settings_dict
        url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**settings_dict)
        environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "worker-test"}
        if settings_dict.get("PASSWORD"):
            environment["PGPASSWORD"] = settings_dict["PASSWORD"]
        command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload"]
        subprocess.run(command, cwd=ROOT, env=environment, check=True, timeout=120)
        job.refresh_from_db()
        assert (job.status, job.report["created"]) == ("done", 50)
        assert Study.objects.count() == 50


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the SQLite test database is in memory, shared by threads through table locks",
)
class ConcurrentImportTests(TransactionTestCase):
    """Two imports of overlapping files confirmed at nearly the same time."""

    def setUp(self):
        make_condition(name="Fibromyalgia")

    def test_the_second_import_checks_against_what_the_first_wrote(self):
        first = preview(bib(300), "first.bib")
        second = preview(bib(200, start=200), "second.bib")  # k200–k299 in both
        first_inside, second_started = threading.Event(), threading.Event()
        outcomes = {}

        def pause_in_the_first_transaction():
            first_inside.set()  # the first batch is inserted, not committed
            second_started.wait(5)
            time.sleep(0.5)  # the second import is on its way in its own transaction
            return False

        def run(name, report, cancelled=None):
            try:
                outcomes[name] = importers.create_new(report, cancelled=cancelled)
            except Exception as error:  # noqa: BLE001 (the test reports it)
                outcomes[name] = error
            finally:
                connections.close_all()

        writer = threading.Thread(target=run, args=("first", first, pause_in_the_first_transaction))
        writer.start()
        assert first_inside.wait(10)
        other = threading.Thread(target=run, args=("second", second))
        other.start()
        second_started.set()
        writer.join(30)
        other.join(30)
        assert len(outcomes["first"].created) == 300
        assert not isinstance(outcomes["second"], Exception), outcomes["second"]
        assert len(outcomes["second"].created) == 100
        assert len(outcomes["second"].duplicates) == 100
        assert Study.objects.count() == 400

    def test_a_curator_saving_meanwhile_neither_waits_for_the_import_nor_deadlocks(self):
        report = preview(bib(10), "first.bib")
        import_waits, outcomes = threading.Event(), {}
        recheck = importers._recheck

        def recheck_a_moment_later(report):
            import_waits.set()  # the import's transaction is open, its lock taken
            time.sleep(1)
            recheck(report)

        def import_file():
            try:
                with mock.patch.object(importers, "_recheck", recheck_a_moment_later):
                    outcomes["import"] = importers.create_new(report)
            except Exception as error:  # noqa: BLE001 (the test reports it)
                outcomes["import"] = error
            finally:
                connections.close_all()

        def save_a_study():
            try:
                with transaction.atomic():
                    outcomes["curator"] = make_study(title="Entered by hand", doi="10.5555/job.5")
            except Exception as error:  # noqa: BLE001 (the test reports it)
                outcomes["curator"] = error
            finally:
                connections.close_all()

        importing = threading.Thread(target=import_file)
        importing.start()
        assert import_waits.wait(10)
        saving = threading.Thread(target=save_a_study)
        saving.start()
        saving.join(0.8)
        assert not saving.is_alive()  # saved while the import still waited
        importing.join(30)
        assert isinstance(outcomes["curator"], Study), outcomes["curator"]
        assert not isinstance(outcomes["import"], Exception), outcomes["import"]
        assert len(outcomes["import"].created) == 9  # the curator's study is a duplicate
        assert Study.objects.count() == 10


def preview(text, file_name):
    entries, total = importers.read_entries(text)
    return importers.preview_records(entries, file_name, total=total)
