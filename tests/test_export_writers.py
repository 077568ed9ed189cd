"""The download writers read plain rows a chunk at a time; they write exactly what the
writers that read model instances wrote (tests/export_reference.py), on the curated
catalog and on synthetic studies."""

from unittest.mock import patch

from django.core.management import call_command
from django.test import TestCase

from benchmarks.synthetic import generate_studies
from studies import exports
from studies.models import Study

from . import export_reference
from .test_hostile_content import hostile_studies


def new_text(name, queryset, chunk_size=exports.READ_CHUNK_SIZE):
    return "".join(exports.FORMATS[name].stream(queryset, chunk_size=chunk_size))


def old_text(name, queryset):
    return "".join(export_reference.WRITERS[name](queryset.for_export()))


class SameAsBeforeMixin:
    def test_every_format_writes_what_the_old_writers_wrote(self):
        queryset = Study.objects.order_by("slug")
        assert queryset.count() > 10
        for name in exports.FORMATS:
            # Chunks smaller than the catalog, so that chunk and batch joins are covered.
            for chunk_size in (7, 1000):
                assert new_text(name, queryset, chunk_size) == old_text(name, queryset), name

    def test_the_list_order_is_kept(self):
        queryset = Study.objects.sorted_by("level")
        for name in exports.FORMATS:
            assert new_text(name, queryset, 5) == old_text(name, queryset), name


class CuratedCatalogTests(SameAsBeforeMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        call_command("loaddata", "catalog", verbosity=0)


class SyntheticCatalogTests(SameAsBeforeMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        generate_studies(300, seed=3)


class HostileContentTests(SameAsBeforeMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        hostile_studies()
        generate_studies(20, seed=1)


class ChunkTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        generate_studies(25, seed=2)

    def test_related_rows_take_one_query_per_table_and_chunk(self):
        for name, export in exports.FORMATS.items():
            studies = Study.objects.all()
            with self.assertNumQueries(1 + 3 * len(export.relations)):  # studies, related rows
                chunks = list(exports.study_rows(studies, export.relations, chunk_size=10))
            assert [len(chunk) for chunk in chunks] == [10, 10, 5], name

    def test_studies_are_written_in_batches(self):
        for export in exports.FORMATS.values():
            with patch.object(exports, "WRITE_BATCH_SIZE", 10):
                pieces = list(export.stream(Study.objects.all(), chunk_size=20))
            # 10 + 10 from the first chunk, 5 from the second; a head and a tail if any.
            assert len(pieces) == 3 + bool(export.head) + bool(export.tail), export.name
