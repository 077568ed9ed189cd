"""Every format through the one import path: round trips of the catalog's exports, files of
the catalog's studies made by other tools, registered trials and their updates, MeSH and
publication types, and what a file with errors writes."""

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import TestCase

from studies import exports
from studies.formats import detect_format
from studies.importers import DUPLICATE, NEW, decode_upload, import_bibtex
from studies.models import Condition, ImportJob, Study
from tests.factories import make_condition, make_study

CORPUS = Path(__file__).parent / "import_corpus"


def _read(name):
    return decode_upload((CORPUS / name).read_bytes())


def _export(format):
    """The catalog's export in ``format``, as the site writes it."""
    return "".join(exports.FORMATS[format].stream(Study.objects.order_by("slug")))


def _import(name, **options):
    text = _read(name)
    return import_bibtex(text, name, format=detect_format(text, name), **options)


class RoundTripTests(TestCase):
    """Each format the site exports re-imports as duplicates only, field for field."""

    @classmethod
    def setUpTestData(cls):
        pain = make_condition(name="Chronic pain", slug="chronic-pain")
        fm = make_condition(name="Fibromyalgia", slug="fibromyalgia", synonyms=["FM"])
        # A name holding a comma, as MeSH writes names: one condition, in every format.
        ra = make_condition(name="Arthritis, Rheumatoid", slug="rheumatoid-arthritis")
        make_study(
            conditions=[fm, pain, ra],
            title="Low-dose naltrexone in Ålesund: Müller's “pilot” — 50% & more",
            year=2014,
            authors=["Younger J", "Småbrekke L", "Nguyễn TH"],
            journal="Clinical Rheumatology",
            volume="33",
            issue="4",
            pages="451–459",
            doi="10.1007/s10067-014-2517-2",
            pmid="24526250",
            pmcid="PMC3962576",
            design="crossover_rct",
            sample_size=31,
            population="Women with fibromyalgia.",
            dose="4.5 mg nightly",
            dose_min_mg=Decimal("4.5"),
            dose_max_mg=Decimal("4.5"),
            duration="12 weeks",
            comparator="Placebo",
            adverse_events="Vivid dreams.",
            summary="=1+1 is not a formula here.",
        )
        make_study(
            title="Naltrexone at low dose for chronic pain (NCT04270877)",
            authors=["Pain Research and Development Group"],  # one author, “and” or not
            registry_id="NCT04270877",
            design="registered_trial",
            status="ongoing",
            url="https://clinicaltrials.gov/study/NCT04270877",
            registry_status="ACTIVE_NOT_RECRUITING",
            registry_checked="2025-02",
            expected_completion="2026-12",
            results_posted=False,
        )
        make_study(
            title="-5 reasons; a title that starts like a formula",
            # Names with a suffix, as BibTeX writes them (“von Last, Jr, First”) and CSL
            # JSON's are read.
            authors=["King, Jr., Martin L.", "van der Berg, III, J"],
            design="other",
            # A DOI holding a semicolon, as older Wiley DOIs (SICI) do.
            doi="10.1002/(SICI)1097-0258(19980815/30)17:15/16<1661::AID-SIM968>3.0.CO;2-2",
        )
        make_study(
            title="Paper cited as reference 4 of a review",
            descriptive_title=True,
            year=2016,
            design="case_series",
            design_basis="inferred",
            design_quote="Three(3) Case Reports",
        )

    def _reimport(self, text, format):
        count = Study.objects.count()
        report = import_bibtex(text, "export", format=format)
        assert Study.objects.count() == count
        assert report.created == []
        assert len(report.rows) == count
        assert [row.status for row in report.rows] == [DUPLICATE] * count
        for row in report.rows:
            assert row.existing is not None, row.matched_by
            assert row.differences == [], (format, row.entry.key, row.differences)
        return report

    def test_bibtex(self):
        self._reimport(_export("bibtex"), "bibtex")

    def test_ris(self):
        text = _export("ris")
        assert detect_format(text) == "ris"
        # A suffix last, where EndNote and the RIS specification look for it: a second part
        # would be read as the given names.
        assert "AU  - King, Martin L., Jr.\r\n" in text
        assert "AU  - van der Berg, J, III\r\n" in text
        self._reimport(text, "ris")

    def test_csv(self):
        text = _export("csv")
        assert detect_format(text) == "csv"
        report = self._reimport(text, "csv")
        compared = {name for row in report.rows for name in row.entry.fields}
        assert {"design", "status", "sample_size", "dose", "summary", "keywords"} <= compared
        assert set(Study.REGISTRY_RECORD) <= compared

    def test_json(self):
        text = _export("json")
        assert detect_format(text) == "json"
        report = self._reimport(text, "json")
        [first] = [row for row in report.rows if row.existing.pmid == "24526250"]
        # Every field the study holds was read back and compared.
        assert {"dose_min_mg", "dose_max_mg", "population", "adverse_events", "author"} <= set(
            first.entry.fields
        )
        [trial] = [row for row in report.rows if row.existing.registry_id == "NCT04270877"]
        assert {name: trial.entry.fields[name] for name in Study.REGISTRY_RECORD} == {
            "registry_status": "ACTIVE_NOT_RECRUITING",
            "registry_checked": "2025-02",
            "expected_completion": "2026-12",
            "results_posted": "no",
        }

    def test_the_json_export_into_an_empty_catalog_gives_the_same_studies(self):
        """Field for field, the design's basis and quote and a descriptive title included
        (an inferred design read back as stated breaks the curation rules)."""
        text = _export("json")
        fields = [f.attname for f in Study._meta.concrete_fields]
        fields = [f for f in fields if f not in {"id", "created_at", "updated_at", "slug"}]
        before = {s.title: {f: getattr(s, f) for f in fields} for s in Study.objects.all()}
        Study.objects.all().delete()
        report = import_bibtex(text, "export", format="json")
        assert len(report.created) == len(before) and not report.errors
        after = {s.title: {f: getattr(s, f) for f in fields} for s in Study.objects.all()}
        assert after == before

    def _into_an_empty_catalog(self, format, fields):
        """Each study's ``fields`` as the catalog holds them, and as an import of its export
        in ``format`` into an empty catalog creates them."""
        text = _export(format)
        before = {s.title: {f: getattr(s, f) for f in fields} for s in Study.objects.all()}
        Study.objects.all().delete()
        report = import_bibtex(text, "export", format=format)
        assert len(report.created) == len(before) and not report.errors
        return before, {s.title: {f: getattr(s, f) for f in fields} for s in Study.objects.all()}

    def test_the_ris_export_into_an_empty_catalog_keeps_every_identifier(self):
        before, after = self._into_an_empty_catalog("ris", ["doi", "pmid", "pmcid", "registry_id"])
        assert after == before

    def test_the_csv_export_into_an_empty_catalog_gives_the_same_studies(self):
        """Field for field: the dose range, the design's quote and a descriptive title
        included."""
        fields = [f.attname for f in Study._meta.concrete_fields]
        left_out = {"id", "created_at", "updated_at", "slug", "version"}
        before, after = self._into_an_empty_catalog("csv", [f for f in fields if f not in left_out])
        assert after == before

    def test_the_csv_export_keeps_an_inferred_design_inferred_with_its_quote(self):
        text = _export("csv")
        Study.objects.all().delete()
        report = import_bibtex(text, "export", format="csv")
        study = Study.objects.get(design="case_series")
        assert (study.design_basis, study.design_quote) == ("inferred", "Three(3) Case Reports")
        [row] = [row for row in report.rows if row.study.pk == study.pk]
        assert row.warnings == []
        # A CSV made without the quote's column: the curator is told to add it.
        rows = list(csv.DictReader(io.StringIO(text)))
        for row in rows:
            del row["design_quote"]
        without = io.StringIO()
        writer = csv.DictWriter(without, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        Study.objects.all().delete()
        report = import_bibtex(without.getvalue(), "export", format="csv")
        [row] = [row for row in report.rows if row.study.design == "case_series"]
        assert row.warnings == [
            "design “Case series” inferred, but the file gives no quote it is inferred from: add it"
        ]

    def test_a_csv_design_quote_without_a_basis_is_kept(self):
        # A CSV made elsewhere, with the quote's column but not the basis's: the quote was
        # dropped without a word.
        text = "slug,title,design,design_quote\ns,A case series,case_series,Three case reports\n"
        [row] = import_bibtex(text, "made.csv", format="csv", dry_run=True).rows
        assert row.status == NEW, row.reasons
        assert (row.study.design_basis, row.study.design_quote) == (
            "stated",
            "Three case reports",
        )

    def test_spacing_bibtex_and_ris_cannot_carry_is_no_difference(self):
        """TeX reads a run of spaces as one, and RIS holds a field on one line: a title
        pasted with a double space or a line break re-imports unchanged."""
        study = Study.objects.get(design="other")
        study.title = "-5 reasons;  a title\nthat starts like a formula"
        study.issue = "4\t(suppl)"
        study.authors = ["King,  Jr., Martin\tL."]
        study.save()
        self._reimport(_export("bibtex"), "bibtex")
        self._reimport(_export("ris"), "ris")

    def test_a_csv_field_holding_a_unicode_line_separator_stays_one_field(self):
        """Python reads U+2028, U+0085 and the like as line breaks; CSV does not, and its
        writer leaves such a field unquoted."""
        study = Study.objects.get(design="other")
        study.summary = "One line\u2028another\x85and a third"
        study.save()
        self._reimport(_export("csv"), "csv")

    def test_a_changed_design_basis_is_shown(self):
        text = _export("json").replace('"design_basis": "inferred"', '"design_basis": "stated"')
        report = import_bibtex(text, "export", format="json")
        [changed] = [row for row in report.rows if row.differences]
        assert changed.differences == [("design_basis", "inferred", "stated")]

    def test_a_changed_field_is_shown(self):
        text = _export("json")
        text = text.replace("4.5 mg nightly", "4.5 mg each night")
        report = import_bibtex(text, "export", format="json")
        [changed] = [row for row in report.rows if row.differences]
        assert changed.differences == [("dose", "4.5 mg nightly", "4.5 mg each night")]
        assert changed.update == {}  # only a registry record may update a study


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["catalog_by_pubmed.nbib", "catalog_by_zotero.ris"])
def test_the_catalogs_studies_from_another_tool_are_duplicates(name):
    call_command("loaddata", "catalog", verbosity=0)
    count = Study.objects.count()
    report = _import(name)
    assert report.rows and all(row.status == DUPLICATE for row in report.rows)
    assert all(row.existing is not None for row in report.rows)
    assert Study.objects.count() == count


