import csv
import io
import json

import bibtexparser
import rispy
from django.core.management import call_command
from django.test import TestCase

from studies.exports import FORMATS

from .factories import make_claim, make_condition, make_mention, make_outcome, make_study

REQUIRED_KEYS = {
    "slug", "title", "year", "authors", "journal", "doi", "pmid", "pmcid", "registry_id",
    "design", "status", "conditions", "sample_size", "dose", "duration", "outcomes",
    "effect_summaries", "sources", "claims",
}  # fmt: skip


def export(fmt):
    out = io.StringIO()
    call_command("export_studies", "--format", fmt, stdout=out)
    return out.getvalue()


class ExportCommandTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        fm = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.study = make_study(
            conditions=[fm],
            title="LDN & fibromyalgia: 50% {better}",
            year=2013,
            authors=["Younger J", "Mackey S"],
            doi="10.1000/abc",
            sample_size=31,
        )
        make_outcome(cls.study, figures="28.8% vs 18%", condition=fm)
        make_mention(cls.study, quote="Thirty one women")
        make_claim(cls.study, verdict="misattributed", note="wrong journal")
        make_study(title="Bare study", design="other")

    def test_json_has_the_public_shape_and_nulls_for_empty_values(self):
        data = json.loads(export("json"))
        assert len(data) == 2
        for obj in data:
            assert set(obj) >= REQUIRED_KEYS
            assert "" not in obj.values()
        full = next(o for o in data if o["slug"] == self.study.slug)
        assert full["authors"] == ["Younger J", "Mackey S"]
        assert full["conditions"] == ["Fibromyalgia"]
        assert full["outcomes"][0]["figures"] == "28.8% vs 18%"
        assert set(full["outcomes"][0]) >= {"name", "direction", "figures"}
        assert full["sources"][0]["quote"] == "Thirty one women"
        assert set(full["sources"][0]) >= {"document", "quote"}
        assert full["claims"][0]["verdict"] == "misattributed"
        assert set(full["claims"][0]) >= {"document", "quote", "verdict", "note"}
        bare = next(o for o in data if o["title"] == "Bare study")
        assert bare["journal"] is None and bare["doi"] is None and bare["year"] is None

    def test_csv_has_a_row_per_study(self):
        rows = list(csv.DictReader(io.StringIO(export("csv"))))
        assert len(rows) == 2
        row = next(r for r in rows if r["slug"] == self.study.slug)
        assert row["authors"] == "Younger J; Mackey S" and row["doi"] == "10.1000/abc"

    def test_bibtex_parses_back_to_the_same_studies(self):
        library = bibtexparser.parse_string(export("bibtex"))
        assert not library.failed_blocks
        assert {e.key for e in library.entries} == {self.study.slug, "bare-study"}
        entry = library.entries_dict[self.study.slug]
        assert entry["doi"] == "10.1000/abc" and entry["year"] == "2013"
        assert (
            entry["title"] == r"LDN \& fibromyalgia: 50\% \textbraceleft{}better\textbraceright{}"
        )

    def test_ris_parses_back_to_the_same_studies(self):
        records = rispy.loads(export("ris"))
        assert sorted(r["title"] for r in records) == sorted(
            ["Bare study", "LDN & fibromyalgia: 50% {better}"]
        )
        record = next(r for r in records if r["title"] != "Bare study")
        assert record["doi"] == "10.1000/abc" and record["year"] == "2013"
        assert record["authors"] == ["Younger J", "Mackey S"]
        # The conditions, then the domains of the study's outcomes (the outcome's: other).
        assert record["keywords"] == ["Fibromyalgia"]
        assert record["custom1"] == "Outcome domains: other"

    def test_every_format_of_the_registry_is_offered(self):
        for name in FORMATS:
            assert export(name)
