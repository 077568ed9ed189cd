from django.test import SimpleTestCase

from studies.citations import first_and_last_page, format_authors, format_reference, study_links
from studies.models import Study


class ReferenceTests(SimpleTestCase):
    def test_a_journal_article_in_vancouver_style(self):
        study = Study(
            title="Fibromyalgia symptoms are reduced by low-dose naltrexone: a pilot study.",
            authors=["Younger J", "Mackey S"],
            journal="Pain Med.",
            year=2009,
            volume="10",
            issue="4",
            pages="663-72",
            doi="10.1111/j.1526-4637.2009.00613.x",
        )
        assert format_reference(study) == (
            "Younger J, Mackey S. Fibromyalgia symptoms are reduced by low-dose naltrexone: "
            "a pilot study. Pain Med. 2009;10(4):663-72. doi:10.1111/j.1526-4637.2009.00613.x"
        )

    def test_a_registered_trial_names_its_registration(self):
        study = Study(title="LDN for long COVID", registry_id="NCT01234567")
        assert format_reference(study) == "LDN for long COVID. Trial registration NCT01234567."

    def test_more_than_six_authors_end_in_et_al(self):
        names = [f"Author {n}" for n in range(1, 9)]
        assert format_authors(names) == ", ".join(names[:6]) + ", et al."
        assert format_authors(names[:6]) == ", ".join(names[:6])


class PageAndLinkTests(SimpleTestCase):
    def test_page_ranges(self):
        assert first_and_last_page("663–72") == ("663", "72")
        assert first_and_last_page("e1234") == ("e1234", "e1234")
        assert first_and_last_page("") == ("", "")

    def test_links_out_only_to_web_addresses(self):
        study = Study(title="x", doi="10.1000/xyz", pmid="123", url="javascript:alert(1)")
        links = study_links(study)
        assert links["doi"] == "https://doi.org/10.1000/xyz"
        assert "123" in links["pmid"]
        assert links["url"] == ""
        assert links["registry"] == ""
