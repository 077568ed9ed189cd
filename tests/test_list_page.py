"""The study list as a reader finds things on it (issue 11): studies without a year under
a year range, active filters as chips, the empty list, the skip link, link previews."""

import re
from html import unescape

from django.http import QueryDict
from django.test import TestCase

from studies.facets import summarise
from studies.filters import StudyFilter

from .factories import make_condition, make_study


def page(client, query):
    response = client.get("/studies/?" + query)
    assert response.status_code == 200, response
    return response.content.decode()


class UndatedTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        make_study([cls.fibro], title="Dated RCT", year=2013, design="rct")
        make_study([cls.fibro], title="Undated RCT", year=None, design="rct")
        make_study([cls.fibro], title="Old cohort", year=1990, design="cohort")
        make_study([], title="Undated, other condition", year=None, design="rct")

    def titles(self, query):
        return sorted(StudyFilter(QueryDict(query)).qs.values_list("title", flat=True))

    def test_a_year_range_says_how_many_undated_studies_it_hides(self):
        html = page(self.client, "condition=fibromyalgia&year_min=2010&year_max=2024")
        assert "1 study without a year is not shown." in html
        link = re.search(r'<a href="([^"]+)">Include it</a>', html).group(1)
        assert unescape(link) == (
            "/studies/?condition=fibromyalgia&year_min=2010&year_max=2024&undated=1"
        )
        html = page(self.client, unescape(link).split("?")[1])
        assert "Undated RCT" in html and "Dated RCT" in html and "Old cohort" not in html
        assert "without a year are not shown" not in html
        assert "without a year is not shown" not in html

    def test_undated_includes_them_in_results_counts_and_exports(self):
        query = "condition=fibromyalgia&year_min=2010&undated=1"
        assert self.titles(query) == ["Dated RCT", "Undated RCT"]
        assert self.titles("condition=fibromyalgia&year_min=2010") == ["Dated RCT"]
        summary = summarise(StudyFilter(QueryDict(query)))
        assert summary.total == 2
        assert {o.value: o.count for o in summary.facets["design"]}["rct"] == 2
        csv = b"".join(self.client.get("/studies.csv?" + query).streaming_content).decode()
        assert "Undated RCT" in csv and "Old cohort" not in csv

    def test_with_undated_each_decade_counts_the_studies_its_link_shows(self):
        # The decade links keep undated=1, so each shows its decade and the undated.
        query = "condition=fibromyalgia&year_min=2010&year_max=2019&undated=1"
        decades = summarise(StudyFilter(QueryDict(query))).facets["decade"]
        assert {o.label: o.count for o in decades} == {"1990s": 2, "2000s": 1, "2010s": 2}
        html = page(self.client, query)
        for label, count in (("1990s", 2), ("2000s", 1), ("2010s", 2)):
            link = re.search(rf'<a href="([^"]+)"[^>]*>{label} <span class="count">(\d+)<', html)
            assert int(link.group(2)) == count
            assert len(self.titles(unescape(link.group(1)).lstrip("?"))) == count, label
        # Without undated=1 a decade counts its dated studies only.
        decades = summarise(StudyFilter(QueryDict("condition=fibromyalgia&year_min=2010")))
        assert {o.label: o.count for o in decades.facets["decade"]}["2000s"] == 0

    def test_undated_alone_means_nothing_and_is_dropped_from_the_url(self):
        response = self.client.get("/studies/?undated=1")
        assert response.status_code == 301 and response["Location"] == "/studies/"
        assert "or without a year" in StudyFilter(QueryDict("year_max=2000&undated=1")).heading(2)

    def test_no_note_without_a_year_range(self):
        assert "without a year" not in page(self.client, "condition=fibromyalgia").split("<form")[0]


class ChipsAndEmptyListTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        make_study([fibro], title="Fibro RCT", year=2013, design="rct", sample_size=31)

    def chips(self, html):
        return [
            (unescape(re.sub("<[^>]+>", "", label)).replace("×", "").strip(), unescape(href))
            for href, label in re.findall(r'<a class="chip" href="([^"]+)"[^>]*>(.*?)</a>', html)
        ]

    def test_each_active_filter_is_a_chip_that_removes_it(self):
        html = page(self.client, "q=trial&condition=fibromyalgia&design=rct&year_min=2010")
        assert self.chips(html) == [
            (
                "Search: “\u2068trial\u2069”",
                "/studies/?" + "condition=fibromyalgia&design=rct&year_min=2010",
            ),
            ("Fibromyalgia", "/studies/?q=trial&design=rct&year_min=2010"),
            (
                "Randomised controlled trial",
                "/studies/?" + "q=trial&condition=fibromyalgia&year_min=2010",
            ),
            ("Years: 2010 onwards", "/studies/?q=trial&condition=fibromyalgia&design=rct"),
        ]
        assert '<a class="clear-all" href="/studies/">Clear all</a>' in html
        assert 'class="chip"' not in page(self.client, "")

    def test_outcome_domains_and_dose_bands_are_chips_too(self):
        html = page(self.client, "domain=pain&domain=sleep&dose_band=low")
        assert self.chips(html) == [
            ("Outcomes on pain", "/studies/?domain=sleep&dose_band=low"),
            ("Outcomes on sleep", "/studies/?domain=pain&dose_band=low"),
            ("Low dose (1–5 mg)", "/studies/?domain=pain&domain=sleep"),
        ]
        assert "(3 active)" in html

    def test_an_empty_list_offers_no_download_and_suggests_removing_the_last_listed(self):
        """The page cannot know which filter was added last (a shared link names them all
        at once), and does not claim to: it offers the last listed. The browser's update,
        which knows, names the one just added (tests/e2e/test_list_browser.py)."""
        html = page(self.client, "condition=fibromyalgia&design=cohort")
        assert "No study matches these filters together." in html
        assert "Download all" not in html and "/studies.csv" not in html
        assert (
            "Try removing one of the filters above, such as the last listed, "
            '<a href="/studies/?condition=fibromyalgia"><bdi>Cohort study</bdi></a>' in html
        )
        assert "Download all 1" in page(self.client, "condition=fibromyalgia")

    def test_an_empty_list_with_one_filter_suggests_removing_it(self):
        html = page(self.client, "design=cohort&year_min=2030")
        assert "No study matches these filters together." in html
        html = page(self.client, "year_min=2030")
        assert "No study matches this filter." in html
        assert 'Try removing it, <a href="/studies/"><bdi>Years: 2030 onwards</bdi></a>' in html

    def test_the_skip_link_leads_to_the_first_result(self):
        html = page(self.client, "condition=fibromyalgia")
        body = html.split("<body>")[1]
        first_link = re.search(r"<a [^>]*>", body).group(0)
        assert first_link == '<a class="skip-link" href="#results">'
        after_target = body.split('id="results" tabindex="-1">')[1]
        # Nothing focusable between the target and the first study's link.
        assert re.search(r"<(a|button|input|select)\b", after_target).group(0) == "<a"
        assert re.search(r"<a [^>]*>", after_target).group(0).startswith('<a href="/studies/')


class PreviewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.study = make_study(
            [cls.fibro], title="Fibro RCT", year=2013, design="rct", sample_size=31
        )
        make_study([cls.fibro], title="Fibro RCT 2", year=2020, design="rct")

    def meta(self, html, key):
        match = re.search(rf'<meta (?:property|name)="{key}" content="([^"]*)">', html)
        return unescape(match.group(1)) if match else None

    def test_the_list_says_what_it_holds(self):
        html = page(self.client, "condition=fibromyalgia&design=rct&year_min=2010&year_max=2024")
        assert self.meta(html, "og:description") == (
            "2 studies of fibromyalgia, randomised trials, 2010–2024"
        )
        assert self.meta(html, "twitter:card") == "summary"
        assert self.meta(html, "og:url").endswith(
            "/studies/?condition=fibromyalgia&design=rct&year_min=2010&year_max=2024"
        )

    def test_condition_names_keep_the_capitals_of_acronyms_and_names(self):
        for name, slug, said in [
            ("HIV", "hiv", "HIV"),
            ("ME/CFS", "me-cfs", "ME/CFS"),
            ("Long COVID", "long-covid", "long COVID"),
            ("Crohn's disease", "crohns-disease", "Crohn's disease"),
            ("Hailey-Hailey disease", "hailey-hailey", "Hailey-Hailey disease"),
            ("Multiple sclerosis", "ms", "multiple sclerosis"),
        ]:
            make_study([make_condition(name=name, slug=slug)], title=f"A study of {name}")
            html = page(self.client, f"condition={slug}")
            assert self.meta(html, "og:description") == f"1 study of {said}", name

    def test_a_search_that_was_not_applied_is_not_described_as_applied(self):
        # "the" is a very common word and "-x" only leaves out: neither search is applied,
        # so the list is not "2 studies matching “the”".
        for query in ("q=the&condition=fibromyalgia", "q=-crohn&condition=fibromyalgia"):
            html = page(self.client, query)
            assert self.meta(html, "og:description") == "2 studies of fibromyalgia", query
            assert self.meta(html, "og:title") == "Fibromyalgia · 2 studies", query
            assert "the search was not applied" in html or "not only words to leave out" in html
        html = page(self.client, "q=rct+2&condition=fibromyalgia")
        assert self.meta(html, "og:description") == "1 study matching “rct 2” of fibromyalgia"

    def test_study_and_condition_pages(self):
        html = self.client.get(self.study.get_absolute_url()).content.decode()
        assert self.meta(html, "og:title") == "Fibro RCT"
        assert self.meta(html, "og:type") == "article"
        assert self.meta(html, "og:description").startswith(
            "Randomised controlled trial, 2013, 31 participants; Fibromyalgia"
        )
        html = self.client.get(self.fibro.get_absolute_url()).content.decode()
        assert self.meta(html, "og:title") == "Low-dose naltrexone for Fibromyalgia"
        assert self.meta(html, "twitter:description").startswith("2 studies of low-dose")
