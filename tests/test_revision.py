"""The catalog revision: every write path bumps it, and the next request of any worker
(here: a worker whose local cache is empty) shows the change under a new ETag."""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test import TestCase, TransactionTestCase

from benchmarks.synthetic import ensure_conditions, generate_studies
from studies import backups
from studies.caching import bump_catalog_revision, read_catalog_version
from studies.importers import import_bibtex
from studies.models import CatalogRevision, Condition, Study
from tests.factories import make_condition, make_study

BASE_DIR = Path(__file__).resolve().parent.parent
CATALOG = BASE_DIR / "fixtures" / "catalog.json"
SLUG = "efficacy-safety-ldn-chronic-pain-2024"


def temporary_directory(test):
    directory = tempfile.TemporaryDirectory()
    test.addCleanup(directory.cleanup)
    return directory.name


class RevisionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.study = make_study([cls.condition], title="Before the change")

    def page(self, url, etag=None):
        """A request served by another worker: nothing of this one's cache is shared."""
        cache.clear()
        headers = {"if_none_match": etag} if etag else {}
        return self.client.get(url, headers=headers)

    def assert_changed(self, url, etag, text):
        response = self.page(url, etag)
        assert response.status_code == 200, "a 304 would keep the stale page"
        assert response.headers["ETag"] != etag
        assert text in response.content.decode()
        return response.headers["ETag"]

    def test_every_kind_of_write_makes_a_new_revision(self):
        seen = {read_catalog_version()}
        self.study.title = "Edited"
        self.study.save()
        seen.add(read_catalog_version())
        self.study.conditions.clear()
        seen.add(read_catalog_version())
        make_study().delete()  # a save, then a delete
        seen.add(read_catalog_version())
        assert len(seen) == 4

    def number(self):
        return CatalogRevision.objects.get().number

    def test_one_loaddata_is_one_bump(self):
        read_catalog_version()
        before = self.number()
        call_command("loaddata", "catalog", verbosity=0)
        assert self.number() == before + 1

    def test_a_bump_rolled_back_with_its_savepoint_is_made_again(self):
        read_catalog_version()  # as a request would: the next write must bump
        before = self.number()
        with contextlib.suppress(RuntimeError), transaction.atomic():
            self.study.save()
            raise RuntimeError
        make_study()  # in the same (test's) transaction, with no read in between
        assert self.number() == before + 1

    def test_a_write_that_bypasses_signals_shows_once_it_bumps_the_revision(self):
        url = f"/studies/{self.study.slug}/"
        etag = self.page(url).headers["ETag"]
        Study.objects.filter(pk=self.study.pk).update(title="Changed in bulk")
        assert self.page(url, etag).status_code == 304  # what bump_catalog_revision is for
        bump_catalog_revision()
        self.assert_changed(url, etag, "Changed in bulk")

    def test_the_revision_survives_a_flushed_row(self):
        CatalogRevision.objects.all().delete()
        assert read_catalog_version() == ("r0", None)
        bump_catalog_revision()
        assert CatalogRevision.objects.get().number == 1

    def test_loaddata_changing_a_record_shows_at_once(self):
        call_command("loaddata", "catalog", verbosity=0)
        urls = [
            f"/studies/{SLUG}/",
            "/studies/?condition=chronic-pain",
            "/conditions/chronic-pain/",
        ]
        etags = {url: self.page(url).headers["ETag"] for url in urls}
        records = json.loads(CATALOG.read_text())
        for record in records:
            if record["model"] == "studies.study" and record["fields"]["slug"] == SLUG:
                record["fields"]["title"] = "A corrected title from the fixture"
        changed = Path(temporary_directory(self)) / "changed.json"
        changed.write_text(json.dumps(records))
        call_command("loaddata", str(changed), verbosity=0)
        for url in urls:
            self.assert_changed(url, etags[url], "A corrected title from the fixture")

    def test_an_import_shows_at_once(self):
        url = "/studies/"
        etag = self.page(url).headers["ETag"]
        # No keywords: no conditions set, so no signal at all from the bulk inserts.
        report = import_bibtex(
            "@article{x, title={Naltrexone at low dose in a new trial}, year={2025}}", "new.bib"
        )
        assert len(report.created) == 1
        self.assert_changed(url, etag, "Naltrexone at low dose in a new trial")

    def test_generated_studies_make_a_new_revision(self):
        ensure_conditions()
        before = read_catalog_version()
        generate_studies(3, seed=7)
        assert read_catalog_version() != before

    def test_a_migration_bumps_the_revision(self):
        before = read_catalog_version()
        call_command("migrate", "studies", verbosity=0)  # nothing to apply: post_migrate only
        assert read_catalog_version() != before


class RestoreRevisionTests(TransactionTestCase):
    def test_a_restore_shows_at_once(self):
        condition = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        make_study([condition], title="Kept in the backup")
        dump = Path(temporary_directory(self)) / "catalog.json"
        backups.backup_json(dump)
        for model in (Study, Condition):
            model.history.all().delete()
        Study.objects.all().delete()
        Condition.objects.all().delete()
        cache.clear()
        empty = self.client.get("/studies/")
        assert "Kept in the backup" not in empty.content.decode()
        backups.restore_json(dump)
        cache.clear()
        response = self.client.get("/studies/", headers={"if_none_match": empty["ETag"]})
        assert response.status_code == 200
        assert response["ETag"] != empty["ETag"]
        assert "Kept in the backup" in response.content.decode()


class AnotherProcessTests(TransactionTestCase):
    """``loaddata`` run by another process (a deployment's command, beside the workers):
    this worker's next request shows the change, with its own cache left warm."""

    def setUp(self):
        if connection.vendor != "postgresql":
            self.skipTest("the SQLite test database is in memory, out of another's reach")

    def manage(self, *args):
        settings_dict = connection.settings_dict
        url = (
            f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}"
            f"@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
        )
        env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
        env.update(SECRET_KEY="x" * 50, DATABASE_URL=url, LOG_LEVEL="WARNING")
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
        )

    def test_loaddata_in_another_process_shows_in_the_next_request(self):
        self.manage("loaddata", "catalog")
        urls = [
            f"/studies/{SLUG}/",
            "/studies/?condition=chronic-pain",
            "/conditions/chronic-pain/",
        ]
        etags = {url: self.client.get(url).headers["ETag"] for url in urls}
        records = json.loads(CATALOG.read_text())
        for record in records:
            if record["model"] == "studies.study" and record["fields"]["slug"] == SLUG:
                record["fields"]["title"] = "Corrected by another process"
        changed = Path(temporary_directory(self)) / "changed.json"
        changed.write_text(json.dumps(records))
        self.manage("loaddata", str(changed))
        for url in urls:  # no cache.clear(): this worker's cache is as the requests left it
            response = self.client.get(url, headers={"if_none_match": etags[url]})
            assert response.status_code == 200, url
            assert "Corrected by another process" in response.content.decode(), url
