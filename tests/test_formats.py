"""Each format's corpus (tests/import_corpus/) through the importer's preview: the report
per entry, and what each damaged file says."""

import json
from pathlib import Path

import pytest

from studies import formats, jsontext
from studies.importers import ERROR, NEW, UnreadableFile, decode_upload, import_bibtex

CORPUS = Path(__file__).parent / "import_corpus"


def _read(name):
    return decode_upload((CORPUS / name).read_bytes())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pubmed.nbib", "medline"),
        ("truncated.nbib", "medline"),
        ("zotero.ris", "ris"),
        ("no_er.ris", "ris"),
        ("zotero.json", "csljson"),
        ("ctgov_studies.json", "ctgov"),
        ("ctgov_one.json", "ctgov"),
        ("truncated.csv", "csv"),
        ("empty.ris", None),
    ],
)
def test_format_is_recognised_from_the_content(name, expected):
    # The file is given the wrong name: the content decides.
    assert formats.detect_format(_read(name), "export.txt") == expected


def test_detection_of_bibtex_and_of_text_in_no_format():
    assert formats.detect_format("\ufeff\n% Zotero\n@article{a, title={A}}", "") == "bibtex"
    assert formats.detect_format("Dear curator, here are the studies.", "notes.txt") is None
    # Only when the content says nothing does the extension decide.
    assert formats.detect_format("Dear curator", "notes.ris") == "ris"


# For each file: every entry as (key, line, status, start of the first reason).
EXPECTED_REPORTS = {
    "pubmed.nbib": [
        ("PMID 90000001", 1, NEW, ""),
        ("PMID 90000002", 38, NEW, ""),
        ("PMID 90000003", 58, NEW, ""),
        ("PMID 90000004", 73, NEW, ""),
        ("PMID 90000005", 88, ERROR, "a “Published Erratum” notice, not a study (Pain Res"),
        ("PMID 90000006", 103, NEW, ""),
        ("PMID 90000008", 119, ERROR, "no title"),
    ],
    "truncated.nbib": [
        ("PMID 90000011", 1, NEW, ""),
        ("PMID 90000012", 12, ERROR, "the record has no “SO  -” line"),
    ],
    "zotero.ris": [
        ("mueller2023", 1, NEW, ""),
        ("record 2", 21, NEW, ""),
        ("record 3", 28, NEW, ""),
        ("record 4", 38, NEW, ""),
        ("record 5", 44, ERROR, "no title"),
        ("record 6", 50, ERROR, "the year “MMXXII” is not a year"),
    ],
    "no_er.ris": [
        ("record 1", 1, NEW, ""),
        ("record 2", 6, ERROR, "no “ER  -” line ends this record: the record on line 10"),
        ("record 3", 10, NEW, ""),
    ],
    "truncated.ris": [
        ("record 1", 1, NEW, ""),
        ("record 2", 6, ERROR, "no “ER  -” line ends this record: the file may be cut short"),
    ],
    "zotero.json": [
        ("http://zotero.org/users/1/items/ABCD1234", 2, NEW, ""),
        ("handbook2021", 20, NEW, ""),
        ("consortium2022", 28, NEW, ""),
        ("untitled", 36, ERROR, "no title"),
        ("webpage", 42, NEW, ""),
        ("item 6", 49, ERROR, "not a CSL JSON item: the str"),
    ],
    "csl_truncated.json": [
        ("(the whole file)", 3, ERROR, "not valid JSON: Invalid control character at line 3"),
    ],
    "csl_wrong_shape.json": [
        ("(the whole file)", 1, ERROR, "not a JSON file the catalog reads (a CSL JSON file"),
    ],
    "ctgov_wrong_shape.json": [
        ("(the whole file)", 1, ERROR, "not a JSON file the catalog reads"),
    ],
    "ctgov_studies.json": [
        ("NCT90000101", 3, NEW, ""),
        ("NCT90000102", 32, NEW, ""),
        ("NCT90000103", 52, NEW, ""),
        ("NCT90000104", 68, NEW, ""),
        ("NCT90000105", 83, ERROR, "an expanded-access record (overall status “AVAILABLE”)"),
        ("study 6", 89, ERROR, "not a ClinicalTrials.gov study: a study has a “protocolSection”"),
    ],
    "truncated.csv": [
        ("first", 2, NEW, ""),
        ("row 2", 3, ERROR, "not CSV: unexpected end of data"),
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED_REPORTS))
def test_corpus_gives_the_expected_report_per_entry(name):
    text = _read(name)
    report = import_bibtex(text, name, dry_run=True, format=formats.detect_format(text, name))
    summary = [
        (row.entry.key, row.entry.line, row.status, row.reasons[0] if row.reasons else "")
        for row in report.rows
    ]
    assert [row[:3] for row in summary] == [row[:3] for row in EXPECTED_REPORTS[name]]
    for (*_, reason), (*_, expected) in zip(summary, EXPECTED_REPORTS[name], strict=True):
        assert reason.startswith(expected), (reason, expected)


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04\x14\x00\x00\x00",  # a .docx or .xlsx (a zip archive) named .ris
        b"\x1f\x8b\x08\x00\x00\x00",  # a gzip file
        b"TY  - JOUR\nTI  - A\x00\x00\nER  - \n",  # RIS text holding NUL bytes
    ],
)
def test_a_binary_file_is_refused_naming_every_format_the_catalog_reads(data):
    with pytest.raises(UnreadableFile) as refused:
        decode_upload(data)
    message = str(refused.value)
    assert message.startswith("This is a binary file, not text.")
    assert "not BibTeX" not in message
    for label in formats.LABELS.values():
        assert label.split(" (")[0].removeprefix("The ") in message


