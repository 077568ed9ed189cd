"""The condition page's synthesis: bottom line, plots, pooled estimates and its JSON."""

import json
import math
import re
from datetime import date
from decimal import Decimal
from unittest import mock

from django.test import TestCase

from studies import plots, synthesis
from studies.models import BottomLine
from studies.stats import pool

from .factories import make_condition, make_effect_summary, make_outcome, make_study

JSON_KEYS = {"condition", "bottom_line", "estimates", "pooled", "directions"}
ESTIMATE_KEYS = {
    "study",
    "outcome",
    "domain",
    "measure",
    "value",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
}
POOLED_KEYS = {"domain", "measure", "k", "value", "ci_low", "ci_high", "i2", "tau2", "method"}


def add_estimates(condition, count, measure="SMD", domain="pain"):
    """``count`` trials of ``condition`` with one estimate each, spread around 0.3."""
    studies = []
    for n in range(count):
        study = make_study([condition], title=f"Trial {n:02} of {condition.name}", year=2000 + n)
        study.sample_size = 20 + 10 * n
        study.save()
        value = Decimal("0.30") + Decimal(n % 5) / 10
        if measure in ("HR", "RR", "OR"):
            value = Decimal("1.5") + Decimal(n % 5) / 10
        make_outcome(
            study,
            name="Pain (VAS)",
            domain=domain,
            effect_measure=measure,
            value=value,
            ci_low=value - Decimal("0.25"),
            ci_high=value + Decimal("0.40"),
            p_value=Decimal("0.04"),
        )
        studies.append(study)
    return studies


def svgs(html):
    return re.findall(r"<svg\b.*?</svg>", html, re.S)


class ConditionSynthesisTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
        cls.review_a = make_study(
            [cls.fibro], title="Review A", year=2023, design="systematic_review"
        )
        cls.review_b = make_study(
            [cls.fibro], title="Review B", year=2023, design="systematic_review"
        )
        make_effect_summary(cls.review_a, cls.fibro, verdict="insufficient", certainty="low")
        make_effect_summary(cls.review_b, cls.fibro, verdict="benefit", certainty="moderate")
        cls.trials = add_estimates(cls.fibro, 2)
        make_effect_summary(cls.trials[0], cls.fibro, verdict="benefit", certainty="very_low")
        make_outcome(cls.trials[0], name="Fatigue", domain="fatigue", direction="no_difference")
        make_outcome(cls.trials[0], name="Fatigue again", domain="fatigue", direction="improved")
        cls.cohort = make_study(
            [cls.fibro], title="Long COVID cohort", year=2024, design="cohort", sample_size=52
        )
        make_outcome(
            cls.cohort,
            name="Improvement",
            domain="symptoms",
            effect_measure="HR",
            value=Decimal("5.04"),
            ci_low=Decimal("1.22"),
            ci_high=Decimal("20.77"),
            p_value=Decimal("0.02"),
        )
        cls.line = BottomLine.objects.create(
            condition=cls.fibro,
            text="Two reviews disagree; small trials suggest some benefit.",
            certainty="low",
            reviewed=date(2026, 11, 1),
        )
        cls.line.studies.set([cls.review_a, cls.review_b])
        cls.bare = make_condition(name="Rare condition", slug="rare")

    def test_json_has_exactly_the_issue_keys_and_the_page_numbers(self):
        response = self.client.get("/conditions/fibromyalgia.json")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        data = response.json()
        assert set(data) == JSON_KEYS
        assert data["condition"] == {"slug": "fibromyalgia", "name": "Fibromyalgia"}
        assert data["bottom_line"] == {
            "text": "Two reviews disagree; small trials suggest some benefit.",
            "certainty": "low",
            "reviewed": "2026-11-01",
            "studies": [self.review_a.slug, self.review_b.slug],
        }
        assert all(set(e) == ESTIMATE_KEYS for e in data["estimates"])
        hr = next(e for e in data["estimates"] if e["measure"] == "HR")
        assert hr == {
            "study": self.cohort.slug,
            "outcome": "Improvement",
            "domain": "symptoms",
            "measure": "HR",
            "value": 5.04,
            "ci_low": 1.22,
            "ci_high": 20.77,
            "p_value": 0.02,
            "n": 52,
        }
        assert len(data["estimates"]) == 3
        [pooled] = data["pooled"]
        assert set(pooled) == POOLED_KEYS
        assert (pooled["domain"], pooled["measure"], pooled["k"]) == ("pain", "SMD", 2)
        assert pooled["method"] == "DerSimonian-Laird"
        expected = pool("pain", "SMD", synthesis.for_condition(self.fibro).groups[0].estimates)
        assert pooled["value"] == expected.value
        assert pooled["tau2"] == expected.tau2 and pooled["i2"] == expected.i2
        page = self.client.get("/conditions/fibromyalgia/").content.decode()
        assert (
            f"{expected.value:.2f} (95% CI {expected.ci_low:.2f} to {expected.ci_high:.2f})" in page
        )
        assert "<td>5.04</td><td>1.22 to 20.77</td><td>0.02</td><td>52</td>" in page

    def test_pooled_ratios_are_on_the_ratio_scale(self):
        condition = make_condition(name="Ratios", slug="ratios")
        add_estimates(condition, 3, measure="RR", domain="adverse_events")
        [pooled] = self.client.get("/conditions/ratios.json").json()["pooled"]
        assert pooled["measure"] == "RR"
        assert 1.5 <= pooled["value"] <= 1.7  # the ratios, not their logarithms (~0.4–0.5)
        assert pooled["ci_low"] < pooled["value"] < pooled["ci_high"]

    def test_directions_are_per_study_and_domain_with_certainty(self):
        data = self.client.get("/conditions/fibromyalgia.json").json()
        cells = {(d["study"], d["domain"]): d for d in data["directions"]}
        fatigue = cells[(self.trials[0].slug, "fatigue")]
        assert fatigue == {
            "study": self.trials[0].slug,
            "domain": "fatigue",
            "direction": "mixed",  # one outcome improved, one did not differ
            "n": 20,
            "certainty": "very_low",
        }
        assert cells[(self.trials[1].slug, "pain")]["certainty"] is None

    def test_page_shows_the_bottom_line_and_the_disagreeing_verdicts_side_by_side(self):
        html = self.client.get("/conditions/fibromyalgia/").content.decode()
        bottom = html.split('id="h-bottom-line"')[1].split('id="h-effects"')[0]
        assert "Two reviews disagree; small trials suggest some benefit." in bottom
        assert '<time datetime="2026-11-01">1 November 2026</time>' in bottom
        assert 'class="certainty-mark strength-pale">Low certainty' in bottom
        assert "The studies' own verdicts disagree." in bottom
        side = bottom.split('class="side-by-side"')[1]
        assert "Review A" in side and "Review B" in side
        assert "verdict-insufficient strength-pale" in side
        assert "verdict-benefit strength-solid" in side

    def test_no_bottom_line_yet_is_said_plainly(self):
        html = self.client.get("/conditions/rare/").content.decode()
        assert "No bottom line yet" in html
        assert "verdicts disagree" not in html
        assert self.client.get("/conditions/rare.json").json()["bottom_line"] is None

    def test_outcomes_of_one_study_are_not_pooled(self):
        # Two pain scales of one trial are not two studies: no diamond, no I² or τ² of a
        # "between-study" spread, and the caption says why.
        condition = make_condition(name="One trial", slug="one-trial")
        trial = make_study([condition], title="The only trial", year=2020)
        for name, value in (("Pain (VAS)", "0.5"), ("Pain (BPI)", "0.4")):
            value = Decimal(value)
            make_outcome(
                trial,
                name=name,
                domain="pain",
                effect_measure="SMD",
                value=value,
                ci_low=value - Decimal("0.4"),
                ci_high=value + Decimal("0.4"),
            )
        data = self.client.get("/conditions/one-trial.json").json()
        assert len(data["estimates"]) == 2 and data["pooled"] == []
        html = self.client.get("/conditions/one-trial/").content.decode()
        assert '<polygon class="diamond"' not in html
        assert "No diamond: the estimates are all from one study: nothing to pool." in html

    def test_no_nan_or_infinity_where_the_pool_cannot_be_computed(self):
        condition = make_condition(name="Extremes", slug="extremes")
        for value, low, high in (("10000", "10000", "10000.0001"), ("2", "1", "4")):
            make_outcome(
                make_study([condition], year=2020),
                domain="pain",
                effect_measure="HR",
                value=Decimal(value),
                ci_low=Decimal(low),
                ci_high=Decimal(high),
            )

        def refuse(constant):
            raise AssertionError(f"{constant} in the JSON")

        response = self.client.get("/conditions/extremes.json")
        data = json.loads(response.content, parse_constant=refuse)
        assert len(data["estimates"]) == 2 and data["pooled"] == []
        html = self.client.get("/conditions/extremes/").content.decode()
        assert not re.search(r"\bnan\b|\binf\b", html, re.I)
        assert '<polygon class="diamond"' not in html
        assert "No diamond: the widths of the intervals are too far apart" in html

    def test_a_pooled_ratio_is_never_shown_as_zero(self):
        # A pooled HR whose lower bound is 0.0004 was printed "0.00" (two decimals): a
        # hazard ratio of zero, which no estimate or pool can be.
        condition = make_condition(name="Small ratios", slug="small-ratios")
        for value, low, high in (("0.01", "0.0001", "1"), ("0.02", "0.0002", "2")):
            make_outcome(
                make_study([condition], year=2020),
                domain="adverse_events",
                effect_measure="HR",
                value=Decimal(value),
                ci_low=Decimal(low),
                ci_high=Decimal(high),
            )
        [pooled] = self.client.get("/conditions/small-ratios.json").json()["pooled"]
        assert pooled["ci_low"] < 0.005
        html = self.client.get("/conditions/small-ratios/").content.decode()
        low = f"{pooled['ci_low']:.2g}"
        shown = f"{pooled['value']:.2f} (95% CI {low} to {pooled['ci_high']:.2f})"
        assert html.count(shown) == 2  # the plot's description and its caption
        assert f"<td>{low} to {pooled['ci_high']:.2f}</td>" in html  # the table's pooled row
        assert not re.search(r"\b0\.00\b", html), re.search(r".{80}\b0\.00\b.{40}", html)

    def test_unknown_condition_json_is_404(self):
        assert self.client.get("/conditions/nothing-here.json").status_code == 404

    def test_a_single_estimate_has_no_diamond_and_says_why(self):
        html = self.client.get("/conditions/fibromyalgia/").content.decode()
        figures = html.split('<figure class="plot forest-plot">')[1:]
        symptoms = next(f for f in figures if "Symptoms · Hazard ratio" in f)
        assert "<polygon" not in symptoms
        assert "No diamond: a single estimate: nothing to pool." in symptoms
        assert "(log scale)" in symptoms
        pain = next(f for f in figures if "Pain · Standardised mean difference" in f)
        assert '<polygon class="diamond"' in pain


