import io
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.core.validators import MinValueValidator
from django.db import models
from django.test import TestCase, override_settings

from studies import bibtex, bulk_writes, exports, importers
from studies.importers import (
    DUPLICATE,
    ERROR,
    NEW,
    UnreadableFile,
    check_entry_count,
    decode_upload,
    import_bibtex,
)
from studies.models import Study
from tests.factories import make_condition, make_study

CORPUS = Path(__file__).parent / "bibtex_corpus"

# For each file of the corpus: every entry as (key, line, status, start of the first reason).
EXPECTED_REPORTS = {
    "missing_comma.bib": [
        ("good1", 2, NEW, ""),
        ("swallowed", 7, ERROR, "a missing comma after the “title” field (line 8)"),
        ("swallowedquoted", 12, ERROR, "a missing comma after the “title” field (line 13)"),
        ("swallowedbare", 16, ERROR, "a missing comma after the “year” field (line 17)"),
        ("good2", 21, NEW, ""),
    ],
    "unbalanced_braces.bib": [
        ("open", 1, ERROR, "unbalanced braces"),
        ("fine", 6, NEW, ""),
        ("neverclosed", 11, ERROR, "unbalanced braces"),
        ("last", 15, NEW, ""),
    ],
    "duplicate_keys.bib": [
        ("smith2019", 1, NEW, ""),
        ("smith2019", 6, ERROR, "the key “smith2019” is used already by the entry on line 1"),
        ("jones2020", 11, ERROR, "a field given twice: “title”"),
    ],
    "missing_titles.bib": [
        ("notitle", 1, ERROR, "no title"),
        ("emptytitle", 6, ERROR, "no title"),
        ("bracesonly", 11, ERROR, "no title"),
        ("titled", 15, NEW, ""),
    ],
    "bad_values.bib": [
        ("letteryear", 1, ERROR, "the year “20x9” is not a year"),
        ("rangeyear", 2, ERROR, "the year “2019-2020” is not a year"),
        ("oldyear", 3, ERROR, "the year “1850” is not a year"),
        ("romanyear", 4, ERROR, "the year “MMXIX” is not a year"),
        ("baddoi", 5, ERROR, "“not a doi” is not a DOI"),
        ("doiurl", 6, NEW, ""),
        ("badpmid", 7, ERROR, "“12a45” is not a PMID"),
        ("badpmcid", 8, ERROR, "“PMC” is not a PMCID"),
        ("badnct", 9, ERROR, "“NCT123” is not a trial registry id"),
        ("badurl", 10, ERROR, "the url “javascript:alert(1)” is not a web address"),
        ("baddesign", 11, ERROR, "the design “anecdote” is not one of the catalog's designs"),
    ],
    "hostile.bib": [
        ("script", 1, NEW, ""),
        ("toolong", 7, ERROR, "the title is 1,999 characters long; the limit is 1,000"),
        ("control", 11, ERROR, "the “title” field holds binary data or control characters"),
        ("longjournal", 15, ERROR, "the journal is longer than 300 characters"),
        ("fine", 20, NEW, ""),
    ],
}


def _read(name):
    return decode_upload((CORPUS / name).read_bytes())


def _summary(report):
    return [
        (row.entry.key, row.entry.line, row.status, row.reasons[0] if row.reasons else "")
        for row in report.rows
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED_REPORTS))
def test_corpus_gives_the_expected_report_per_entry(name):
    text = _read(name)
    report = import_bibtex(text, name, dry_run=True)
    summary = _summary(report)
    assert [row[:3] for row in summary] == [row[:3] for row in EXPECTED_REPORTS[name]]
    for (*_, reason), (*_, expected) in zip(summary, EXPECTED_REPORTS[name], strict=True):
        assert reason.startswith(expected)
    # The counts reconcile with the entries an independent count finds.
    assert len(report.rows) == len(bibtex.entry_starts(text))
    assert len(report.new) + len(report.duplicates) + len(report.errors) == len(report.rows)


@pytest.mark.parametrize(
    ("name", "message"),
    [("binary.bib", "binary file"), ("latin1.bib", "not UTF-8 text")],
)
def test_unreadable_files_are_refused_whole(name, message):
    with pytest.raises(UnreadableFile, match=message):
        decode_upload((CORPUS / name).read_bytes())


class ImportTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibromyalgia = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.crohns = make_condition(name="Crohn's disease", slug="crohns-disease")

    def test_preview_writes_nothing(self):
        report = import_bibtex(_read("missing_comma.bib"), "missing_comma.bib", dry_run=True)
        assert len(report.new) == 2
        assert not Study.objects.exists()

    def test_valid_entries_of_a_damaged_file_are_imported(self):
        report = import_bibtex(_read("missing_comma.bib"), "missing_comma.bib")
        assert len(report.created) == 2
        assert set(Study.objects.values_list("title", flat=True)) == {
            "Low-dose naltrexone in fibromyalgia",
            "Naltrexone for Crohn's disease",
        }

    def test_reimporting_the_same_file_creates_nothing(self):
        text = _read("bad_values.bib")
        import_bibtex(text, "bad_values.bib")
        count = Study.objects.count()
        report = import_bibtex(text, "bad_values.bib")
        assert report.created == []
        assert Study.objects.count() == count
        assert [row.entry.key for row in report.duplicates] == ["doiurl"]
        assert report.duplicates[0].matched_by == "DOI 10.1000/xyz"

    def test_dry_run_writes_nothing(self):
        report = import_bibtex(_read("hostile.bib"), "hostile.bib", dry_run=True)
        assert len(report.new) == 2
        assert not Study.objects.exists()

    def test_hostile_markup_is_stored_as_plain_text(self):
        import_bibtex(_read("hostile.bib"), "hostile.bib")
        study = Study.objects.get(title__startswith="<script>")
        assert study.title == (
            '<script>alert("x")</script> <b>bold</b> & <img src=x onerror=alert(1)>'
        )
        assert study.authors == ["<i>Evil</i>, Eve"]

    def test_fields_are_mapped(self):
        text = r"""
@article{younger2013,
  title = {Low-dose naltrexone for the treatment of {F}ibromyalgia: M{\"u}ller \& co},
  author = {Younger, Jarred and Noor, Noorulain and McCue, Rebecca},
  journal = {Arthritis {\&} Rheumatism},
  year = {2013},
  volume = {65},
  number = {2},
  pages = {529--538},
  doi = {https://doi.org/10.1002/ART.37734},
  pmid = {23359310},
  pmcid = {PMC4077541},
  url = {https://example.org/paper},
  note = {Trial registration: NCT00568555},
  keywords = {fibromyalgia, Crohn's disease, unicorn syndrome},
  design = {crossover_rct},
}
"""
        report = import_bibtex(text, "one.bib")
        [study] = report.created
        study.refresh_from_db()
        assert study.title == ("Low-dose naltrexone for the treatment of Fibromyalgia: Müller & co")
        assert study.authors == ["Younger, Jarred", "Noor, Noorulain", "McCue, Rebecca"]
        assert (study.journal, study.year, study.volume, study.issue, study.pages) == (
            "Arthritis & Rheumatism",
            2013,
            "65",
            "2",
            "529–538",
        )
        assert (study.doi, study.pmid, study.pmcid, study.registry_id) == (
            "10.1002/art.37734",
            "23359310",
            "PMC4077541",
            "NCT00568555",
        )
        assert study.url == "https://example.org/paper"
        assert study.design == "crossover_rct"
        assert study.slug == (
            "low-dose-naltrexone-for-the-treatment-of-fibromyalgia-muller-co-2013"
        )
        assert set(study.conditions.all()) == {self.fibromyalgia, self.crohns}
        # Unknown keywords are reported, not created.
        assert report.rows[0].warnings == [
            "keyword “unicorn syndrome” is not a condition in the catalog"
        ]

    def test_design_defaults_to_other(self):
        [study] = import_bibtex("@misc{a, title = {A}}", "a.bib").created
        assert study.design == "other"

    def test_duplicates_of_catalog_studies_by_identifier_and_title(self):
        by_pmid = make_study(title="Existing one", pmid="123456")
        by_title = make_study(title="Naltrexone in Crohn's Disease.", year=2011)
        text = (
            "@article{a, title = {Different title}, pmid = {PMID: 123456}}\n"
            "@article{b, title = {Naltrexone in {C}rohn's disease}, year = {2011}}\n"
            "@article{c, title = {Naltrexone in Crohn's disease}, year = {2012}}\n"
        )
        report = import_bibtex(text, dry_run=True)
        assert [(row.status, row.matched_by, row.existing) for row in report.rows] == [
            (DUPLICATE, "PMID 123456", by_pmid),
            (DUPLICATE, "title and year", by_title),
            (NEW, "", None),
        ]

    def test_duplicates_within_one_file(self):
        text = (
            "@article{a, title = {First}, doi = {10.1000/one}}\n"
            "@article{b, title = {Second}, doi = {10.1000/ONE}}\n"
        )
        report = import_bibtex(text, dry_run=True)
        assert [row.status for row in report.rows] == [NEW, DUPLICATE]
        assert report.rows[1].earlier is report.rows[0]
        assert len(import_bibtex(text).created) == 1

    def test_slugs_do_not_collide(self):
        make_study(title="Same title", year=2020, slug="same-title-2020")
        text = "@misc{a, title = {Same titl\\'e}, year = 2020}\n"
        [study] = import_bibtex(text).created
        assert study.slug == "same-title-2020-2"

    def test_import_is_recorded_in_history(self):
        import_bibtex(
            "@misc{a, title = {Recorded}, keywords = {fibromyalgia}}\n@misc{b, title = {Too}}",
            "catalog.bib",
        )
        for study in Study.objects.all():
            first = study.history.earliest()
            assert first.history_type == "+"
            assert first.history_change_reason == "Imported from catalog.bib"
        study = Study.objects.get(title="Recorded")
        assert list(study.history.latest().conditions.values_list("condition", flat=True)) == [
            self.fibromyalgia.pk
        ]

    def test_created_rows_match_what_the_orm_reads_back(self):
        curator = User.objects.create_user("curator")
        text = (
            "@article{a, title = {Stored {\\'E}tude}, author = {M{\\\"u}ller, A. and Li, B.},"
            " year = 2019, journal = {J}, pages = {1--9}, doi = {10.1000/X1}}\n"
            "@misc{b, title = {Second}}\n"
        )
        created = import_bibtex(text, "catalog.bib", user=curator).created
        for study in created:
            stored = Study.objects.get(pk=study.pk)
            assert stored.slug == study.slug and stored.title == study.title
            assert stored.created_at is not None and stored.updated_at == stored.created_at
            record = stored.history.get()
            assert (record.history_type, record.history_user) == ("+", curator)
            assert record.history_change_reason == "Imported from catalog.bib"
            assert (record.title, record.authors, record.year) == (
                stored.title,
                stored.authors,
                stored.year,
            )
        stored = Study.objects.get(slug=created[0].slug)
        assert stored.authors == ["Müller, A.", "Li, B."]
        assert (stored.title, stored.year, stored.pages) == ("Stored Étude", 2019, "1–9")
        assert (stored.doi, stored.pmid, stored.design) == ("10.1000/x1", None, "other")