def test_a_file_in_another_encoding_is_refused_whole():
    with pytest.raises(UnreadableFile, match="not UTF-8 text"):
        _read("latin1.ris")


def test_medline_fields():
    [rct, *_] = formats.parse_entries(_read("pubmed.nbib"), "medline")
    assert rct.fields["title"] == (
        "Low-dose naltrexone for fibromyalgia: a randomised, double-blind, "
        "placebo-controlled trial."
    )
    assert rct.fields["author"] == ["Müller J", "Østergaard S", "Nguyễn TH"]
    assert rct.fields["doi"] == "10.1000/ldn.2023.001"  # from AID … [doi]
    assert rct.fields["pmcid"] == "PMC9000001"
    assert rct.fields["note"] == "Trial registration: NCT90000001"  # from SI
    assert rct.fields["mesh"] == ["Adult", "Female", "Fibromyalgia", "Humans", "Naltrexone"]
    assert (rct.fields["design"], rct.fields["design_basis"]) == ("rct", "stated")


def test_medline_publication_types_map_to_designs():
    entries = formats.parse_entries(_read("pubmed.nbib"), "medline")
    designs = {e.key: (e.fields.get("design"), e.fields.get("design_basis")) for e in entries}
    assert designs["PMID 90000002"] == ("meta_analysis", "stated")
    assert designs["PMID 90000003"] == ("case_report", "stated")
    assert designs["PMID 90000004"] == ("narrative_review", "inferred")
    assert designs["PMID 90000006"] == ("cohort", "inferred")


def test_ris_fields():
    [trial, *_] = formats.parse_entries(_read("zotero.ris"), "ris")
    assert trial.fields["author"] == ["Müller, Jörg", "Østergaard, Søren", "Nguyễn, Thị Hạnh"]
    assert trial.fields["year"] == "2023"  # from “2023/03/01/”
    assert trial.fields["pages"] == "201-210"
    assert trial.fields["pmid"] == "90000001"  # from “AN  - PMID:90000001”
    assert trial.fields["pmcid"] == "PMC9000001"  # from a note


