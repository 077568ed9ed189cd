"""Hostile query strings at every public URL: never a 5xx, always the right content type.

Every public route is exercised against a catalog holding a study, a condition and a
source: the pages, the four downloads and the feed. The number of generated requests is
printed at the end of the module. FUZZ_EXAMPLES sets the examples per route: 10 by default,
60 in CI (.ci/run).
"""

import os
from collections import Counter
from urllib.parse import quote, urlencode

import pytest
from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from tests.factories import make_condition, make_mention, make_source, make_study

pytestmark = pytest.mark.slow

# The content type of a successful answer, by path (charset aside): what the views send.
HTML = "text/html"
EXPECTED_TYPES = {
    "/": HTML,
    "/studies/": HTML,
    "/conditions/": HTML,
    "/studies.bib": "application/x-bibtex",
    "/studies.ris": "application/x-research-info-systems",
    "/studies.csv": "text/csv",
    "/studies.json": "application/json",
    "/studies.atom": "application/atom+xml",
    "study": HTML,
    "study.bib": "application/x-bibtex",
    "condition": HTML,
    "source": HTML,
}

# Parameter names the list and export views read, and some they do not.
KEYS = [
    "q",
    "page",
    "per_page",
    "sort",
    "order",
    "year",
    "year_min",
    "year_max",
    "design",
    "level",
    "status",
    "condition",
    "category",
    "dose_min",
    "dose_max",
    "sample_size_min",
    "has_results",
    "format",
    "verdict",
    "source",
]

hostile_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\u202egnp.exe",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "%00",
            "../../etc/passwd",
            '=HYPERLINK("http://x")',
            "\\href{javascript:alert(1)}{x}",
            "😀" * 100,
            "NaN",
            "inf",
            "-inf",
            "1e309",
            "0x10",
            "",
        ]
    ),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=20).map(lambda t: t * 500),  # long values
)
pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(KEYS), st.text(max_size=20)), hostile_text),
    max_size=12,
)
# Query strings a browser would never send: bad escapes, bare separators, invalid UTF-8.
raw_query = st.text(alphabet="%&=;+#?abcXZ019fFeE\u00e9", max_size=80)
query_strings = st.one_of(
    pairs.map(lambda items: urlencode(items, quote_via=quote)),
    pairs.map(lambda items: urlencode([(k, v) for k, v in items for _ in range(3)])),
    raw_query,
)

generated = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_generated(request):
    yield
    line = f"test_fuzz: {generated.total()} generated requests ({dict(sorted(generated.items()))})"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")


fuzz = hypothesis_settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 10)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@override_settings(RATELIMIT_ENABLE=False)
class QueryStringFuzzTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.condition = make_condition(name="Fibromyalgia")
        cls.source = make_source(title="A blog")
        cls.study = make_study(conditions=[cls.condition], year=2013, doi="10.1002/art.37734")
        make_mention(cls.study, cls.source)
        make_study(design="registered_trial", registry_id="NCT01234567")

    def path_for(self, name):
        objects = {"study": self.study, "condition": self.condition, "source": self.source}
        if name == "study.bib":
            return reverse("studies:study_bibtex", args=[self.study.slug])
        return objects[name].get_absolute_url() if name in objects else name

    def test_every_route_is_real(self):
        # A 404 would pass the fuzzing trivially: each route answers with its content.
        for name, content_type in EXPECTED_TYPES.items():
            response = self.client.get(self.path_for(name))
            assert response.status_code == 200, name
            assert response["Content-Type"].split(";")[0] == content_type, name

    def test_nul_bytes_in_every_parameter(self):
        # PostgreSQL refuses NUL in text: a search or filter holding one must not reach it.
        for name in EXPECTED_TYPES:
            for key in KEYS:
                for value in ["\x00", "a\x00b", "%00"]:
                    self.check(name, urlencode({key: value}))

    def check(self, name, query):
        path = self.path_for(name)
        response = self.client.get(f"{path}?{query}")
        generated[name] += 1
        assert response.status_code < 500, (path, query, response.status_code)
        if response.status_code == 200:
            content_type = response["Content-Type"].split(";")[0].strip()
            assert content_type == EXPECTED_TYPES[name], (path, query, content_type)
        if response.streaming:
            b"".join(response.streaming_content)  # errors while streaming count too

    @fuzz
    @given(query=query_strings)
    def test_home(self, query):
        self.check("/", query)

    @fuzz
    @given(query=query_strings)
    def test_study_list(self, query):
        self.check("/studies/", query)

    @fuzz
    @given(query=query_strings)
    def test_condition_list(self, query):
        self.check("/conditions/", query)

    @fuzz
    @given(query=query_strings)
    def test_bibtex_export(self, query):
        self.check("/studies.bib", query)

    @fuzz
    @given(query=query_strings)
    def test_ris_export(self, query):
        self.check("/studies.ris", query)

    @fuzz
    @given(query=query_strings)
    def test_csv_export(self, query):
        self.check("/studies.csv", query)

    @fuzz
    @given(query=query_strings)
    def test_json_export(self, query):
        self.check("/studies.json", query)

    @fuzz
    @given(query=query_strings)
    def test_atom_feed(self, query):
        self.check("/studies.atom", query)

    @fuzz
    @given(query=query_strings)
    def test_study_page(self, query):
        self.check("study", query)

    @fuzz
    @given(query=query_strings)
    def test_study_bibtex(self, query):
        self.check("study.bib", query)

    @fuzz
    @given(query=query_strings)
    def test_condition_page(self, query):
        self.check("condition", query)

    @fuzz
    @given(query=query_strings)
    def test_source_page(self, query):
        self.check("source", query)