# Values the database's checks accept for fields whose format it checks.
SAMPLES = {
    "doi": "10.1000/sample",
    "pmid": "12345",
    "pmcid": "PMC12345",
    "registry_id": "NCT01234567",
    "url": "https://example.org/sample",
}


def _sample_value(field, user):
    """A value of ``field`` that is not its default (the guard below must notice a field
    that is not written)."""
    if field.name in SAMPLES:
        return SAMPLES[field.name]
    if field.choices:
        return field.choices[-1][0]
    if isinstance(field, models.ForeignKey):
        return user.pk
    if isinstance(field, models.BooleanField):
        return not field.get_default()
    if isinstance(field, models.DecimalField):
        return Decimal("1.50")
    if isinstance(field, models.IntegerField):
        lowest = [v.limit_value for v in field.validators if isinstance(v, MinValueValidator)]
        return max([7, *lowest])
    if isinstance(field, models.DateTimeField):
        return datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    if isinstance(field, models.JSONField):
        return ["sample"]
    if isinstance(field, models.CharField | models.TextField):
        return "sample"[: field.max_length]
    raise AssertionError(f"give Study.{field.name} ({type(field).__name__}) a sample value")


class BulkWriteGuardTests(TestCase):
    """The importer writes studies and their history with hand-written SQL (bulk_writes:
    insert, copy_to_history): a field added to Study or to its history model that they do not
    write makes these tests fail."""

    SET_BY_IMPORT = {"id", "slug", "title", "created_at", "updated_at"}

    def test_every_field_of_study_and_its_history_is_written(self):
        curator = User.objects.create_user("curator")
        fields = [
            f
            for f in Study._meta.concrete_fields
            if not f.generated and f.attname not in self.SET_BY_IMPORT
        ]
        samples = {f.attname: _sample_value(f, curator) for f in fields}
        real = importers._study_from_entry

        def study_with_every_field(row, conditions):
            study = real(row, conditions)
            for name, value in samples.items():
                setattr(study, name, value)
            return study

        with mock.patch.object(importers, "_study_from_entry", study_with_every_field):
            [created] = import_bibtex("@misc{a, title = {Guarded}}", "g.bib", user=curator).created
        stored = Study.objects.get(pk=created.pk)
        record = stored.history.get()
        for name, value in samples.items():
            assert getattr(stored, name) == value, name
            assert getattr(record, name) == value, name
        for f in Study._meta.concrete_fields:
            if not f.generated:
                assert getattr(record, f.attname) == getattr(stored, f.attname), f.name

    def test_the_history_model_holds_the_study_fields_and_simple_history_own(self):
        history_fields = {f.attname for f in Study.history.model._meta.concrete_fields}
        study_fields = {f.attname for f in Study._meta.concrete_fields if not f.generated}
        own = {"history_id", "history_date", "history_change_reason"}
        own |= {"history_type", "history_user_id"}
        assert history_fields == study_fields | own


