"""Condition tags with their basis, and inferred designs: on pages, in the filter, the
evidence map and the exports (docs/curation.md)."""

import csv
import io
import json

from django.test import TestCase
from django.urls import reverse

from studies import facets
from studies.exports import FORMATS
from studies.filters import StudyFilter
from studies.models import Condition, Study, StudyCondition
from tests.factories import make_condition, make_source, make_study


class ConditionTagTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibromyalgia = make_condition(name="Fibromyalgia")
        cls.autoimmune = make_condition(name="Autoimmune diseases")
        cls.named = make_study(title="Named", conditions=[cls.fibromyalgia], year=2020)
        cls.cited = make_study(
            title="Cited",
            design="cohort",
            design_basis="inferred",
            design_quote="associated with fewer symptoms",
            conditions=[cls.fibromyalgia],
        )
        StudyCondition.objects.create(study=cls.cited, condition=cls.autoimmune, basis="citing")
        cls.untagged = make_study(title="Untagged")

    def test_set_and_add_elsewhere_keep_working_with_basis_study(self):
        assert StudyCondition.objects.get(study=self.named).basis == "study"
        self.untagged.conditions.add(self.autoimmune)
        assert StudyCondition.objects.get(study=self.untagged).basis == "study"

    def test_the_list_shows_studies_tied_to_no_condition(self):
        def titles(params):
            return {s.title for s in StudyFilter(params).qs}

        assert titles({"condition": ["none"]}) == {"Untagged"}
        assert titles({"condition": ["none", self.autoimmune.slug]}) == {"Untagged", "Cited"}
        assert titles({"condition": [self.fibromyalgia.slug]}) == {"Named", "Cited"}
        options = facets.compute_summary(StudyFilter({})).facets["condition"]
        assert ("none", 1) in [(o.value, o.count) for o in options]
        response = self.client.get(reverse("studies:study_list"), {"condition": "none"})
        assert response.status_code == 200 and "Untagged" in response.content.decode()

    def test_the_evidence_map_counts_study_tags_unless_asked(self):
        designs, rows = Condition.objects.evidence_map()
        names = {condition.name for condition, _ in rows}
        assert names == {"Fibromyalgia"}
        cells = dict(rows)[self.fibromyalgia]
        assert ("cohort", 1, 1) in [(d.value, n, i) for d, n, i in cells]
        _, every = Condition.objects.evidence_map(every_tag=True)
        assert {condition.name for condition, _ in every} == {"Fibromyalgia", "Autoimmune diseases"}

        def evidence_map(params):
            page = self.client.get(reverse("studies:home"), params).content.decode()
            return page[
                page.index('id="h-map"') : page.index("</section>", page.index('id="h-map"'))
            ]

        assert "(1 inferred)" in evidence_map({})
        assert "Autoimmune diseases" not in evidence_map({})
        assert "Autoimmune diseases" in evidence_map({"tags": "all"})
        # A number opens the list, which counts every tag: the default map says so.
        also = "also holds any study tied to the condition only by a citing document"
        assert also in " ".join(evidence_map({}).split())
        assert also not in " ".join(evidence_map({"tags": "all"}).split())

    def test_the_study_page_shows_basis_and_inferred_design(self):
        page = self.client.get(self.cited.get_absolute_url()).content.decode()
        assert "named only by a citing document" in page
        assert "design inferred from “associated with fewer symptoms”" in page
        page = self.client.get(self.untagged.get_absolute_url()).content.decode()
        assert "none named by the documents" in page

    def test_exports_carry_the_basis_and_keep_their_keys(self):
        one = Study.objects.filter(pk=self.cited.pk)
        [data] = json.loads("".join(FORMATS["json"].stream(one)))
        # The existing key keeps its plain list of names.
        assert sorted(data["conditions"]) == ["Autoimmune diseases", "Fibromyalgia"]
        assert {(t["name"], t["basis"]) for t in data["condition_tags"]} == {
            ("Autoimmune diseases", "citing"),
            ("Fibromyalgia", "study"),
        }
        assert data["design_basis"] == "inferred"
        [row] = csv.DictReader(io.StringIO("".join(FORMATS["csv"].stream(one))))
        assert row["condition_basis"] == "Autoimmune diseases: citing; Fibromyalgia: study"
        assert row["design_basis"] == "inferred"


def test_a_source_page_shows_what_it_says_about_the_evidence(client, db):
    source = make_source(
        evidence_quote="a 50-50 toss of the coin", evidence_note="Its list differs."
    )
    page = client.get(source.get_absolute_url()).content.decode()
    assert "a 50-50 toss of the coin" in page and "Curator's note: Its list differs." in page


class ConditionPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition(name="Autoimmune diseases")
        cls.named = make_study(title="Named by itself", design="rct")
        cls.cited = make_study(title="Named by a citing post", design="rct")
        StudyCondition.objects.create(study=cls.named, condition=cls.condition)
        StudyCondition.objects.create(study=cls.cited, condition=cls.condition, basis="citing")

    def test_the_condition_page_says_which_studies_only_a_citing_document_ties_to_it(self):
        page = self.client.get(self.condition.get_absolute_url()).content.decode()
        rows = page.split('<li class="study-row">')[1:]
        cited = next(row for row in rows if "Named by a citing post" in row)
        named = next(row for row in rows if "Named by itself" in row)
        assert "this condition named only by a citing document" in cited
        assert "named only by a citing document" not in named