def test_a_listed_ctgov_study_keeps_its_line():
    # The site's download: other members around the "studies" list, nested ones too.
    text = (
        '{\n  "query": {"studies": "x"},\n  "studies": [\n    {"a": 1},\n\n'
        '    {"b": [2, {"c": "]"}]}\n  ],\n  "totalCount": 2\n}\n'
    )
    assert jsontext.load_records(text, list_key="studies") == [
        (4, {"a": 1}),
        (6, {"b": [2, {"c": "]"}]}),
    ]


def test_ctgov_fields():
    [completed, recruiting, *_] = formats.parse_entries(_read("ctgov_studies.json"), "ctgov")
    assert completed.fields["note"] == "Trial registration: NCT90000101"
    assert completed.fields["dose"] == "Low-dose naltrexone: 4.5 mg daily"
    assert completed.fields["sample_size"] == "99"
    assert (completed.fields["registry_status"], completed.fields["status"]) == (
        "COMPLETED",
        "completed",
    )
    assert completed.fields["registry_checked"] == "2024-05"
    assert completed.fields["expected_completion"] == "2022-06-30"
    assert completed.fields["results_posted"] == "no"
    assert recruiting.fields["status"] == "ongoing"
    assert recruiting.fields["keywords"] == ["Post-COVID-19 Condition", "Fatigue"]


def test_every_json_file_of_the_wrong_shape_is_one_report():
    for text in ("[1, 2]", "{}", '"text"', "[[]]", "null"):
        for format in ("csljson", "ctgov", "json"):
            entries = formats.parse_entries(text, format)
            assert entries and all(not e.ok for e in entries), (text, format)


@pytest.mark.parametrize(
    ("name", "format"),
    [("zotero.json", "csljson"), ("ctgov_studies.json", "ctgov"), ("ctgov_one.json", "ctgov")],
)
def test_a_json_file_cut_anywhere_is_one_report_naming_the_place(name, format):
    text = _read(name)
    for cut in (len(text) // 3, len(text) // 2, len(text) - 5):
        [entry] = formats.parse_entries(text[:cut], format)
        assert entry.key == "(the whole file)"
        [error] = entry.errors
        assert error.startswith("not valid JSON:") and "line" in error, error


def test_the_catalogs_json_export_cut_short():
    text = '[\n{"slug": "a", "title": "A", "evidence_level": 2},\n{"slug": "b", "tit'
    [entry] = formats.parse_entries(text, formats.detect_format(text))
    assert entry.errors[0].startswith("not valid JSON: Unterminated string")
    assert entry.line == 3


@pytest.mark.parametrize("format", ["csljson", "ctgov", "json"])
@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000]
)
def test_json_nested_too_deep_is_one_report_not_a_crash(format, text):
    [entry] = formats.parse_entries(text, format)
    assert entry.key == "(the whole file)"
    assert entry.errors == [
        "not a JSON file the catalog reads: its arrays or objects are nested thousands of "
        "levels deep (no bibliographic record is)"
    ]


@pytest.mark.parametrize(
    ("format", "text", "error"),
    [
        (
            "json",
            '[{"title": "A study", "conditions": [1, {"name": "FM"}]}]',
            'a value is an object with the keys “name” where text belongs: {"name": "FM"}',
        ),
        (
            "json",
            '[{"title": ["A study", "its subtitle"]}]',
            'a value is a list where text belongs: ["A study", "its subtitle"]',
        ),
        (
            "json",
            '[{"title": "A study", "authors": [{"family": "Müller"}]}]',
            'a value is an object with the keys “family” where text belongs: {"family": "Müller"}',
        ),
        (
            "csljson",
            '[{"type": "article", "title": {"main": "A study"}}]',
            'a value is an object with the keys “main” where text belongs: {"main": "A study"}',
        ),
        (
            "ctgov",
            '{"protocolSection": {"identificationModule": {"nctId": "NCT90000101", '
            '"briefTitle": ["A trial"]}, "statusModule": {"overallStatus": "COMPLETED"}}}',
            'a value is a list where text belongs: ["A trial"]',
        ),
    ],
)
def test_a_list_or_object_where_text_belongs_is_an_error_on_the_entry(format, text, error):
    [entry] = formats.parse_entries(text, format)
    assert entry.errors == [error]
    assert entry.fields == {}