class ValidationTests(TestCase):
    def test_the_model_validation_of_each_entry_is_reported_against_it(self):
        text = "@misc{a, title = {A}, volume = {1}}\n@misc{b, title = {B}}\n"
        with mock.patch.object(
            Study._meta.get_field("volume"),
            "validators",
            [lambda value: (_ for _ in ()).throw(ValidationError("no volumes today"))],
        ):
            report = import_bibtex(text, dry_run=True)
        a, b = report.rows
        assert a.status == ERROR and a.reasons == ["the volume: no volumes today"]
        assert b.status == NEW

    @override_settings(BIBTEX_MAX_ENTRIES=3)
    def test_a_file_over_the_entry_limit_is_refused_whole(self):
        data = "".join(f"@misc{{k{n}, title = {{T{n}}}}}\n" for n in range(4)).encode()
        with pytest.raises(UnreadableFile, match="holds 4 entries; the catalog imports at most 3"):
            check_entry_count(decode_upload(data), "bibtex")

    def test_studies_added_during_the_check_are_not_created_again(self):
        real = importers.preview_records

        def preview_then_another_curator_adds(*args, **kwargs):
            report = real(*args, **kwargs)
            make_study(title="Meanwhile", year=2020, doi="10.1000/meanwhile")
            make_study(title="Other", slug="slugged-2020")
            return report

        text = (
            "@misc{a, title = {Meanwhile}, year = 2020}\n"
            "@misc{b, title = {Slugged}, year = 2020}\n"
            "@misc{c, title = {Third}, doi = {10.1000/MEANWHILE}}\n"
        )
        with mock.patch.object(importers, "preview_records", preview_then_another_curator_adds):
            report = import_bibtex(text)
        assert [row.status for row in report.rows] == [DUPLICATE, NEW, DUPLICATE]
        assert [study.slug for study in report.created] == ["slugged-2020-2"]
        assert Study.objects.filter(title="Meanwhile").count() == 1


class RoundTripTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        condition = make_condition(name="Multiple sclerosis", slug="multiple-sclerosis")
        cls.studies = [
            make_study(
                title=r"Naltrexone & {braces}, 50% of \backslash ~tilde ^caret $dollar #_ --",
                authors=[
                    "Müller, Jürgen",
                    "O'Brien, Siobhán",
                    "Smith and Sons Ltd",
                    "World Health Organization",
                ],
                journal="J. Neuro & Immun.",
                year=2010,
                volume="12",
                issue="3",
                pages="100\u2013110",
                doi="10.1000/round.trip",
                pmid="20000001",
                pmcid="PMC2000001",
                registry_id="NCT01234567",
                url="https://example.org/a?b=c&d=e",
                design="rct",
                conditions=[condition],
            ),
            make_study(title="A study with nothing but a title", design="other"),
            make_study(title="A registered trial", registry_id="ISRCTN12345678", year=2022),
        ]

    def test_exported_bibtex_reimports_as_duplicates(self):
        text = "".join(exports.FORMATS["bibtex"].stream(Study.objects.all()))
        report = import_bibtex(text, "export.bib")
        assert report.created == []
        assert {row.existing for row in report.duplicates} == set(self.studies)
        assert len(report.rows) == len(self.studies)

    def test_export_writes_page_ranges_with_two_hyphens(self):
        text = "".join(exports.FORMATS["bibtex"].stream(Study.objects.all()))
        assert "pages = {100--110}" in text
        assert "\u2013" not in text

    def test_exported_fields_parse_back_equal(self):
        fields = ["title", "authors", "journal", "year", "volume", "issue", "pages"]
        fields += ["doi", "pmid", "pmcid", "registry_id", "url"]
        text = "".join(exports.FORMATS["bibtex"].stream(Study.objects.all()))
        report = import_bibtex(text, dry_run=True)
        for row in report.rows:
            original = row.existing
            for name in fields:
                assert getattr(row.study, name) == getattr(original, name), name
            assert row.condition_ids == list(original.conditions.values_list("pk", flat=True))


