from unittest.mock import patch

import pytest
from django.db import DatabaseError, connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from simple_history.models import HistoricalRecords

from studies.models import Condition, Study
from studies.versions import EditConflict
from tests.factories import make_condition, make_mention, make_outcome, make_study


class VersionedSaveTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.study = make_study(title="A trial", summary="First.")

    def test_a_new_record_starts_at_version_one_and_each_save_adds_one(self):
        assert self.study.version == 1
        self.study.save()
        assert self.study.version == 2
        assert Study.objects.get(pk=self.study.pk).version == 2

    def test_the_check_and_the_bump_are_one_update(self):
        self.study.summary = "Second."
        with CaptureQueriesContext(connection) as queries:
            self.study.save(expected_version=1)
        [update] = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
        assert '"version" = 1' in update
        assert '"version" = ("studies_study"."version" + 1)' in update
        assert self.study.version == 2

    def test_a_save_based_on_an_old_version_is_refused_and_writes_nothing(self):
        stale = Study.objects.get(pk=self.study.pk)
        self.study.summary = "Saved first."
        self.study.save(expected_version=1)
        stale.summary = "Stale."
        with pytest.raises(EditConflict) as refused:
            stale.save(expected_version=1)
        assert refused.value.expected_version == 1
        assert stale.version == 1  # as it was: nothing was written
        fresh = Study.objects.get(pk=self.study.pk)
        assert (fresh.summary, fresh.version) == ("Saved first.", 2)
        assert Study.objects.count() == 1  # and no INSERT either
        # The caller's transaction is still usable.
        stale.refresh_from_db()
        stale.summary = "Re-applied."
        stale.save(expected_version=stale.version)
        assert Study.objects.get(pk=self.study.pk).summary == "Re-applied."

    def test_a_save_of_some_fields_is_checked_too(self):
        self.study.save()
        self.study.summary = "Only this."
        with pytest.raises(EditConflict):
            self.study.save(update_fields=["summary"], expected_version=1)
        self.study.save(update_fields=["summary"], expected_version=2)
        assert Study.objects.get(pk=self.study.pk).version == 3

    def test_the_history_records_each_version(self):
        self.study.summary = "Second."
        self.study.save(expected_version=1)
        assert [r.version for r in self.study.history.all()] == [2, 1]
        assert self.study.changes_since(1) == "curator's summary: “First.” → “Second.”"

    def test_a_save_and_its_history_record_are_written_together(self):
        # A backup reads one snapshot: it must never see the row without its history.
        self.study.summary = "Second."
        with (
            patch.object(
                HistoricalRecords, "create_historical_record", side_effect=DatabaseError("x")
            ),
            pytest.raises(DatabaseError),
        ):
            self.study.save()
        assert Study.objects.get(pk=self.study.pk).summary == "First."

    def test_writing_a_part_of_a_study_bumps_the_study(self):
        outcome = make_outcome(self.study)
        assert Study.objects.get(pk=self.study.pk).version == 2
        outcome.name = "Fatigue"
        outcome.save()
        assert Study.objects.get(pk=self.study.pk).version == 3
        make_mention(self.study).delete()
        assert Study.objects.get(pk=self.study.pk).version == 5

    def test_conditions_and_sources_are_versioned(self):
        condition = make_condition()
        stale = Condition.objects.get(pk=condition.pk)
        condition.description = "New."
        condition.save(expected_version=1)
        with pytest.raises(EditConflict):
            stale.save(expected_version=1)


class VersionQuerySetTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.a, cls.b = make_study(), make_study()

    def test_bump_version(self):
        assert Study.objects.filter(pk=self.a.pk).bump_version() == 1
        assert Study.objects.filter(pk=self.a.pk).bump_version(expected_version=2) == 1
        with pytest.raises(EditConflict):
            Study.objects.filter(pk=self.a.pk).bump_version(expected_version=2)
        assert Study.objects.get(pk=self.a.pk).version == 3

    def test_stale_names_the_rows_that_moved_on(self):
        Study.objects.filter(pk=self.b.pk).bump_version()
        assert Study.objects.stale({self.a.pk: 1, self.b.pk: 1}) == {self.b.pk: 2}
        self.b.delete()
        assert Study.objects.stale({self.a.pk: 1, self.b.pk: 2}) == {self.b.pk: None}