@pytest.mark.parametrize(
    ("format", "text", "error"),
    [
        (
            "csljson",
            '[{"type": "article", "title": "A study", "author": "Younger J"}]',
            'a value is the str "Younger J" where a list belongs',
        ),
        (
            "ctgov",
            '{"protocolSection": {"identificationModule": {"nctId": "NCT90000101"}, '
            '"statusModule": {"overallStatus": "COMPLETED"}, '
            '"conditionsModule": {"conditions": "Fibromyalgia"}}}',
            'a value is the str "Fibromyalgia" where a list belongs',
        ),
    ],
)
def test_text_where_a_list_belongs_is_an_error_on_the_entry(format, text, error):
    """An author or a trial's conditions given as text alone were dropped without a word."""
    [entry] = formats.parse_entries(text, format)
    assert entry.errors == [error]


@pytest.mark.parametrize(
    ("format", "text"),
    [
        (
            "json",
            '[{"title": "Pain \\ud800 relief"}, {"title": "B", "authors": ["A\\udfff"]}, '
            '{"title": "C \\ud83d\\ude00"}]',
        ),
        (
            "csljson",
            '[{"type": "article", "title": "Pain \\ud800 relief"}, '
            '{"type": "article", "title": "B", "author": [{"family": "A\\udfff"}]}, '
            '{"type": "article", "title": "C \\ud83d\\ude00"}]',
        ),
        (
            "ctgov",
            '{"studies": ['
            + ", ".join(
                f'{{"protocolSection": {{"identificationModule": {{"nctId": "NCT9000010{n}", '
                f'"briefTitle": "{title}"}}, "statusModule": {{"overallStatus": "COMPLETED"}}}}}}'
                for n, title in enumerate(["Pain \\ud800 relief", "B \\udfff", "C \\ud83d\\ude00"])
            )
            + "]}",
        ),
    ],
)
def test_half_of_a_character_is_an_error_on_its_entry_and_a_whole_pair_is_text(format, text):
    # JSON may spell a lone UTF-16 surrogate, which no text can hold: stored, or shown on
    # the job's page, it failed (a server error), and PostgreSQL refused the report.
    entries = formats.parse_entries(text, format)
    assert [bool(entry.errors) for entry in entries] == [True, True, False]
    assert entries[0].errors[0].startswith("a value is text holding “\\ud800”, half of a")
    assert "“\\udfff”" in entries[1].errors[0]
    assert all(entry.fields == {} for entry in entries[:2])
    assert entries[2].fields["title"] == "C \U0001f600"


@pytest.mark.parametrize(
    ("format", "text"),
    [
        (
            "ris",
            "TY  - JOUR\nTI  - A\nAU  - Research and Development Group\nAU  - Müller, J\nER  - \n",
        ),
        ("medline", "PMID- 1\nTI  - A\nAU  - Research and Development Group\nAU  - Müller, J\n"),
        (
            "csljson",
            '[{"title": "A", "author": [{"literal": "Research and Development Group"}, '
            '{"family": "Müller", "given": "J"}, {}]}]',
        ),
        ("json", '[{"title": "A", "authors": ["Research and Development Group", "Müller, J"]}]'),
        ("csv", 'slug,title,authors\r\na,A,"Research and Development Group; Müller, J"\r\n'),
    ],
)
def test_a_name_holding_and_stays_one_author(format, text):
    [entry] = formats.parse_entries(text, format)
    assert entry.fields["author"] == ["Research and Development Group", "Müller, J"]


