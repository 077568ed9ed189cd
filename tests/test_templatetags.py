from django.template import Context, Template
from django.test import SimpleTestCase

from studies.templatetags.catalog import bar_width, evidence_level, isolate, web_url
from studies.vocabulary import EvidenceLevel


class FilterTests(SimpleTestCase):
    def test_evidence_level_accepts_numbers_and_rejects_the_rest(self):
        assert evidence_level("2") is EvidenceLevel.RANDOMISED
        assert evidence_level(None) is None
        assert evidence_level("two") is None

    def test_bar_widths_come_in_five_percent_steps(self):
        assert bar_width(0, 10) == "bar-w-0"
        assert bar_width(10, 10) == "bar-w-100"
        assert bar_width(1, 1000) == "bar-w-5"  # never drawn as nothing
        assert bar_width(9, 20) == "bar-w-45"

    def test_web_url_drops_script_addresses(self):
        assert web_url("https://example.org/") == "https://example.org/"
        assert web_url("javascript:alert(1)") == ""
        assert web_url(None) == ""

    def test_isolate_wraps_text_in_directional_isolates(self):
        assert isolate("\u202eabc") == "\u2068\u202eabc\u2069"

    def test_level_badge_says_what_the_colour_means(self):
        html = Template("{% load catalog %}{% level_badge 1 %}").render(Context())
        assert 'class="badge level-1"' in html
        assert "Level 1 · Systematic review or meta-analysis" in html
        assert Template("{% load catalog %}{% level_badge 'x' %}").render(Context()) == ""