class IdentifierSpellingTests(TestCase):
    """An identifier however a tool spells it finds the catalog's study (titles differ)."""

    @classmethod
    def setUpTestData(cls):
        make_study(
            title="The catalog's study",
            year=2014,
            doi="10.1007/s10067-014-2517-2",
            pmid="24526250",
            pmcid="PMC3962576",
            registry_id="NCT04270877",
        )

    def _matched_by(self, text, format):
        [row] = import_bibtex(text, "file", format=format, dry_run=True).rows
        assert row.status == DUPLICATE, (text, row.reasons)
        return row.matched_by

    def test_doi(self):
        for doi in (
            "https://doi.org/10.1007/S10067-014-2517-2",
            "http://dx.doi.org/10.1007/s10067-014-2517-2",
            "doi:10.1007/S10067-014-2517-2",
        ):
            text = f"TY  - JOUR\nTI  - Another title\nDO  - {doi}\nER  - \n"
            assert self._matched_by(text, "ris") == "DOI 10.1007/s10067-014-2517-2"

    def test_a_doi_where_endnote_or_mendeley_put_it(self):
        """EndNote styles write the DOI in M3 (“Type of Work” to rispy), Mendeley and others
        only as a doi.org link in UR: the study came in without its DOI, a new study."""
        for lines in (
            "M3  - 10.1007/s10067-014-2517-2",
            "M3  - doi:10.1007/S10067-014-2517-2",
            "UR  - https://doi.org/10.1007/s10067-014-2517-2",
            "UR  - https://example.org/a\nUR  - http://dx.doi.org/10.1007/s10067-014-2517-2",
        ):
            text = f"TY  - JOUR\nTI  - Another title\n{lines}\nER  - \n"
            assert self._matched_by(text, "ris") == "DOI 10.1007/s10067-014-2517-2", lines

    def test_a_ris_doi_is_taken_only_from_a_field_that_holds_one(self):
        """M3 is EndNote's type of work (“Journal Article”); a note may name another paper's
        DOI (an erratum's, a comment's); DO comes first."""
        for lines in (
            "M3  - Journal Article",
            "N1  - Erratum in: doi:10.1007/s10067-014-2517-2",
            "UR  - https://example.org/10.1007/s10067-014-2517-2",
            "DO  - 10.1000/other\nM3  - 10.1007/s10067-014-2517-2",
        ):
            text = f"TY  - JOUR\nTI  - Another title\n{lines}\nER  - \n"
            [row] = import_bibtex(text, "file", format="ris", dry_run=True).rows
            assert row.status == NEW, (lines, row.reasons)
            assert row.study.doi in (None, "10.1000/other"), lines

    def test_pmid(self):
        for accession in ("PMID: 24526250", "pmid:24526250", "24526250"):
            text = f"TY  - JOUR\nTI  - Another title\nAN  - {accession}\nER  - \n"
            assert self._matched_by(text, "ris") == "PMID 24526250"
        text = '[{"type": "article", "title": "Another title", "note": "pmid: 24526250"}]'
        assert self._matched_by(text, "csljson") == "PMID 24526250"

    def test_another_databases_accession_number_is_not_a_pmid(self):
        """CINAHL's accession numbers have nine digits too: a bare number is a PMID unless
        the record names a database other than PubMed or MEDLINE."""
        for database in ("DB  - PubMed", "DP  - NLM", "DB  - MEDLINE", ""):
            text = f"TY  - JOUR\nTI  - Another title\n{database}\nAN  - 24526250\nER  - \n"
            assert self._matched_by(text, "ris") == "PMID 24526250", database
        for database in ("DB  - cin20", "DB  - Embase", "DP  - EBSCOhost"):
            text = f"TY  - JOUR\nTI  - Another title\n{database}\nAN  - 104234567\nER  - \n"
            [row] = import_bibtex(text, "file", format="ris", dry_run=True).rows
            assert (row.status, row.study.pmid) == (NEW, None), database
        text = "TY  - JOUR\nTI  - Another title\nDB  - cin20\nAN  - PMID: 24526250\nER  - \n"
        assert self._matched_by(text, "ris") == "PMID 24526250"

    def test_pmcid_with_or_without_pmc_in_any_case(self):
        for tag, value in (
            ("C2", "PMC3962576"),
            ("C2", "pmc3962576"),
            ("N1", "PMCID: PMC3962576"),
            ("N1", "PMCID: 3962576"),
            ("N1", "pmcid: pmc3962576"),
        ):
            text = f"TY  - JOUR\nTI  - Another title\n{tag}  - {value}\nER  - \n"
            assert self._matched_by(text, "ris") == "PMCID PMC3962576", value
        for note in ("PMCID: PMC3962576", "PMCID: pmc3962576", "PMCID: 3962576"):
            text = json.dumps([{"type": "article", "title": "Another title", "note": note}])
            assert self._matched_by(text, "csljson") == "PMCID PMC3962576", note

    def test_lower_case_trial_id(self):
        text = "@misc{t, title = {Another title}, note = {Trial registration: nct04270877}}"
        assert self._matched_by(text, "bibtex") == "trial registry id NCT04270877"


class MedlineTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fm = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.crps = make_condition(
            name="Complex regional pain syndrome", slug="crps", synonyms=["CRPS"]
        )
        cls.pain = make_condition(name="Chronic pain", slug="chronic-pain")

    def test_mesh_headings_suggest_conditions_by_name_and_synonym(self):
        report = _import("pubmed.nbib", skip_errors=True)
        rct = Study.objects.get(pmid="90000001")
        assert list(rct.conditions.all()) == [self.fm]
        assert rct.doi == "10.1000/ldn.2023.001" and rct.pmcid == "PMC9000001"
        assert rct.registry_id == "NCT90000001"
        assert rct.authors == ["Müller J", "Østergaard S", "Nguyễn TH"]
        assert (rct.design, rct.year, rct.pages) == ("rct", 2023, "201-210")
        case = Study.objects.get(pmid="90000003")
        assert list(case.conditions.all()) == [self.crps]  # by the synonym “CRPS”
        row = next(r for r in report.rows if r.entry.key == "PMID 90000003")
        assert "condition suggested by the MeSH heading “CRPS”" in row.warnings

    def test_every_trial_registration_is_read_and_one_kept(self):
        # PubMed gives each registration as a secondary id; the catalog holds one registry
        # id a study, ClinicalTrials.gov's where there is one.
        text = (
            "PMID- 90000011\n"
            "TI  - Low-dose naltrexone in Crohn's disease: a randomised trial.\n"
            "DP  - 2020\n"
            "SI  - ISRCTN/ISRCTN12345678\n"
            "SI  - GENBANK/AB123456\n"
            "SI  - ClinicalTrials.gov/NCT90000011\n"
            "\n"
            "PMID- 90000012\n"
            "TI  - Low-dose naltrexone in fibromyalgia: a pilot trial.\n"
            "DP  - 2021\n"
            "SI  - ANZCTR/ACTRN12610000454055\n"
        )
        report = import_bibtex(text, "pubmed.nbib", format="medline", dry_run=True)
        [both, anzctr] = report.rows
        assert both.study.registry_id == "NCT90000011"
        assert both.warnings == [
            "the trial registration ISRCTN12345678 is not kept: a study holds one registry id, "
            "NCT90000011"
        ]
        assert anzctr.study.registry_id == "ACTRN12610000454055"
        assert anzctr.warnings == []

    def test_a_second_doi_is_told(self):
        # LID and AID give the DOI twice, as a rule the same one (in any case).
        text = (
            "PMID- 90000013\n"
            "TI  - Low-dose naltrexone in fibromyalgia.\n"
            "DP  - 2022\n"
            "LID - 10.1000/LDN.2022.013 [doi]\n"
            "AID - 10.1000/ldn.2022.013 [doi]\n"
            "AID - 10.1000/ldn.2022.099 [doi]\n"
        )
        [row] = import_bibtex(text, "pubmed.nbib", format="medline", dry_run=True).rows
        assert row.study.doi == "10.1000/ldn.2022.013"
        assert row.warnings == [
            "the DOI “10.1000/ldn.2022.099” is not read: a study holds one, 10.1000/LDN.2022.013"
        ]

    def test_ids_listed_after_one_label_are_read_one_kept(self):
        note = (
            "Trial registration: NCT90000021, ISRCTN12345678 and ACTRN12610000454055, "
            "registered 12 May 2019; funded by the LDN Trust"
        )
        text = f"@article{{t, title = {{LDN in fibromyalgia}}, year = 2019, note = {{{note}}}}}"
        [row] = import_bibtex(text, "t.bib", dry_run=True).rows
        assert row.study.registry_id == "NCT90000021"
        assert row.warnings == [
            "the trial registration ISRCTN12345678 is not kept: a study holds one registry id, "
            "NCT90000021",
            "the trial registration ACTRN12610000454055 is not kept: a study holds one registry "
            "id, NCT90000021",
        ]

    def test_an_inferred_design_is_told_to_the_curator(self):
        report = import_bibtex(_read("pubmed.nbib"), "pubmed.nbib", dry_run=True, format="medline")
        warnings = {row.entry.key: row.warnings for row in report.rows}
        assert (
            "design “Narrative review” inferred from the publication type “Review”: "
            "check it against the paper"
        ) in warnings["PMID 90000004"]
        assert not any("inferred" in w for w in warnings["PMID 90000001"])
        assert "retracted: Immun Exemplar. 2021;3:9. PMID: 90000007" in warnings["PMID 90000006"]
        studies = {row.entry.key: row.study for row in report.rows}
        review = studies["PMID 90000004"]
        assert (review.design_basis, review.design_quote) == (
            "inferred",
            "Publication type: Review",
        )
        assert studies["PMID 90000001"].design_basis == "stated"