def test_medline_group_authors_are_authors_in_their_place():
    """PubMed writes a group author as CN among the AU lines, and wraps a long name onto a
    continuation line: Bio.Medline alone dropped the group and split the name in two."""
    text = (
        "PMID- 1\nTI  - A trial\nCN  - LDN Research Group\nAU  - Müller J\n"
        "CN  - Writing Committee for the Low-Dose Naltrexone in Fibromyalgia (LDN-FM)\n"
        "      Investigators\nAU  - Younger J\n\n"
        "PMID- 2\nTI  - A consensus statement\nCN  - LDN Consensus Group\n"
    )
    trial, statement = formats.parse_entries(text, "medline")
    assert trial.fields["author"] == [
        "LDN Research Group",
        "Müller J",
        "Writing Committee for the Low-Dose Naltrexone in Fibromyalgia (LDN-FM) Investigators",
        "Younger J",
    ]
    assert statement.fields["author"] == ["LDN Consensus Group"]


def test_a_wrapped_retraction_notice_stays_one_notice():
    text = (
        "PMID- 1\nTI  - A review\nPT  - Retracted Publication\n"
        "RIN - Aust J Gen Pract. 2024 Jan-Feb;53(1-2):85. doi:\n"
        "      10.31128/AJGP-53-1-2-RET. PMID: 38316485\n"
    )
    [entry] = formats.parse_entries(text, "medline")
    assert entry.fields["retracted"] == (
        "Aust J Gen Pract. 2024 Jan-Feb;53(1-2):85. doi: 10.31128/AJGP-53-1-2-RET. PMID: 38316485"
    )


@pytest.mark.parametrize(
    "issued",
    [
        {"date-parts": [["2019", "3"]]},
        {"date-parts": [[2019]]},
        {"raw": "2019-03-01"},
        {"raw": "Spring 2019"},
        {"literal": "March 2019"},
        {"raw": "01/03/2019"},
        "2019",
    ],
)
def test_a_csl_date_gives_its_year_however_it_is_written(issued):
    """A date CSL keeps as text (“raw”, “literal”) has its year anywhere in it: “Spring
    2019” was read as the year “Spri”, an error on the entry."""
    [item] = formats.parse_entries(json.dumps([{"title": "A", "issued": issued}]), "csljson")
    assert item.fields["year"] == "2019"


@pytest.mark.parametrize(
    "tags",
    [
        "JF  - Clinical Rheumatology\nJO  - Clin Rheumatol\n",  # EndNote, RefMan
        "JO  - Clin Rheumatol\nT2  - Clinical Rheumatology\n",
        "T2  - Clinical Rheumatology\nJF  - Clinical Rheumatology\nJO  - Clin Rheumatol\n",
        "JO  - Clinical Rheumatology\n",  # the catalog's own export
        "T2  - Clinical Rheumatology\nJ2  - Clin Rheumatol\n",  # Zotero
    ],
)
def test_ris_journal_is_its_full_name_not_its_abbreviation(tags):
    """Beside the full name (JF, T2), JO holds the abbreviation, as Zotero reads it."""
    [entry] = formats.parse_entries(f"TY  - JOUR\nTI  - A\n{tags}ER  - \n", "ris")
    assert entry.fields["journal"] == "Clinical Rheumatology"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/paper;jsessionid=A1", "https://example.org/paper;jsessionid=A1"),
        ("https://example.org/one; https://example.org/two", "https://example.org/one"),
        ("https://example.org/one;http://example.org/two", "https://example.org/one"),
    ],
)
def test_a_ris_url_holding_a_semicolon_stays_whole(url, expected):
    """rispy cut every UR at each “;”, as if it separated several links; only a “;” before
    another link does."""
    [entry] = formats.parse_entries(f"TY  - JOUR\nTI  - A\nUR  - {url}\nER  - \n", "ris")
    assert entry.fields["url"] == expected


