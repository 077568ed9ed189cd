"""The curators' pages in a real browser: no critical or serious axe-core finding on any
page a curator uses, and a study's change form short enough to work in."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from tests.factories import (
    make_claim,
    make_condition,
    make_effect_summary,
    make_mention,
    make_outcome,
    make_source,
    make_study,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BLOCKING = ("critical", "serious")


@pytest.fixture
def study():
    fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
    crohn = make_condition(name="Crohn's disease", slug="crohns-disease")
    source = make_source(title="A clinic's guide", slug="clinic-guide")
    study = make_study(
        [fibro, crohn],
        title="Low-dose naltrexone for fibromyalgia",
        year=2013,
        authors=["Younger, Jarred", "Noor, Noorulain"],
        summary="Pain fell by 28.8% on LDN against 18.0% on placebo.",
        sample_size=31,
    )
    make_outcome(study, name="Pain", figures="28.8% vs 18.0%", source=source, condition=fibro)
    make_outcome(study, name="Fatigue", figures="no difference")
    make_effect_summary(study, fibro)
    make_mention(study, source, quote="In a 2013 trial, pain fell by 28.8% on LDN.")
    make_claim(study, source, quote="LDN cures fibromyalgia.", verdict="misattributed")
    return study


def blocking_findings(page):
    # The autocomplete boxes are named by studies/admin-names.js once select2 built them.
    page.wait_for_function(
        "[...document.querySelectorAll('.select2-selection')]"
        ".every(box => box.hasAttribute('aria-label'))"
    )
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def curator_urls(study):
    return [
        reverse("admin:index"),
        reverse("admin:studies_study_changelist"),
        reverse("admin:studies_study_change", args=[study.pk]),
        reverse("admin:studies_study_add"),
        reverse("admin:studies_study_history", args=[study.pk]),
        reverse("admin:studies_study_import"),
        reverse("admin:studies_condition_changelist"),
        reverse("admin:studies_condition_change", args=[study.conditions.first().pk]),
        reverse("admin:studies_source_change", args=[study.mentions.get().source.pk]),
    ]


def test_no_critical_or_serious_accessibility_finding(live_server, curator_page, study):
    findings = {}
    for url in curator_urls(study):
        curator_page.goto(live_server.url + url)
        found = blocking_findings(curator_page)
        if found:
            findings[url] = found
    assert findings == {}


def test_the_study_form_keeps_the_common_edits_in_view(live_server, curator_page, study):
    curator_page.goto(live_server.url + reverse("admin:studies_study_change", args=[study.pk]))
    height = curator_page.evaluate("document.documentElement.scrollHeight")
    print(f"study change page: {height} px high at 1280x800")
    assert height < 4_000
    # The common edits are open; the rest is a click away, in a <details> section.
    assert curator_page.get_by_label("Title:").is_visible()
    assert curator_page.get_by_label("Curator's summary:").is_visible()
    closed = curator_page.locator("details:not([open]) > summary")
    assert closed.count() >= 2
    identifiers = curator_page.get_by_label("DOI:")
    assert not identifiers.is_visible()
    curator_page.locator("summary", has_text="Identifiers").click()
    assert identifiers.is_visible()
    assert not [m for m in curator_page.console_messages if "Content Security Policy" in m]
