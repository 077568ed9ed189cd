"""The list's downloads over HTTP, each parsed back with a real parser."""

import csv
import io
import json
import math
import xml.etree.ElementTree as ET
from unittest.mock import patch

import bibtexparser
import rispy
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from studies import views
from studies.exports import CSV_COLUMNS, spreadsheet_safe
from studies.models import Study

from .factories import make_claim, make_condition, make_effect_summary, make_outcome, make_study

ATOM = "{http://www.w3.org/2005/Atom}"


def body(response):
    assert response.streaming
    return b"".join(response.streaming_content).decode()


class ExportTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.crohn = make_condition(name="Crohn's disease", slug="crohns-disease")
        # More matching studies than a page holds: an export has them all.
        cls.many = [
            make_study(
                [cls.fibro], title=f"Fibromyalgia study {n:02}", year=1990 + n, design="cohort"
            )
            for n in range(views.PAGE_SIZE + 5)
        ]
        cls.hostile = make_study(
            [cls.fibro],
            title='=HYPERLINK("http://evil.example","click") & {braces} 100% $x$',
            year=2025,
            authors=["O'Brien, T", "Müller A"],
            journal="J & Co",
            doi="10.1000/abc_123",
            pmid="12345",
            summary="Line one\nTY  - JOUR\nline three",
            design="rct",
            sample_size=40,
        )
        make_outcome(
            cls.hostile, name="Pain", figures="-3.1 points", condition=cls.fibro, domain="pain"
        )
        make_effect_summary(cls.hostile, cls.fibro)
        make_claim(cls.hostile, quote="A claim")
        cls.trial = make_study(
            [],
            title="Crohn trial",
            design="registered_trial",
            status="ongoing",
            registry_id="NCT01234567",
            registry_status="COMPLETED",
            registry_checked="2024-05",
            expected_completion="2024-03",
            results_posted=True,
        )
        cls.other = make_study([cls.crohn], title="Crohn study", year=2024)
        cls.total_fibro = len(cls.many) + 1

    def get(self, path):
        response = self.client.get(path)
        assert response.status_code == 200, response
        return response

    def list_order(self, query):
        response = self.client.get(f"/studies/?{query}")
        return [s.slug for s in response.context["page"].paginator.object_list]

    def test_csv_holds_every_match_in_list_order_and_is_formula_safe(self):
        response = self.get("/studies.csv?condition=fibromyalgia&sort=title")
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert (
            response["Content-Disposition"] == 'attachment; filename="ldn-studies-fibromyalgia.csv"'
        )
        rows = list(csv.DictReader(io.StringIO(body(response))))
        assert [r["slug"] for r in rows] == self.list_order("condition=fibromyalgia&sort=title")
        assert len(rows) == self.total_fibro
        hostile = next(r for r in rows if r["slug"] == self.hostile.slug)
        assert hostile["title"].startswith("'=HYPERLINK")
        assert hostile["authors"] == "O'Brien, T; Müller A"

    def test_csv_rows_say_what_the_json_objects_say(self):
        rows = list(csv.DictReader(io.StringIO(body(self.get("/studies.csv?sort=title")))))
        objects = json.loads(body(self.get("/studies.json?sort=title")))
        assert len(rows) == len(objects) == Study.objects.count()
        lists = {"authors", "conditions", "condition_basis", "verdicts", "domains"}
        flags = {True: "yes", False: "no", None: ""}
        for row, data in zip(rows, objects, strict=True):
            for flag in ("results_posted", "descriptive_title"):
                assert row[flag] == flags[data[flag]]
            for column in set(CSV_COLUMNS) - lists - {"results_posted", "descriptive_title"}:
                value = data[column]
                assert row[column] == spreadsheet_safe("" if value is None else str(value))
            assert row["authors"] == "; ".join(data["authors"] or [])
            assert row["conditions"] == "; ".join(data["conditions"] or [])
            assert row["condition_basis"] == "; ".join(
                f"{t['name']}: {t['basis']}" for t in data["condition_tags"]
            )
            assert row["verdicts"] == "; ".join(
                f"{e['condition']}: {e['verdict']} ({e['certainty']})"
                for e in data["effect_summaries"]
            )
            assert row["domains"] == "; ".join(sorted({o["domain"] for o in data["outcomes"]}))
        assert any(row["verdicts"] for row in rows)
        assert any(row["domains"] for row in rows)

    def test_a_trial_carries_its_registry_record(self):
        [data] = [
            o for o in json.loads(body(self.get("/studies.json"))) if o["title"] == "Crohn trial"
        ]
        [row] = [
            r
            for r in csv.DictReader(io.StringIO(body(self.get("/studies.csv"))))
            if r["title"] == "Crohn trial"
        ]
        expected = {
            "registry_status": "COMPLETED",
            "registry_checked": "2024-05",
            "expected_completion": "2024-03",
        }
        assert {name: data[name] for name in expected} == expected
        assert {name: row[name] for name in expected} == expected
        assert (data["results_posted"], row["results_posted"]) == (True, "yes")
        # A study that is not a registered trial has none.
        [other] = [
            o for o in json.loads(body(self.get("/studies.json"))) if o["title"] == "Crohn study"
        ]
        assert [other[name] for name in (*expected, "results_posted")] == [None] * 4

    def test_each_format_fetches_only_the_related_rows_it_writes(self):
        # One query per related table a format writes, for each further chunk of studies.
        chunks = math.ceil(self.total_fibro / 10)
        for extension, per_chunk in (("csv", 3), ("bib", 1), ("ris", 2), ("json", 5)):
            queries = []
            for chunk_size in (1000, 10):
                with (
                    patch.object(views, "EXPORT_CHUNK_SIZE", chunk_size),
                    CaptureQueriesContext(connection) as captured,
                ):
                    body(self.get(f"/studies.{extension}?condition=fibromyalgia"))
                queries.append(len(captured))
            assert queries[1] - queries[0] == per_chunk * (chunks - 1), extension

    def test_json_is_exactly_the_export_command_objects(self):
        response = self.get("/studies.json?condition=fibromyalgia")
        assert response["Content-Type"].startswith("application/json")
        data = json.loads(body(response))
        out = io.StringIO()
        call_command("export_studies", "--format", "json", stdout=out)
        by_slug = {obj["slug"]: obj for obj in json.loads(out.getvalue())}
        expected = [
            by_slug[slug]
            for slug in Study.objects.for_any_condition(["fibromyalgia"])
            .sorted_by("")
            .values_list("slug", flat=True)
        ]
        assert data == json.loads(json.dumps(expected))
        assert [d["slug"] for d in data] == self.list_order("condition=fibromyalgia")

    def test_bibtex_parses_back(self):
        response = self.get("/studies.bib?condition=fibromyalgia&design=rct")
        assert response["Content-Disposition"].endswith(
            'filename="ldn-studies-fibromyalgia-rct.bib"'
        )
        library = bibtexparser.parse_string(body(response))
        assert not library.failed_blocks
        assert [e.key for e in library.entries] == [self.hostile.slug]
        entry = library.entries[0]
        assert entry.entry_type == "article"
        assert entry["doi"] == "10.1000/abc\\_123"
        assert "\\&" in entry["title"] and "\\%" in entry["title"]

    def test_ris_parses_back(self):
        response = self.get("/studies.ris?condition=fibromyalgia")
        records = rispy.loads(body(response))
        assert len(records) == self.total_fibro
        hostile = next(r for r in records if r.get("doi") == "10.1000/abc_123")
        assert hostile["authors"] == ["O'Brien, T", "Müller A"]
        assert hostile["year"] == "2025"
        assert hostile["abstract"] == "Line one TY - JOUR line three"

    def test_atom_feed_follows_the_filter_newest_added_first(self):
        response = self.get("/studies.atom?condition=crohns-disease")
        feed = ET.fromstring(response.content)
        assert "Crohn" in feed.find(f"{ATOM}title").text
        titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
        assert titles == ["Crohn study (2024)"]
        everything = ET.fromstring(self.get("/studies.atom").content)
        first = everything.find(f"{ATOM}entry").find(f"{ATOM}title").text
        assert first == "Crohn study (2024)"  # the last one added

    def test_atom_feed_drops_characters_xml_cannot_hold(self):
        make_study(title="Bell\x07 and tab\x0b study", year=2026)
        response = self.get("/studies.atom?q=%08pain")
        feed = ET.fromstring(response.content)
        assert feed.find(f"{ATOM}title").text.startswith("LDN Evidence Catalog:")
        everything = ET.fromstring(self.get("/studies.atom").content)
        titles = [e.find(f"{ATOM}title").text for e in everything.findall(f"{ATOM}entry")]
        assert "Bell and tab study (2026)" in titles

    def test_empty_result_exports_are_still_valid(self):
        assert json.loads(body(self.get("/studies.json?year_min=2099"))) == []
        rows = list(csv.reader(io.StringIO(body(self.get("/studies.csv?year_min=2099")))))
        assert len(rows) == 1  # the header
        assert rispy.loads(body(self.get("/studies.ris?year_min=2099"))) == []

    def test_unfiltered_export_file_name(self):
        response = self.get("/studies.csv")
        assert response["Content-Disposition"] == 'attachment; filename="ldn-studies.csv"'