@pytest.mark.parametrize(
    ("person", "name"),
    [
        ({"family": "Berg", "given": "J", "non-dropping-particle": "van der"}, "van der Berg, J"),
        ({"family": "Beethoven", "given": "L", "dropping-particle": "van"}, "Beethoven, L van"),
        ({"family": "Berg", "non-dropping-particle": "van der"}, "van der Berg"),
        # A suffix stands where BibTeX's “von Last, Jr, First” puts it: it was dropped.
        ({"family": "King", "given": "Martin L.", "suffix": "Jr."}, "King, Jr., Martin L."),
        (
            {"family": "Berg", "given": "J", "non-dropping-particle": "van der", "suffix": "III"},
            "van der Berg, III, J",
        ),
        ({"family": "King", "suffix": "Jr."}, "King, Jr."),
    ],
)
def test_a_csl_name_keeps_its_particles_and_suffix(person, name):
    """CSL keeps a name's particle (“van der”) apart from the family name, as citation.js
    and Better CSL JSON write it: it was dropped (“Berg, J”)."""
    [item] = formats.parse_entries(json.dumps([{"title": "A", "author": [person]}]), "csljson")
    assert item.fields["author"] == [name]


@pytest.mark.parametrize(
    ("author", "name"),
    [
        # RIS (EndNote, the RIS specification) writes a suffix last: it stands where BibTeX
        # and the CSL reading put it, so one author is one name from every format.
        ("King, Martin L., Jr.", "King, Jr., Martin L."),
        ("van der Berg, J, III", "van der Berg, III, J"),
        ("King, Jr., Martin L.", "King, Jr., Martin L."),  # the catalog's own export
        ("Younger, Jarred W.", "Younger, Jarred W."),
    ],
)
def test_a_ris_authors_suffix_stands_where_the_catalog_keeps_it(author, name):
    [entry] = formats.parse_entries(f"TY  - JOUR\nTI  - A\nAU  - {author}\nER  - \n", "ris")
    assert entry.fields["author"] == [name]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le"])
def test_a_file_saved_as_utf16_with_its_byte_order_mark_is_read(encoding):
    """Windows tools save “Unicode” text as UTF-16: it was refused as “a binary file, not
    text” for its zero bytes."""
    text = "TY  - JOUR\r\nTI  - Müller's trial\r\nER  - \r\n"
    data = text.encode(encoding)
    if encoding != "utf-16":  # (which writes its own mark)
        data = "\ufeff".encode(encoding) + data
    assert decode_upload(data) == text


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("TY  - JOUR\nTI  - A\nER  -x\nTYPO\nER  - \n", {"title": "A"}),
        ("TY  - JOUR\nPY  - 2020\nER  -x\nTYPO\nmore text\n", {"title": "", "year": "2020"}),
    ],
)
def test_an_end_tag_run_into_its_text_is_an_end_not_a_crash(text, fields):
    """rispy ends a record at “ER  -” whatever follows it, and starts the next at any line
    starting “TY”: the records cut here must end there too, or rispy found two records in
    one (a ValueError or KeyError, and the import job failed). Found by fuzzing."""
    record, stray = formats.parse_entries(text, "ris")
    assert (record.errors, record.fields) == ([], fields)
    assert stray.errors == ["text outside a record (line 4): no “TY  -” line starts it"]


def test_csl_identifiers_in_lower_case_are_read():
    """CSL names them in capitals (DOI, URL, PMID, PMCID); pandoc reads them in any case, and
    files written for it give them in lower case: they were dropped."""
    item = {"title": "A", "doi": "10.1000/x", "url": "https://example.org/a", "pmid": "123"}
    [entry] = formats.parse_entries(json.dumps([{**item, "pmcid": "PMC4"}]), "csljson")
    assert {name: entry.fields.get(name) for name in ("doi", "url", "pmid", "pmcid")} == {
        "doi": "10.1000/x",
        "url": "https://example.org/a",
        "pmid": "123",
        "pmcid": "PMC4",
    }