class DifferencesTests(TestCase):
    def test_pubmeds_full_stop_after_a_title_is_no_difference(self):
        """PubMed ends every title with a full stop; the catalog's titles have none."""
        make_study(title="Low-dose naltrexone for fibromyalgia", pmid="24526250", year=2014)
        text = "PMID- 24526250\nTI  - Low-dose naltrexone for fibromyalgia.\nDP  - 2014\n"
        [row] = import_bibtex(text, "pubmed.nbib", format="medline", dry_run=True).rows
        assert (row.status, row.differences) == (DUPLICATE, [])
        text = text.replace("fibromyalgia.", "fibromyalgia: a pilot.")
        [row] = import_bibtex(text, "pubmed.nbib", format="medline", dry_run=True).rows
        assert row.differences == [
            (
                "title",
                "Low-dose naltrexone for fibromyalgia",
                "Low-dose naltrexone for fibromyalgia: a pilot.",
            )
        ]

    def test_a_page_range_as_pubmed_shortens_it_is_no_difference(self):
        """PubMed writes 451–459 as “451-9”: written out, and a hyphen for an en dash is no
        difference."""
        make_study(title="A pilot", pmid="24526250", pages="451–459")
        text = "PMID- 24526250\nTI  - A pilot.\nPG  - 451-9\n"
        [row] = import_bibtex(text, "pubmed.nbib", format="medline", dry_run=True).rows
        assert (row.study.pages, row.differences) == ("451-459", [])
        text = "PMID- 24526250\nTI  - A pilot.\nPG  - 1199-204\n"
        [row] = import_bibtex(text, "pubmed.nbib", format="medline", dry_run=True).rows
        assert row.differences == [("pages", "451–459", "1199-1204")]


class ErrorsWriteNothingTests(TestCase):
    def test_a_file_with_errors_writes_nothing_unless_asked(self):
        for name in ("no_er.ris", "truncated.nbib", "zotero.json", "ctgov_studies.json"):
            report = _import(name, skip_errors=False)
            assert report.errors and report.created == []
            assert not Study.objects.exists(), name
        report = _import("no_er.ris", skip_errors=True)
        assert [s.title for s in report.created] == [
            "First study of low-dose naltrexone",
            "Third study of low-dose naltrexone",
        ]


class RegisteredTrialTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fm = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.crohns = make_condition(
            name="Crohn’s disease", slug="crohns-disease", synonyms=["Crohn disease"]
        )
        cls.curator = User.objects.create_user("curator")

    def test_trials_are_created_with_their_registry_status(self):
        report = _import("ctgov_studies.json", skip_errors=True)
        assert len(report.created) == 4
        trial = Study.objects.get(registry_id="NCT90000101")
        assert (trial.title, trial.design, trial.status) == (
            "Low-Dose Naltrexone for Fibromyalgia in Women",
            "registered_trial",
            "completed",
        )
        assert (trial.registry_status, trial.registry_checked, trial.expected_completion) == (
            "COMPLETED",
            "2024-05",
            "2022-06-30",
        )
        assert (trial.results_posted, trial.sample_size, trial.year) == (False, 99, 2019)
        assert trial.dose == "Low-dose naltrexone: 4.5 mg daily"
        assert list(trial.conditions.all()) == [self.fm]
        stopped = Study.objects.get(registry_id="NCT90000103")
        assert (stopped.status, stopped.results_posted) == ("stopped", True)
        assert list(stopped.conditions.all()) == [self.crohns]
        recruiting = Study.objects.get(registry_id="NCT90000102")
        assert recruiting.status == "ongoing"
        # Its enrollment is the registry's estimate, the trial's target: no sample size
        # (the list showed “n = 160” for a trial still recruiting).
        assert recruiting.sample_size is None
        [row] = [row for row in report.rows if row.entry.key == "NCT90000102"]
        assert (
            "the registry's enrollment, 160, is an estimate (the trial's target): not taken "
            "as its sample size"
        ) in row.warnings

    def test_a_changed_status_is_an_update_the_curator_may_accept(self):
        _import("ctgov_studies.json", skip_errors=True)
        report = import_bibtex(
            _read("ctgov_one.json"), "ctgov_one.json", dry_run=True, format="ctgov"
        )
        [row] = report.rows
        assert row.status == DUPLICATE
        assert row.matched_by == "trial registry id NCT90000101"
        assert row.update == {"registry_checked": "2025-02", "results_posted": True}

        # Not accepted: nothing changes.
        import_bibtex(_read("ctgov_one.json"), "ctgov_one.json", format="ctgov")
        trial = Study.objects.get(registry_id="NCT90000101")
        assert trial.results_posted is False

        report = import_bibtex(
            _read("ctgov_one.json"),
            "ctgov_one.json",
            format="ctgov",
            user=self.curator,
            updates=[0],
        )
        assert report.updated == [trial]
        trial.refresh_from_db()
        assert (trial.results_posted, trial.registry_checked) == (True, "2025-02")
        record = trial.history.latest()
        assert (record.history_type, record.history_user) == ("~", self.curator)
        assert record.history_change_reason == "Imported from ctgov_one.json"

    def test_a_trial_whose_results_paper_is_a_study_of_its_own_is_offered_its_update(self):
        """The record's results paper (its PMID) is another study in the catalog: the
        record is the trial's, by its registry id, not the paper's."""
        make_study(title="LDN in fibromyalgia: a randomised trial", pmid="90000777")
        _import("ctgov_studies.json", skip_errors=True)
        record = json.loads(_read("ctgov_one.json"))
        record["protocolSection"]["referencesModule"] = {
            "references": [{"pmid": "90000777", "type": "RESULT"}]
        }
        report = import_bibtex(json.dumps(record), "one.json", dry_run=True, format="ctgov")
        [row] = report.rows
        assert row.status == DUPLICATE
        assert row.matched_by == "trial registry id NCT90000101"
        assert row.existing == Study.objects.get(registry_id="NCT90000101")
        assert row.update == {
            "registry_checked": "2025-02",
            "results_posted": True,
            "status": "published",
        }

    def test_a_published_trial_keeps_its_status(self):
        make_study(
            title="Published trial",
            registry_id="NCT90000101",
            status="published",
            registry_status="RECRUITING",
        )
        report = import_bibtex(
            _read("ctgov_one.json"), "ctgov_one.json", dry_run=True, format="ctgov"
        )
        assert "status" not in report.rows[0].update
        assert report.rows[0].update["registry_status"] == "COMPLETED"

    def test_a_registry_record_checked_before_the_catalogs_is_not_offered_as_an_update(self):
        """An older download or export of the registry would take a trial back to an
        earlier status: its differences are shown, but not offered as an update."""
        make_study(
            title="A trial",
            registry_id="NCT90000101",
            status="ongoing",
            registry_status="RECRUITING",
            registry_checked="2025-06-15",
            results_posted=False,
        )
        study = json.loads(_read("ctgov_one.json"))  # checked 2025-02, COMPLETED
        [row] = import_bibtex(json.dumps(study), "old.json", format="ctgov", dry_run=True).rows
        assert row.update == {}
        assert ("registry_status", "RECRUITING", "COMPLETED") in row.differences
        assert (
            "the registry record in the file was checked 2025-02, before the catalog's "
            "(2025-06-15): not offered as an update"
        ) in row.warnings
        # Checked the same month, or later: offered.
        for checked in ("2025-06", "2025-07-01"):
            study["protocolSection"]["statusModule"]["statusVerifiedDate"] = checked
            [row] = import_bibtex(json.dumps(study), "new.json", format="ctgov", dry_run=True).rows
            assert row.update["registry_status"] == "COMPLETED", checked

    def test_a_registry_record_with_no_check_date_is_not_offered_as_an_update(self):
        """It may be older than the catalog's: accepted, it changed the status and left the
        catalog's “status verified” date beside it, a date that was never this status's."""
        make_study(
            title="A trial",
            registry_id="NCT90000101",
            status="ongoing",
            registry_status="RECRUITING",
            registry_checked="2024-01",
        )
        study = json.loads(_read("ctgov_one.json"))  # COMPLETED
        del study["protocolSection"]["statusModule"]["statusVerifiedDate"]
        [row] = import_bibtex(json.dumps(study), "trial.json", format="ctgov", dry_run=True).rows
        assert row.update == {}
        assert ("registry_status", "RECRUITING", "COMPLETED") in row.differences
        assert (
            "the registry record in the file gives no date it was checked, the catalog's was "
            "checked 2024-01: not offered as an update"
        ) in row.warnings

    def test_a_trial_twice_in_one_file_is_offered_one_update(self):
        """The later check of the two is the update; accepting every update then writes
        it, with no conflict between the two entries."""
        make_study(
            title="A trial", registry_id="NCT90000101", status="ongoing", registry_checked="2024-01"
        )
        earlier = json.loads(_read("ctgov_one.json"))
        later = json.loads(json.dumps(earlier))
        later["protocolSection"]["statusModule"]["statusVerifiedDate"] = "2025-05"
        text = json.dumps({"studies": [later, earlier]})
        first, second = import_bibtex(text, "two.json", format="ctgov", dry_run=True).rows
        assert first.update["registry_checked"] == "2025-05"
        assert second.update == {}
        assert any("the same trial as the entry at line" in w for w in second.warnings)
        import_bibtex(text, "two.json", format="ctgov", user=self.curator, updates="all")
        assert Study.objects.get(registry_id="NCT90000101").registry_checked == "2025-05"

    def test_a_registry_date_not_in_the_calendar_is_an_error(self):
        study = json.loads(_read("ctgov_one.json"))
        for name, path in (
            ("registry checked", ["statusVerifiedDate"]),
            ("expected completion", ["completionDateStruct", "date"]),
        ):
            for value in ("2021-13", "2021-02-30", "0000-00", "June 2021"):
                changed = json.loads(json.dumps(study))
                module = changed["protocolSection"]["statusModule"]
                *parents, last = path
                for key in parents:
                    module = module[key]
                module[last] = value
                [row] = import_bibtex(
                    json.dumps(changed), "trial.json", format="ctgov", dry_run=True
                ).rows
                assert row.reasons == [f"the {name} “{value}” is not a date"], value
        [row] = import_bibtex(
            _read("ctgov_one.json"), "trial.json", format="ctgov", dry_run=True
        ).rows
        assert (row.study.registry_checked, row.study.expected_completion) == (
            "2025-02",
            "2022-06-30",
        )

    def test_has_results_must_be_true_or_false(self):
        study = json.loads(_read("ctgov_one.json"))
        study["hasResults"] = "false"
        [row] = import_bibtex(json.dumps(study), "trial.json", format="ctgov", dry_run=True).rows
        assert row.reasons == ['“hasResults” is the str "false", not true or false']
        del study["hasResults"]
        [row] = import_bibtex(json.dumps(study), "trial.json", format="ctgov", dry_run=True).rows
        assert (row.reasons, row.study.results_posted) == ([], None)  # not known

    def test_a_record_without_has_results_offers_no_change_to_it(self):
        """The API writes “hasResults” in every full record; one without it (a download of
        chosen fields) says nothing of results: it offered “results posted: True → False”,
        which put the trial back among the completed and unpublished."""
        make_study(
            title="A trial",
            registry_id="NCT90000101",
            status="ongoing",
            registry_status="ACTIVE_NOT_RECRUITING",
            registry_checked="2024-01",
            results_posted=True,
        )
        study = json.loads(_read("ctgov_one.json"))
        del study["hasResults"]
        [row] = import_bibtex(json.dumps(study), "trial.json", format="ctgov", dry_run=True).rows
        assert row.update == {
            "status": "completed",
            "registry_status": "COMPLETED",
            "registry_checked": "2025-02",
            "expected_completion": "2022-06-30",
        }

    def test_a_completed_trial_whose_paper_the_catalog_holds_is_that_study(self):
        """The registry lists the paper reporting the trial's results (a RESULT reference):
        a trial whose paper the catalog held already was created beside it, and listed as
        completed with no publication."""
        paper = make_study(title="Low-dose naltrexone in fibromyalgia", pmid="24526250")
        study = json.loads(_read("ctgov_one.json"))
        study["hasResults"] = False
        study["protocolSection"]["referencesModule"] = {
            "references": [
                {"pmid": "11111111", "type": "BACKGROUND", "citation": "An earlier study."},
                {"pmid": "24526250", "type": "RESULT", "citation": "Younger J, et al."},
            ]
        }
        report = import_bibtex(json.dumps(study), "trial.json", format="ctgov")
        [row] = report.rows
        assert (row.status, row.existing, row.matched_by) == (DUPLICATE, paper, "PMID 24526250")
        assert report.created == []
        assert not Study.objects.completed_unpublished().exists()

        # A paper the catalog does not hold: the trial is created, published all the same.
        study["protocolSection"]["referencesModule"]["references"][1]["pmid"] = "24526251"
        [trial] = import_bibtex(json.dumps(study), "trial.json", format="ctgov").created
        assert (trial.pmid, trial.status) == ("24526251", "published")  # not “not published”
        assert not Study.objects.completed_unpublished().exists()

    def test_only_registry_fields_can_be_updated(self):
        trial = make_study(title="A trial", registry_id="NCT90000101")
        with pytest.raises(ValueError):
            trial.apply_registry_update({"title": "Another"})


class CompletedUnpublishedTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        trial = {
            "design": "registered_trial",
            "status": "completed",
            "registry_status": "COMPLETED",
        }
        cls.unpublished = make_study(
            title="Completed, nothing since", registry_id="NCT00000001", **trial
        )
        make_study(title="Completed, no results known", registry_id="NCT00000002", **trial)
        make_study(
            title="Results on the registry",
            registry_id="NCT00000003",
            results_posted=True,
            **trial,
        )
        make_study(title="Paper in the catalog", registry_id="NCT00000004", pmid="1", **trial)
        make_study(
            title="Still recruiting",
            registry_id="NCT00000005",
            design="registered_trial",
            status="ongoing",
            registry_status="RECRUITING",
            results_posted=False,
        )
        Study.objects.filter(registry_id="NCT00000001").update(results_posted=False)

    def test_the_queryset(self):
        titles = set(Study.objects.completed_unpublished().values_list("title", flat=True))
        assert titles == {"Completed, nothing since", "Completed, no results known"}

    def test_the_list(self):
        response = self.client.get("/studies/?status=completed_unpublished")
        assert response.status_code == 200
        content = response.content.decode()
        assert "Completed, nothing since" in content
        assert "Results on the registry" not in content
        assert "Paper in the catalog" not in content
        assert "Still recruiting" not in content

    def test_the_study_page_shows_the_registry_status(self):
        Study.objects.filter(pk=self.unpublished.pk).update(
            registry_checked="2024-05", expected_completion="2022-06"
        )
        content = self.client.get(self.unpublished.get_absolute_url()).content.decode()
        assert "Completed (status verified 2024-05)" in content
        assert "2022-06</dd>" in content  # completed: not “expected” any more
        assert 'class="results-posted">No</dd>' in content


class ImportStudiesCommandTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        make_condition(name="Fibromyalgia", slug="fibromyalgia")

    def _call(self, name, *args):
        out = io.StringIO()
        call_command("import_studies", str(CORPUS / name), *args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    def test_format_from_the_content_and_dry_run(self):
        output = self._call("ctgov_one.json", "--dry-run")
        assert "ClinicalTrials.gov study JSON (API v2), 1 entry: 1 would be created" in output
        assert not Study.objects.exists()

    def test_a_file_with_errors_writes_nothing_without_skip_errors(self):
        with pytest.raises(CommandError, match="Nothing was imported"):
            self._call("no_er.ris")
        assert not Study.objects.exists()
        output = self._call("no_er.ris", "--skip-errors")
        assert "error: “record 2” (line 6): no “ER  -” line ends this record" in output
        assert Study.objects.count() == 2

    def test_updates_are_taken_when_asked(self):
        self._call("ctgov_studies.json", "--skip-errors")
        output = self._call("ctgov_one.json")
        assert "update offered: “NCT90000101” (line 1)" in output
        assert Study.objects.get(registry_id="NCT90000101").results_posted is False
        output = self._call("ctgov_one.json", "--accept-updates")
        assert "updated: “NCT90000101” (line 1)" in output
        assert Study.objects.get(registry_id="NCT90000101").results_posted is True

    def test_background_queues_a_job_in_the_files_format(self):
        output = self._call("no_er.ris", "--background")
        job = ImportJob.objects.get()
        assert output.startswith(f"Queued import job {job.pk} for no_er.ris (RIS")
        # The tests' backend runs the task at once; without --skip-errors nothing is written.
        assert (job.format, job.status, job.report["errors"], job.report["created"]) == (
            "ris",
            "done",
            1,
            0,
        )
        assert not Study.objects.exists()
        self._call("no_er.ris", "--background", "--skip-errors")
        job = ImportJob.objects.latest("pk")
        assert (job.status, job.report["created"]) == ("done", 2)
        assert Study.objects.count() == 2

    def test_background_cannot_accept_updates_or_dry_run(self):
        with pytest.raises(CommandError, match="needs the preview"):
            self._call("ctgov_one.json", "--background", "--accept-updates")
        with pytest.raises(CommandError, match="cannot run in the background"):
            self._call("ctgov_one.json", "--background", "--dry-run")
        assert not ImportJob.objects.exists()

    def test_empty_and_undecodable_files_fail_with_a_reason(self):
        with pytest.raises(CommandError, match="empty or in no format"):
            self._call("empty.ris")
        with pytest.raises(CommandError, match="not UTF-8 text"):
            self._call("latin1.ris")

    def test_explicit_format(self):
        output = self._call("zotero.ris", "--format", "ris", "--dry-run")
        assert output.endswith("6 entries: 4 would be created, 0 duplicates, 2 errors\n")
        assert Condition.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("results_posted", "false", "the results posted “false” is neither yes nor no"),
        ("results_posted", 1, "the results posted “1” is neither yes nor no"),
        ("descriptive_title", "true", "the descriptive title “true” is neither yes nor no"),
    ],
)
def test_a_yes_or_no_field_of_the_catalogs_json_given_as_anything_else(field, value, error):
    text = json.dumps([{"slug": "a", "title": "A study", "evidence_level": 6, field: value}])
    [row] = import_bibtex(text, "studies.json", format="json", dry_run=True).rows
    assert row.reasons == [error]