class PlotRenderingTests(TestCase):
    """The plots render, accessibly, for 0, 1, 2 and 30 estimates."""

    def render(self, count, measure="SMD"):
        condition = make_condition()
        add_estimates(condition, count, measure=measure)
        response = self.client.get(condition.get_absolute_url())
        assert response.status_code == 200
        return response.content.decode(), response.context

    def test_no_estimate(self):
        html, context = self.render(0)
        assert svgs(html) == []
        assert "nothing to draw or pool" in html
        assert "has a recorded direction of effect yet" in html

    def test_one_two_and_thirty_estimates(self):
        for count in (1, 2, 30):
            html, context = self.render(count, measure="OR" if count == 2 else "SMD")
            drawn = svgs(html)
            assert len(drawn) == 2, count  # the harvest plot and one forest plot
            for svg in drawn:
                assert 'role="img"' in svg
                assert re.search(r"<title id=\"[^\"]+\">[^<]+</title>", svg)
                assert re.search(r"<desc id=\"[^\"]+\">[^<]+</desc>", svg)
                assert "style=" not in svg and "<script" not in svg
            forest = drawn[1]
            assert forest.count('<rect class="point"') == count
            assert forest.count('<polygon class="diamond"') == (1 if count >= 2 else 0)
            # the data table beside it holds every estimate, and the pool's row
            table = html.split('<table class="plot-data">')[2].split("</table>")[0]
            assert table.count('<tr><th scope="row">') == count
            assert ('class="pooled-row"' in table) == (count >= 2)
            harvest = drawn[0]
            assert harvest.count('<path class="arrow') == count

    def test_the_data_table_names_each_estimate_and_links_its_study(self):
        condition = make_condition()
        study = add_estimates(condition, 1)[0]
        study.title = 'Pain <script>alert("x")</script> & LDN'
        study.save()
        html = self.client.get(condition.get_absolute_url()).content.decode()
        table = html.split('<table class="plot-data">')[2].split("</table>")[0]
        row = re.search(r'<tr><th scope="row">.*?</tr>', table).group(0)
        assert f'<a href="/studies/{study.slug}/">' in row
        assert "Pain &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; LDN" in row
        assert "<td>Pain (VAS)</td><td>0.3</td><td>0.05 to 0.7</td><td>0.04</td>" in row
        assert "<script>" not in html.split('<svg class="forest"')[1].split("</svg>")[0]

    def test_ratio_axes_are_logarithmic(self):
        html, context = self.render(2, measure="OR")
        group, layout = context["forests"][0]
        ticks = {tick.label: tick.x for tick in layout["ticks"]}
        assert {"1", "2"} <= set(ticks)
        # equal ratios take equal distances: 1→2 as long as 0.5→1 would be
        axis = plots.Axis("OR", [0.5, 2.0])
        assert math.isclose(axis.x(2) - axis.x(1), axis.x(1) - axis.x(0.5))
        assert layout["null_x"] == ticks["1"]


class LongPlotTests(TestCase):
    def test_a_long_plot_draws_its_first_rows_pools_all_and_says_so(self):
        condition = make_condition(slug="many")
        add_estimates(condition, 8)
        with mock.patch.object(synthesis, "SHOWN", 5):
            response = self.client.get(condition.get_absolute_url())
            data = self.client.get("/conditions/many.json").json()
        # the JSON holds the page's numbers: the rows shown, the pool over all
        assert len(data["estimates"]) == 5 and data["pooled"][0]["k"] == 8
        html = response.content.decode()
        forest = svgs(html)[1]
        assert forest.count('<rect class="point"') == 5
        assert "The plot and the table show the first 5 of 8 estimates" in html
        assert "The plot and the table show the first 5 of 8 studies" in html
        group, layout = response.context["forests"][0]
        assert group.pooled.k == group.k == 8
        assert pool("pain", "SMD", group.estimates).k == 5  # the pool is over all 8
        assert group.pooled.value != pool("pain", "SMD", group.estimates).value