@pytest.mark.parametrize(
    "identifiers",
    [
        # PubMed writes the publisher's item id and the DOI as two LID lines, in either order
        # (NLM Tech Bull. 2008 Jul-Aug; (363):e2), and as AID lines.
        ["LID - S0000-0000(20)30000-0 [pii]", "LID - 10.1000/ldn.lid [doi]"],
        ["LID - 10.1000/ldn.lid [doi]", "LID - S0000-0000(20)30000-0 [pii]"],
        ["AID - S0000-0000(20)30000-0 [pii]", "AID - 10.1000/ldn.lid [doi]"],
        ["LID - e1234 [pii]", "AID - e1234 [pii]", "AID - 10.1000/ldn.lid [doi]"],
    ],
)
def test_a_medline_doi_after_a_publisher_item_id_is_read(identifiers):
    """Two LID lines are one value to Bio.Medline (“… [pii] 10.1000/… [doi]”): a DOI in the
    second was lost."""
    lines = ["PMID- 90000099", "TI  - A trial.", *(f"{i[:4]}- {i[6:]}" for i in identifiers)]
    [entry] = formats.parse_entries("\n".join(lines) + "\n", "medline")
    assert entry.fields["doi"] == "10.1000/ldn.lid"


def test_a_medline_record_with_no_doi_gives_none():
    text = "PMID- 90000099\nTI  - A trial.\nLID - e1234 [pii]\nAID - e1234 [pii]\n"
    [entry] = formats.parse_entries(text, "medline")
    assert "doi" not in entry.fields


@pytest.mark.parametrize("format", ["csljson", "ctgov", "json"])
@pytest.mark.parametrize(
    ("text", "count"),
    [
        ('[{"title": "A"}, {"title": "B", "studies": []}, 3]', 3),
        ('{"studies": [{"protocolSection": {}}, {"studies": [1, 2, 3]}], "totalCount": 2}', 2),
        ('{"studies": [1, 2], "studies": 5}', 1),  # the last of repeated keys counts
        ('{"studies": 5, "studies": [1, 2]}', 2),
        ('{"title": "One item alone"}', 1),
        ("[]", 0),
        ("[1, 2", 1),  # not JSON: one report
    ],
)
def test_a_json_files_entries_are_counted_as_its_loader_gives_them(format, text, count):
    """The count (for the entry limit, in the upload's request) keeps no record's fields."""
    assert formats.count_entries(text, format) == count
    if count > 1:
        assert len(jsontext.load_records(text, "studies")) == count


def _ctgov(protocol=None, **study):
    """A ClinicalTrials.gov study, completed, with what ``protocol`` adds to its modules."""
    protocol = {
        "identificationModule": {"nctId": "NCT90000999", "briefTitle": "A trial"},
        "statusModule": {"overallStatus": "COMPLETED", "statusVerifiedDate": "2024-05"},
        **(protocol or {}),
    }
    return json.dumps({"protocolSection": protocol, **study})


@pytest.mark.parametrize(
    ("description", "dose"),
    [
        ("Naltrexone 4.5 mg daily, at bedtime", "LDN: 4.5 mg daily"),
        # A range stated is the range, not its upper end: it read “4.5 mg”.
        ("1.5-4.5 mg nightly", "LDN: 1.5-4.5 mg"),
        ("titrated from 0.5 to 4.5 mg per day", "LDN: 0.5 to 4.5 mg per day"),
        # A dose by body weight is not a dose in mg: it read “0.1 mg”.
        ("0.1 mg/kg per day", "LDN: 0.1 mg/kg per day"),
        ("50 micrograms daily", "LDN: 50 micrograms daily"),
        ("Identical-looking capsules", None),
    ],
)
def test_a_ctgov_dose_is_read_as_the_intervention_states_it(description, dose):
    interventions = [{"type": "DRUG", "name": "LDN", "description": description}]
    text = _ctgov({"armsInterventionsModule": {"interventions": interventions}})
    [entry] = formats.parse_entries(text, "ctgov")
    assert entry.fields.get("dose") == dose


