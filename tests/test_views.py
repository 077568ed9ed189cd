import re
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from urllib.parse import urlencode

import bibtexparser
import hypothesis
import hypothesis.extra.django
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import strategies as st

from studies import views
from studies.filters import StudyFilter
from studies.links import absolute_url

from .factories import (
    make_claim,
    make_condition,
    make_effect_summary,
    make_mention,
    make_outcome,
    make_source,
    make_study,
)


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self, html):
        super().__init__()
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def all(self, name):
        return [attrs for tag, attrs in self.tags if tag == name]


class CatalogData(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.crohn = make_condition(name="Crohn's disease", slug="crohns-disease")
        cls.empty = make_condition(name="Unstudied condition", slug="unstudied")
        cls.source = make_source(title="A clinic's guide", slug="clinic-guide")
        cls.wiki = make_source(title="Encyclopedia", slug="encyclopedia")
        cls.trial = make_study(
            [cls.fibro],
            title="LDN for fibromyalgia: a crossover trial",
            year=2013,
            design="crossover_rct",
            sample_size=31,
            authors=["Younger J", "Noor N"],
            journal="Arthritis Rheum",
            volume="65",
            issue="2",
            pages="529-38",
            doi="10.1002/art.37734",
            pmid="23359310",
            pmcid="PMC3582327",
            population="Women with fibromyalgia",
            dose="4.5 mg nightly",
            duration="12 weeks",
            comparator="Placebo",
            adverse_events="Vivid dreams",
        )
        make_outcome(cls.trial, name="Daily pain", figures="28.8% vs 18.0% (P = 0.016)")
        make_effect_summary(cls.trial, cls.fibro, verdict="benefit", certainty="low")
        make_mention(cls.trial, cls.wiki, quote="LDN reduced pain by 28.8%.", locator="§3")
        make_claim(cls.trial, cls.source, quote="LDN cures fibromyalgia.", verdict="misattributed")
        make_claim(cls.trial, cls.wiki, quote="LDN reduced pain.", verdict="supported")
        cls.review = make_study(
            [cls.crohn], title="Crohn review", year=2018, design="meta_analysis"
        )
        cls.series = make_study(
            [cls.crohn, cls.fibro], title="Case series", year=2007, design="case_series"
        )
        cls.ongoing = make_study(
            [cls.fibro],
            title="Recruiting trial",
            year=2024,
            design="registered_trial",
            status="ongoing",
            registry_id="NCT04604704",
        )


class HomeTests(CatalogData):
    def test_home_shows_count_map_latest_and_advice(self):
        response = self.client.get("/")
        html = response.content.decode()
        assert response.status_code == 200
        assert "<strong>4 studies</strong>" in html
        assert "Not medical advice" in html
        # An evidence map cell links to the filtered list and is coloured by level.
        assert 'href="/studies/?condition=fibromyalgia&amp;design=crossover_rct"' in html
        assert re.search(r'class="cell level-2"><a href="/studies/\?condition=fibromyalgia', html)
        latest = html.split('id="h-latest"')[1]
        assert latest.index("Recruiting trial") < latest.index("LDN for fibromyalgia")


class StudyListTests(CatalogData):
    def test_lists_rows_with_design_badge_conditions_and_verdict(self):
        response = self.client.get("/studies/?condition=fibromyalgia")
        html = response.content.decode()
        assert response.status_code == 200
        assert '<h1 id="list-heading"><bdi>Fibromyalgia · 3 studies</bdi></h1>' in html
        assert "<title>\u2068Fibromyalgia · 3 studies\u2069 — LDN Evidence Catalog</title>" in html
        assert 'class="badge level-2"' in html
        assert "n = 31" in html
        # low certainty: drawn pale, by the one rule (templatetags/catalog.py verdict_mark)
        assert (
            '<span class="verdict-mark verdict-benefit strength-pale">Benefit</span> '
            '<span class="certainty">low certainty</span>'
        ) in html
        assert "Crohn review" not in html

    def test_non_canonical_query_redirects_to_the_canonical_one(self):
        cases = {
            "?sort=newest": "/studies/",
            "?q=&year_min=&condition=fibromyalgia": "/studies/?condition=fibromyalgia",
            "?design=rct&condition=fibromyalgia&condition=crohns-disease": (
                "/studies/?condition=crohns-disease&condition=fibromyalgia&design=rct"
            ),
            "?condition=fibromyalgia&condition=fibromyalgia": "/studies/?condition=fibromyalgia",
            "?page=1": "/studies/",
            "?year_min=2020&year_min=2010": "/studies/?year_min=2010",
            "?utm_source=x": "/studies/",
        }
        for query, target in cases.items():
            response = self.client.get("/studies/" + query)
            assert response.status_code == 301, query
            assert response["Location"] == target, query
            assert self.client.get(target).status_code == 200

    def test_bad_values_are_named_and_the_rest_is_shown(self):
        response = self.client.get("/studies/?condition=fibromyalgia&condition=nope&year_min=abc")
        html = response.content.decode()
        assert response.status_code == 200
        assert "Condition: “nope” is not in the catalog" in html
        assert "Year from: “abc” was not understood" in html
        assert "Fibromyalgia · 3 studies" in html
        assert 'href="/studies/?condition=fibromyalgia">Link to what is shown' in html

    def test_facets_count_without_their_own_selection(self):
        response = self.client.get("/studies/?condition=fibromyalgia&design=crossover_rct")
        facets = {
            name: {o.value: o for o in opts} for name, opts in response.context["facets"].items()
        }
        # Condition counts ignore the condition selection but keep design=crossover_rct.
        assert facets["condition"]["fibromyalgia"].count == 1
        assert facets["condition"]["fibromyalgia"].selected
        assert facets["condition"]["crohns-disease"].count == 0
        # Design counts ignore the design selection but keep condition=fibromyalgia.
        assert facets["design"]["crossover_rct"].count == 1
        assert facets["design"]["case_series"].count == 1
        assert facets["design"]["registered_trial"].count == 1
        assert facets["design"]["meta_analysis"].count == 0
        assert facets["level"]["2"].count == 1
        assert facets["status"]["published"].count == 1
        assert facets["decade"]["2010"].count == 1
        assert facets["decade"]["2000"].count == 0  # the case series is not a crossover trial

    def test_options_with_no_studies_are_greyed_not_hidden(self):
        html = self.client.get("/studies/?condition=crohns-disease").content.decode()
        assert re.search(
            r'<li class="facet-empty">\s*<input type="checkbox" name="condition" '
            r'value="unstudied"',
            html,
        )

    def test_pagination_links_keep_the_filter(self):
        for n in range(views.PAGE_SIZE):
            make_study([self.fibro], title=f"Extra {n}", year=2000)
        html = self.client.get("/studies/?condition=fibromyalgia").content.decode()
        assert 'href="?condition=fibromyalgia&amp;page=2" rel="next"' in html
        response = self.client.get("/studies/?condition=fibromyalgia&page=2")
        assert response.status_code == 200
        assert response.context["page"].number == 2

    def test_a_page_past_the_last_shows_the_last_under_its_own_address(self):
        for n in range(views.PAGE_SIZE):
            make_study([self.fibro], title=f"Extra {n}", year=2000)
        response = self.client.get("/studies/?condition=fibromyalgia&page=99")
        assert response.status_code == 200
        assert response.context["page"].number == 2
        html = response.content.decode()
        canonical = escape(absolute_url("/studies/?condition=fibromyalgia&page=2"))
        assert f'<link rel="canonical" href="{canonical}">' in html
        assert "page=99" not in html

    def test_export_links_carry_the_canonical_filter(self):
        html = self.client.get("/studies/?condition=fibromyalgia&year_min=abc").content.decode()
        assert 'href="/studies.csv?condition=fibromyalgia"' in html


BAD_QUERIES = [
    "condition=no-such-condition",
    "design=nope",
    "year_min=abc",
    "year_max=-5",
    "year_min=99999999999999999999999999",
    "min_n=1e999",
    "min_n=-1",
    "level=99",
    "level=abc",
    "status=dead",
    "has_results=maybe",
    "sort=random",
    "page=abc",
    "page=%C2%B2",
    "page=0",
    "page=99999999999999999999",
    "q=%00",
    "condition=%00",
    "q=" + "x" * 5000,
    "q=%27%22%3B--%20DROP%20TABLE",
    "q=%E2%80%8F%F0%9F%92%8A",
    "year_min=%00&year_min=2010&year_min=",
    "condition=fibromyalgia&condition=fibromyalgia&condition=%FF",
    "q=a:*%20%26%20!b%20|%20(",
]


class BadParameterTests(CatalogData):
    def test_bad_parameters_never_give_a_server_error(self):
        for query in BAD_QUERIES:
            for path in ("/studies/", "/studies.csv", "/studies.json", "/studies.atom"):
                response = self.client.get(f"{path}?{query}", follow=True)
                assert response.status_code in (200, 400), (path, query)
                if path == "/studies/":
                    assert response.status_code == 200, query

    def test_bad_export_parameters_are_explained(self):
        response = self.client.get("/studies.csv?year_min=abc")
        assert response.status_code == 400
        assert "Year from: “abc”" in response.content.decode()

    def test_missing_pages_are_404(self):
        for path in (
            "/studies/no-such-study/",
            "/studies/no-such-study.bib",
            "/conditions/nope/",
            "/sources/nope/",
        ):
            assert self.client.get(path).status_code == 404, path

    def test_post_is_not_allowed(self):
        assert self.client.post("/studies/").status_code == 405


class StudyDetailTests(CatalogData):
    def test_study_page_shows_everything(self):
        user = get_user_model().objects.create_user("curator", first_name="Ada", last_name="C")
        self.trial.reviewed_at = datetime(2026, 3, 1, tzinfo=UTC)
        self.trial.reviewed_by = user
        self.trial.save()
        response = self.client.get(self.trial.get_absolute_url())
        html = response.content.decode()
        assert response.status_code == 200
        for text in (
            'href="https://doi.org/10.1002/art.37734"',
            'href="https://pubmed.ncbi.nlm.nih.gov/23359310/"',
            'href="https://pmc.ncbi.nlm.nih.gov/articles/PMC3582327/"',
            "Women with fibromyalgia",
            "4.5 mg nightly",
            "12 weeks",
            "Placebo",
            "Vivid dreams",
            "28.8% vs 18.0% (P = 0.016)",
            "LDN reduced pain by 28.8%.",
            "Misattributed</span>: this claim attributes",
            "LDN cures fibromyalgia.",
            "evidence level 2 of 7",
            "Last reviewed 1 March 2026 by Ada C.",
            "@article{" + self.trial.slug,
            "Younger J, Noor N. LDN for fibromyalgia: a crossover trial. Arthritis Rheum. "
            "2013;65(2):529-38. doi:10.1002/art.37734",
        ):
            assert text in html, text
        # Related studies share a condition.
        assert "Case series" in html and "Crohn review" not in html

    def test_highwire_citation_meta_tags(self):
        html = self.client.get(self.trial.get_absolute_url()).content.decode()
        meta = {}
        for attrs in Tags(html).all("meta"):
            if attrs.get("name", "").startswith("citation_"):
                meta.setdefault(attrs["name"], []).append(attrs["content"])
        assert meta == {
            "citation_title": ["LDN for fibromyalgia: a crossover trial"],
            "citation_author": ["Younger J", "Noor N"],
            "citation_publication_date": ["2013"],
            "citation_journal_title": ["Arthritis Rheum"],
            "citation_volume": ["65"],
            "citation_issue": ["2"],
            "citation_firstpage": ["529"],
            "citation_lastpage": ["38"],
            "citation_doi": ["10.1002/art.37734"],
            "citation_pmid": ["23359310"],
        }

    def test_registry_link_and_descriptive_title(self):
        study = make_study(
            [self.fibro],
            title="An unnamed case of LDN use",
            descriptive_title=True,
            registry_id="NCT04604704".replace("4604704", "1234567"),
        )
        html = self.client.get(study.get_absolute_url()).content.decode()
        assert '<em class="descriptive"><bdi>An unnamed case of LDN use</bdi></em>' in html
        assert "the title is not given by the sources" in html
        assert 'href="https://clinicaltrials.gov/study/NCT01234567"' in html

    def test_single_study_bibtex(self):
        response = self.client.get(reverse("studies:study_bibtex", args=[self.trial.slug]))
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="{self.trial.slug}.bib"'
        library = bibtexparser.parse_string(response.content.decode())
        assert [e.key for e in library.entries] == [self.trial.slug]
        assert library.entries[0]["doi"] == "10.1002/art.37734"


class ConditionAndSourceTests(CatalogData):
    def test_condition_index_has_counts_and_best_level(self):
        html = self.client.get("/conditions/").content.decode()
        row = re.search(r"Fibromyalgia</bdi></a></th>(.*?)</tr>", html, re.S).group(1)
        assert '<a href="/studies/?condition=fibromyalgia">3</a>' in row
        assert "Level 2 · Randomised trial" in row
        assert "Unstudied condition" in html

    def test_condition_page_answers_the_clinical_question(self):
        response = self.client.get(self.fibro.get_absolute_url())
        html = response.content.decode()
        assert {level.value: n for level, n in response.context["pyramid"]} == {
            1: 0,
            2: 1,
            3: 0,
            4: 1,
            5: 0,
            6: 0,
            7: 1,
        }
        assert (
            '<span class="verdict-mark verdict-benefit strength-pale">Benefit</span> '
            '<span class="certainty">low certainty</span>'
        ) in html
        assert "Recruiting trial" in html.split('id="h-ongoing"')[1]
        assert "Vivid dreams" in html
        assert 'href="/studies/?condition=fibromyalgia"' in html

    def test_condition_page_shows_the_first_rows_of_each_section_and_links_the_rest(self):
        size = views.SECTION_SIZE
        for n in range(size + 2):
            study = make_study(
                [self.fibro],
                title=f"Trial {n:02}",
                year=2000 + n,
                design="rct",
                status="ongoing",
                adverse_events=f"Headache in {n}",
            )
            make_effect_summary(study, self.fibro, rationale=f"Rationale {n:02}")
        response = self.client.get(self.fibro.get_absolute_url())
        html = response.content.decode()
        for section in ("findings", "ongoing", "harms"):
            rows, total = response.context[section]["rows"], response.context[section]["total"]
            assert len(rows) == size < size + 2 <= total, section
            assert f"The first {size} of {total}; the rest are in" in html, section
        findings, rest = html.split('id="h-findings"')[1].split('id="h-strongest"')
        assert findings.count('<li class="verdict') == size
        assert rest.split('id="h-harms"')[1].count("<li>") == size
        assert 'href="/studies/?condition=fibromyalgia&amp;sort=level"' in html
        assert self.client.get("/studies/?condition=fibromyalgia&sort=level").status_code == 200

    def test_source_page_tallies_verdicts(self):
        make_claim(self.series, self.source, quote="Another claim", verdict="supported")
        make_claim(self.review, self.source, quote="Unclear", verdict="unverifiable")
        html = self.client.get("/sources/clinic-guide/").content.decode()
        assert "3 claims: 1 supported, 1 misattributed, 1 unverifiable." in html
        assert "LDN cures fibromyalgia." in html


class SecurityTests(CatalogData):
    PAGES = [
        "/",
        "/studies/",
        "/conditions/",
        "/conditions/fibromyalgia/",
        "/sources/clinic-guide/",
    ]

    def test_pages_carry_csp_and_no_inline_script_or_style(self):
        for path in [*self.PAGES, self.trial.get_absolute_url()]:
            response = self.client.get(path)
            assert "script-src 'self'" in response["Content-Security-Policy"], path
            assert "unsafe-inline" not in response["Content-Security-Policy"]
            tags = Tags(response.content.decode())
            scripts = tags.all("script")
            assert scripts and all(s.get("src") for s in scripts), path
            assert not tags.all("style"), path
            assert not any("style" in attrs for _, attrs in tags.tags), path
            assert not any(k.startswith("on") for _, attrs in tags.tags for k in attrs), path
            html = response.content.decode()
            assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None, path

    def test_hostile_text_is_escaped(self):
        hostile = make_study(
            [self.fibro],
            title='<script>alert("x")</script><img src=x onerror=alert(1)>',
            url="javascript:alert(1)",
            authors=['"><script>alert(2)</script>'],
        )
        evil_source = make_source(title="<b>bold</b>", slug="evil", url="javascript:alert(3)")
        make_mention(hostile, evil_source, quote="<script>alert(4)</script>")
        for path in [
            hostile.get_absolute_url(),
            "/studies/",
            "/",
            "/conditions/fibromyalgia/",
            "/sources/evil/",
        ]:
            html = self.client.get(path, follow=True).content.decode()
            assert "<script>alert" not in html, path
            assert "<img src=x" not in html, path
            hrefs = [attrs.get("href", "") for _, attrs in Tags(html).tags]
            assert not any(href.lower().startswith("javascript") for href in hrefs), path
            assert "<b>bold</b>" not in html, path
        html = self.client.get(hostile.get_absolute_url()).content.decode()
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def _list_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/studies/?condition=c-0&sort=level")
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_list_query_count_does_not_depend_on_rows(client, settings, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 100)
    conditions = [make_condition(slug=f"c-{i}") for i in range(3)]

    def add(n):
        for i in range(n):
            study = make_study(conditions[: 1 + i % 3], year=2000 + i % 20, sample_size=i)
            make_effect_summary(study, conditions[0])
            make_outcome(study)

    add(10)
    with_10 = _list_queries(client)
    add(90)
    with_100 = _list_queries(client)
    assert with_10 == with_100
    assert with_100 <= 12


@pytest.mark.django_db
def test_other_pages_query_count_does_not_depend_on_rows(client):
    condition = make_condition(slug="c")
    source = make_source(slug="s")
    counts = []
    for _ in range(2):
        for _ in range(10):
            study = make_study([condition])
            make_effect_summary(study, condition)
            make_mention(study, source)
            make_claim(study, source)
        page_counts = []
        for path in ("/", "/conditions/", "/conditions/c/", "/sources/s/", "/studies.json"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
                if response.streaming:
                    b"".join(response.streaming_content)
            page_counts.append(len(queries))
        counts.append(page_counts)
    assert counts[0] == counts[1]


class RandomParameterTests(hypothesis.extra.django.TestCase):
    @classmethod
    def setUpTestData(cls):
        make_study([make_condition(slug="fibromyalgia")], year=2010)

    @hypothesis.settings(max_examples=30, deadline=None)
    @hypothesis.given(
        st.lists(
            st.tuples(
                st.sampled_from([*StudyFilter.base_filters, "page", "other"]),
                st.text(max_size=30),
            ),
            max_size=6,
        )
    )
    def test_any_query_string_gives_a_page_or_a_redirect(self, params):
        query = urlencode(params)
        response = self.client.get(f"/studies/?{query}")
        assert response.status_code in (200, 301), query
        if response.status_code == 301:
            assert self.client.get(response["Location"]).status_code == 200, query
        export = self.client.get(f"/studies.json?{query}")
        assert export.status_code in (200, 400), query
