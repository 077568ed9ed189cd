from django.test import TestCase

from studies.citations import Citation, first_and_last_page, format_authors, study_links
from studies.models import Study

from .factories import make_condition, make_study


class CitationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.study = make_study(
            [make_condition(name="Fibromyalgia"), make_condition(name="Crohn's disease")],
            title="Fibromyalgia symptoms are reduced by low-dose naltrexone.",
            authors=["Younger J", "Mackey S"],
            journal="Pain Med.",
            year=2009,
            volume="10",
            issue="4",
            pages="663-72",
            doi="10.1111/j.1526-4637.2009.00613.x",
            pmid="19453963",
        )

    def test_a_row_and_a_study_give_the_same_record(self):
        row = Study.objects.values(*Citation.FIELDS).get(pk=self.study.pk)
        from_row = Citation.from_row(row, ["Crohn's disease", "Fibromyalgia"])
        assert from_row == Citation.from_study(self.study)
        assert from_row.keywords == ("Crohn's disease", "Fibromyalgia")

    def test_reference_in_vancouver_style(self):
        assert Citation.from_study(self.study).reference() == (
            "Younger J, Mackey S. Fibromyalgia symptoms are reduced by low-dose naltrexone. "
            "Pain Med. 2009;10(4):663-72. doi:10.1111/j.1526-4637.2009.00613.x"
        )

    def test_highwire_tags(self):
        assert Citation.from_study(self.study).highwire_tags() == [
            ("citation_title", self.study.title),
            ("citation_author", "Younger J"),
            ("citation_author", "Mackey S"),
            ("citation_publication_date", "2009"),
            ("citation_journal_title", "Pain Med."),
            ("citation_volume", "10"),
            ("citation_issue", "4"),
            ("citation_firstpage", "663"),
            ("citation_lastpage", "72"),
            ("citation_doi", "10.1111/j.1526-4637.2009.00613.x"),
            ("citation_pmid", "19453963"),
        ]

    def test_the_study_page_carries_the_same_tags_and_reference(self):
        body = self.client.get(self.study.get_absolute_url()).content.decode()
        citation = Citation.from_study(self.study)
        for name, content in citation.highwire_tags():
            assert f'<meta name="{name}" content="{content}">' in body
        assert citation.reference() in body

    def test_a_bare_study_has_a_title_tag_only(self):
        bare = make_study(title="Untitled note", design="other")
        assert Citation.from_study(bare).highwire_tags() == [("citation_title", "Untitled note")]
        assert Citation.from_study(bare).reference() == "Untitled note."


def test_first_and_last_page():
    assert first_and_last_page("663-72") == ("663", "72")
    assert first_and_last_page("e12") == ("e12", "e12")
    assert first_and_last_page("") == ("", "")


def test_more_than_six_authors_end_in_et_al():
    names = [f"Author {n}" for n in range(1, 9)]
    assert format_authors(names) == ", ".join(names[:6]) + ", et al."
    assert format_authors(names[:6]) == ", ".join(names[:6])


def test_links_out_only_to_web_addresses():
    study = Study(title="x", doi="10.1000/xyz", pmid="123", url="javascript:alert(1)")
    links = study_links(study)
    assert links["doi"] == "https://doi.org/10.1000/xyz"
    assert "123" in links["pmid"]
    assert links["url"] == ""
    assert links["registry"] == ""