@pytest.mark.parametrize(
    ("references", "pmid"),
    [
        ([{"pmid": "24526250", "type": "RESULT"}], "24526250"),
        ([{"pmid": "1", "type": "BACKGROUND"}, {"pmid": "2", "type": "DERIVED"}], None),
        # Not a PMID: the reference is passed over, not the trial refused.
        (
            [{"pmid": "0" * 30, "type": "RESULT"}, {"pmid": "24526250", "type": "RESULT"}],
            "24526250",
        ),
        ([{"pmid": "PMC123", "type": "RESULT"}], None),
    ],
)
def test_a_trials_results_paper_is_its_pmid(references, pmid):
    text = _ctgov({"referencesModule": {"references": references}})
    [entry] = formats.parse_entries(text, "ctgov")
    assert (entry.errors, entry.fields.get("pmid")) == ([], pmid)


def _ctgov_study(overall_status, study_type="INTERVENTIONAL"):
    return json.dumps(
        {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT90000199", "briefTitle": "LDN"},
                "statusModule": {"overallStatus": overall_status},
                "designModule": {"studyType": study_type},
            }
        }
    )


@pytest.mark.parametrize(
    ("overall_status", "status"),
    [
        ("NOT_YET_RECRUITING", "ongoing"),
        ("RECRUITING", "ongoing"),
        ("ENROLLING_BY_INVITATION", "ongoing"),
        ("ACTIVE_NOT_RECRUITING", "ongoing"),
        ("SUSPENDED", "ongoing"),
        ("UNKNOWN", "ongoing"),
        # The registry withholds the record: nothing says the trial is over.
        ("WITHHELD", "ongoing"),
        ("TERMINATED", "stopped"),
        ("WITHDRAWN", "stopped"),
        ("COMPLETED", "completed"),
    ],
)
def test_each_trial_status_of_the_registry_maps_to_a_catalog_status(overall_status, status):
    [entry] = formats.parse_entries(_ctgov_study(overall_status), "ctgov")
    assert entry.ok, entry.errors
    assert (entry.fields["registry_status"], entry.fields["status"]) == (overall_status, status)


@pytest.mark.parametrize(
    "overall_status",
    ["AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING"],
)
def test_an_expanded_access_record_is_an_error_saying_it_is_not_a_trial(overall_status):
    [entry] = formats.parse_entries(_ctgov_study(overall_status, "EXPANDED_ACCESS"), "ctgov")
    assert entry.errors == [
        f"an expanded-access record (overall status “{overall_status}”), not a trial: "
        "the catalog holds studies and trials, not access to a treatment outside them"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # As json.loads reads it: the last of repeated keys counts.
        ('{"studies": [1],\n "studies": [\n 2, 3]}', [(3, 2), (3, 3)]),
        ('{"studies": [1], "studies": "x"}', [(1, {"studies": "x"})]),
        ('{"studies": "x", "other": 1, "studies": [\n\n{}]}', [(3, {})]),
        ('{"a": {"studies": [1]}, "b": []}', [(1, {"a": {"studies": [1]}, "b": []})]),
        ("{}", [(1, {})]),
    ],
)
def test_a_studies_object_is_read_as_json_loads_reads_it(text, expected):
    assert jsontext.load_records(text, list_key="studies") == expected
    data = json.loads(text)
    records = data["studies"] if isinstance(data.get("studies"), list) else [data]
    assert [record for _, record in expected] == records


@pytest.mark.parametrize(
    "text",
    [
        '{"studies": [1]\n "other": 2}',
        '{"studies": [1],\n  3: 2}',
        '{"studies" [1]}',
        '{"studies": [1],\n}',
        '{"studies": [1]} x',
        '{"studies": [1], "other": tru}',
        '{"studies": [1], "other": "cut',
        '{"studies": [1]',
    ],
)
def test_a_damaged_studies_object_is_reported_where_json_loads_reports_it(text):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(ValueError) as error:
        jsontext.load_records(text, list_key="studies")
    message = error.value.args[0]
    assert message.startswith(f"not valid JSON: {expected.value.msg}"), message
    assert f"at line {expected.value.lineno}, column {expected.value.colno}" in message