class NoBibtexEntryTests(TestCase):
    """A text read as BibTeX with no entry (BibTeX takes it all for a comment) is an error
    naming the format it looks like, not “0 entries … 0 errors”."""

    def test_import_bibtex_given_a_ris_file(self):
        out = io.StringIO()
        call_command("import_bibtex", str(CORPUS / "zotero.ris"), stdout=out, stderr=io.StringIO())
        assert out.getvalue().splitlines() == [
            "error: “(the whole file)” (line 1): no BibTeX entry (a line starting “@article{”, "
            "“@misc{”, …) in this text: it looks like RIS; import it in that format",
            "1 entry: 0 created, 0 duplicates, 1 error",
        ]
        assert not Study.objects.exists()

    def test_the_catalogs_csv_read_as_bibtex(self):
        text = "slug,title,year\r\na,A study,2020\r\n"
        [row] = import_bibtex(text, "studies.csv", format="bibtex", dry_run=True).rows
        assert row.reasons == [
            "no BibTeX entry (a line starting “@article{”, “@misc{”, …) in this text: it looks "
            "like the catalog's CSV export; import it in that format"
        ]

    def test_a_file_read_in_another_wrong_format_names_the_format_it_looks_like(self):
        ris = (CORPUS / "zotero.ris").read_text()
        for text, format, looks_like in (
            (ris, "medline", "RIS"),
            (ris, "csljson", "RIS"),
            ("PMID- 1\nTI  - A study\n", "ris", "PubMed MEDLINE"),
            ('[{"type": "article", "title": "A"}]', "csv", "CSL JSON"),
        ):
            rows = import_bibtex(text, "pasted", format=format, dry_run=True).rows
            assert (
                rows[0]
                .reasons[0]
                .endswith(f": it looks like {looks_like}; import it in that format")
            ), (format, rows[0].reasons)
            assert all(row.reasons for row in rows)
        # A file read in its own format, whose every entry is an error, is told nothing more.
        [row] = import_bibtex("TY  - JOUR\nER  - \n", "a.ris", format="ris", dry_run=True).rows
        assert "looks like" not in " ".join(row.reasons)

    def test_a_comment_alone(self):
        [row] = import_bibtex(
            "% nothing here yet\n", "empty.bib", format="bibtex", dry_run=True
        ).rows
        assert row.reasons == [
            "no BibTeX entry (a line starting “@article{”, “@misc{”, …) in this text"
        ]
        assert import_bibtex("  \n", "blank.bib", format="bibtex", dry_run=True).rows == []


def _ctgov_study(number):
    return {"protocolSection": {"identificationModule": {"nctId": f"NCT9{number:07}"}}}


# Four entries in each format, for a limit of three (each format's entries counted as its
# parser counts them: a RIS file with old Mac line ends, a MEDLINE record without its PMID).
FOUR_ENTRIES = {
    "bibtex": "".join(f"@misc{{k{n}, title = {{T{n}}}}}\n" for n in range(4)),
    "ris": "".join(f"TY  - JOUR\rTI  - T{n}\rER  - \r" for n in range(4)),
    "medline": "PMID- 1\nTI  - T\n\n" + "".join(f"TI  - T{n}\n\n" for n in range(3)),
    "csljson": json.dumps([{"type": "article", "title": f"T{n}"} for n in range(4)]),
    "ctgov": json.dumps({"studies": [_ctgov_study(n) for n in range(4)]}),
    "json": json.dumps([{"title": f"T{n}", "evidence_level": "1"} for n in range(4)]),
    "csv": "slug,title,year\n" + "".join(f's{n},"T\n{n}",\n' for n in range(4)),
}