class CommandTests(TestCase):
    def test_summary_lists_errors(self):
        out, err = io.StringIO(), io.StringIO()
        call_command("import_bibtex", CORPUS / "missing_comma.bib", stdout=out, stderr=err)
        lines = out.getvalue().splitlines()
        assert lines[-1] == "5 entries: 2 created, 0 duplicates, 3 errors"
        assert (
            "error: “swallowed” (line 7): a missing comma after the “title” field (line 8): "
            "its value swallowed “year = …”"
        ) in lines
        assert Study.objects.count() == 2

    def test_summary_says_one_entry_duplicate_and_error_in_the_singular(self):
        text = (
            "@article{a, title={Low-dose naltrexone in pain}, year={2019}}\n"
            "@article{b, title={Low-dose naltrexone in pain}, year={2019}}\n"
            "@article{c, year={2019}}\n"
        )
        assert import_bibtex(text, dry_run=True).summary(written=False) == (
            "3 entries: 1 would be created, 1 duplicate, 1 error"
        )
        assert import_bibtex(text[: text.index("@article{b")]).summary(written=True) == (
            "1 entry: 1 created, 0 duplicates, 0 errors"
        )

    def test_dry_run(self):
        out = io.StringIO()
        call_command("import_bibtex", CORPUS / "hostile.bib", "--dry-run", stdout=out)
        assert out.getvalue().splitlines()[-1] == (
            "5 entries: 2 would be created, 0 duplicates, 3 errors"
        )
        assert not Study.objects.exists()

    def test_unreadable_file_fails(self):
        with pytest.raises(CommandError, match="binary file"):
            call_command("import_bibtex", CORPUS / "binary.bib")
        with pytest.raises(CommandError, match="No such file"):
            call_command("import_bibtex", CORPUS / "missing.bib")

    def test_progress_on_large_files(self):
        text = "".join(f"@misc{{k{n}, title = {{Title {n}}}}}\n" for n in range(2500))
        path = Path(self._tmp()) / "large.bib"
        path.write_text(text)
        out, err = io.StringIO(), io.StringIO()
        call_command("import_bibtex", path, stdout=out, stderr=err)
        assert "1,000 of 2,500 entries checked" in err.getvalue()
        assert "2,500 of 2,500 entries checked" in err.getvalue()
        assert out.getvalue().splitlines()[-1] == (
            "2500 entries: 2500 created, 0 duplicates, 0 errors"
        )

    def _tmp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        return directory.name


class CheckingOnceTests(TestCase):
    """What the importer does once for many entries gives what doing it for each gave."""

    def test_a_new_study_holds_what_study_init_gives(self):
        made, expected = importers._new_study(), Study(design="other")
        state = {name: value for name, value in vars(made).items() if name != "_state"}
        assert state == {name: value for name, value in vars(expected).items() if name != "_state"}
        assert vars(made._state) == vars(expected._state)
        assert made._state.adding and made._state.db is None
        assert made.authors is not importers._new_study().authors

    def test_each_value_is_validated_once_and_reported_on_every_entry(self):
        calls = []

        def no_volume_two(value):
            calls.append(value)
            if value == "2":
                raise ValidationError("not two")

        text = "".join(
            f"@misc{{k{n}, title = {{T{n}}}, volume = {{{n % 2 + 1}}}}}\n" for n in range(6)
        )
        with mock.patch.object(Study._meta.get_field("volume"), "validators", [no_volume_two]):
            report = import_bibtex(text, dry_run=True)
        assert sorted(calls) == ["1", "2"]
        assert [row.reasons for row in report.rows] == [[], ["the volume: not two"]] * 3
        assert [row.status for row in report.rows] == [NEW, ERROR] * 3

    def test_links_and_their_history_are_written_for_every_batch(self):
        pain, fm = make_condition(name="Pain"), make_condition(name="Fibromyalgia")
        count = bulk_writes.INSERT_BATCH + 3  # two batches
        keywords = ["Pain", "Pain, Fibromyalgia"]
        text = "".join(
            f"@misc{{k{n}, title = {{T{n}}}, keywords = {{{keywords[n % 2]}}}}}\n"
            for n in range(count)
        )
        report = import_bibtex(text, "links.bib")
        assert len(report.created) == count
        for study in Study.objects.filter(pk__in=[s.pk for s in report.created]):
            expected = {pain.pk, fm.pk} if int(study.title[1:]) % 2 else {pain.pk}
            assert set(study.conditions.values_list("pk", flat=True)) == expected
            record = study.history.get()
            assert set(record.conditions.values_list("condition_id", flat=True)) == expected