@pytest.mark.django_db
@pytest.mark.parametrize("format", sorted(FOUR_ENTRIES))
def test_a_file_over_the_entry_limit_is_refused_whole_in_every_format(format, tmp_path, settings):
    """The limit on a file's entries holds for every format, not BibTeX alone: a 20 MB CSV
    of 1.3 million short rows took 3.5 GB and two minutes to preview."""
    settings.BIBTEX_MAX_ENTRIES = 3
    path = tmp_path / "studies"
    path.write_text(FOUR_ENTRIES[format], newline="")
    assert detect_format(FOUR_ENTRIES[format]) == format
    with pytest.raises(CommandError, match="holds 4 entries; the catalog imports at most 3 "):
        call_command("import_studies", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    settings.BIBTEX_MAX_ENTRIES = 4
    call_command(
        "import_studies", str(path), "--dry-run", stdout=io.StringIO(), stderr=io.StringIO()
    )


@pytest.mark.django_db
def test_the_json_export_is_known_as_such_whatever_its_first_studys_size():
    """Its first study's authors may take 200,000 characters before its evidence level: it
    was taken for CSL JSON, and re-imported as new studies, duplicates of the catalog's."""
    make_study(
        slug="a-consortium-trial",
        authors=[f"Investigator {n:04} of the LDN Group" for n in range(1000)],
    )
    make_study(slug="b-pilot", title="Pilot", year=2009)
    text = _export("json")
    assert detect_format(text) == "json"
    report = import_bibtex(text, "studies.json", format=detect_format(text), dry_run=True)
    assert [row.status for row in report.rows] == [DUPLICATE, DUPLICATE]


class KeywordConditionTests(TestCase):
    """A record's keywords link the conditions they name, as curators' files write them:
    several to a field, with odd spacing, another case, a full stop or a straight
    apostrophe; a keyword that only holds a condition's name names none."""

    @classmethod
    def setUpTestData(cls):
        cls.fm = make_condition(name="Fibromyalgia", slug="fibromyalgia", synonyms=["FM"])
        cls.pain = make_condition(name="Chronic pain", slug="chronic-pain")
        cls.crohns = make_condition(
            name="Crohn’s disease", slug="crohns-disease", synonyms=["Crohn disease"]
        )
        cls.crps = make_condition(
            name="Complex regional pain syndrome", slug="crps", synonyms=["CRPS"]
        )
        cls.ra = make_condition(
            name="Rheumatoid arthritis", slug="ra", synonyms=["Arthritis, Rheumatoid"]
        )
        make_condition(name="Pain", slug="pain")

    def _row(self, text, format):
        [row] = import_bibtex(text, "keywords", format=format, dry_run=True).rows
        assert row.status == NEW, row.reasons
        return row

    def assert_links(self, row, *conditions):
        assert row.condition_ids == [condition.pk for condition in conditions]

    def test_ris_keyword_lines(self):
        # EndNote and Zotero write one keyword a line; some tools and hands put several on
        # one, separated by semicolons. A comma inside a line is the keyword's own (MeSH's
        # “Arthritis, Rheumatoid”, “Pain, Intractable”).
        text = (
            "TY  - JOUR\n"
            "AU  - Younger, Jarred\n"
            "TI  - Low-dose naltrexone for fibromyalgia and chronic pain\n"
            "T2  - Arthritis & Rheumatism\n"
            "PY  - 2013\n"
            "KW  - Fibromyalgia; Chronic pain\n"
            "KW  - FM\n"
            "KW  - Crohn  disease\n"
            "KW  - complex\u00a0regional pain syndrome.\n"
            "KW  - Arthritis, Rheumatoid\n"
            "KW  - Pain, Intractable\n"
            "KW  - Naltrexone\n"
            "ER  - \n"
        )
        row = self._row(text, "ris")
        self.assert_links(row, self.fm, self.pain, self.crohns, self.crps, self.ra)
        assert row.warnings == [
            "keyword “Pain, Intractable” is not a condition in the catalog",
            "keyword “Naltrexone” is not a condition in the catalog",
        ]

    def test_a_ris_line_of_condition_names_separated_by_commas(self):
        # A line that names conditions and nothing else, by commas: each is linked.
        text = "TY  - JOUR\nTI  - T\nKW  - Fibromyalgia, Crohn's disease\nER  - \n"
        row = self._row(text, "ris")
        self.assert_links(row, self.fm, self.crohns)
        assert row.warnings == []

    def test_csl_json_keyword_string(self):
        # CSL JSON's “keyword” is one string, its keywords separated by commas.
        item = {
            "id": "younger2013",
            "type": "article-journal",
            "title": "Low-dose naltrexone for fibromyalgia",
            "keyword": "fibromyalgia, Chronic  Pain, Crohn's disease., low-dose naltrexone",
        }
        row = self._row(json.dumps([item]), "csljson")
        self.assert_links(row, self.fm, self.pain, self.crohns)
        assert row.warnings == ["keyword “low-dose naltrexone” is not a condition in the catalog"]

    def test_bibtex_keywords_separated_by_semicolons(self):
        # Scopus and Web of Science separate BibTeX keywords by semicolons, others by commas.
        text = (
            "@article{younger2013,\n"
            "  title = {Low-dose naltrexone for fibromyalgia},\n"
            "  keywords = {FIBROMYALGIA; Chronic~pain; Crohn's disease.; CRPS, Rheumatoid"
            " arthritis},\n"
            "}\n"
        )
        row = self._row(text, "bibtex")
        self.assert_links(row, self.fm, self.pain, self.crohns, self.crps, self.ra)
        assert row.warnings == []

    def test_medline_author_keywords_suggest_conditions(self):
        text = (
            "PMID- 90000001\n"
            "TI  - Low-dose naltrexone for fibromyalgia.\n"
            "DP  - 2023 Mar\n"
            "MH  - Humans\n"
            "MH  - Pain, Intractable/drug therapy\n"
            "OTO - NOTNLM\n"
            "OT  - fibromyalgia\n"
            "OT  - chronic pain; Crohn's disease\n"
            "OT  - low-dose naltrexone\n"
            "SO  - Pain Res Exemplar. 2023 Mar;12(3):201-210.\n"
        )
        row = self._row(text, "medline")
        self.assert_links(row, self.fm, self.pain, self.crohns)
        assert row.warnings == [
            "condition suggested by the author keyword “fibromyalgia”",
            "condition suggested by the author keyword “chronic pain”",
            "condition suggested by the author keyword “Crohn's disease”",
        ]

    def test_clinicaltrials_gov_conditions(self):
        study = {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT90000201", "briefTitle": "LDN in pain"},
                "statusModule": {"overallStatus": "RECRUITING"},
                "conditionsModule": {
                    "conditions": [
                        "Fibromyalgia;  Chronic Pain",
                        "Crohn Disease",
                        "Pain, Intractable",
                    ]
                },
            }
        }
        row = self._row(json.dumps(study), "ctgov")
        self.assert_links(row, self.fm, self.pain, self.crohns)
        assert "keyword “Pain, Intractable” is not a condition in the catalog" in row.warnings

    def test_a_condition_named_twice_is_linked_once(self):
        row = self._row("@misc{a, title = {T}, keywords = {Fibromyalgia, FM}}", "bibtex")
        self.assert_links(row, self.fm)


class RisValuesNotReadTests(TestCase):
    """What a RIS record gives that a study cannot hold is told to the curator."""

    def _row(self, *lines):
        text = "\n".join(["TY  - JOUR", "TI  - Low-dose naltrexone in fibromyalgia", *lines])
        [row] = import_bibtex(text + "\nER  - \n", "r.ris", format="ris", dry_run=True).rows
        return row

    def test_a_tag_given_twice(self):
        # rispy keeps the first value of a tag it reads once, and dropped the second.
        row = self._row("DO  - 10.1000/first", "DO  - 10.1000/second", "VL  - 12", "VL  - 12")
        assert row.study.doi == "10.1000/first"
        assert row.warnings == [
            "a second “DO” line, “10.1000/second”, is not read: the first, “10.1000/first”, is"
        ]

    def test_links_beyond_the_first(self):
        row = self._row(
            "DO  - 10.1000/ldn",
            "UR  - https://doi.org/10.1000/ldn",
            "UR  - https://pubmed.ncbi.nlm.nih.gov/90000001/",
            "UR  - https://example.org/fulltext.pdf",
        )
        # The DOI's link says no more than the DOI: the first other link is the study's.
        assert row.study.url == "https://pubmed.ncbi.nlm.nih.gov/90000001/"
        assert row.warnings == [
            "the link “https://example.org/fulltext.pdf” is not read: a study holds one"
        ]

    def test_two_different_titles(self):
        # TI and T1 are both the title: rispy reads each, and the study holds TI's.
        row = self._row("T1  - LDN for fibromyalgia: a pilot study")
        assert row.study.title == "Low-dose naltrexone in fibromyalgia"
        assert row.warnings == [
            "the title “LDN for fibromyalgia: a pilot study” (T1) is not read: TI's, "
            "“Low-dose naltrexone in fibromyalgia”, is"
        ]
        assert self._row("T1  - Low-dose naltrexone in fibromyalgia").warnings == []

    def test_an_end_page_without_a_start_page(self):
        row = self._row("EP  - 210")
        assert row.study.pages == ""
        assert row.warnings == ["the end page “210” (EP) is not read: no start page (SP)"]
