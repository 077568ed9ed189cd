import csv
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.factories import (
    make_claim,
    make_condition,
    make_mention,
    make_outcome,
    make_source,
    make_study,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalog():
    fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
    crohn = make_condition(name="Crohn's disease", slug="crohns-disease")
    trial = make_study([fibro], title="Fibromyalgia RCT", year=2013, design="rct", sample_size=31)
    make_study([fibro], title="Fibromyalgia cohort", year=2015, design="cohort")
    make_study([fibro], title="Fibromyalgia case report", year=2009, design="case_report")
    make_study([crohn], title="Crohn RCT", year=2018, design="rct")
    source = make_source(title="A clinic's guide", slug="clinic-guide")
    make_mention(trial, source, quote="In a 2013 trial, pain fell by 28.8% on LDN.")
    make_claim(trial, source, quote="LDN cures fibromyalgia.", verdict="misattributed")
    return trial


def titles(page):
    return page.locator(".results .study-title").all_inner_texts()


def test_filter_by_condition_and_design_and_share_the_url(live_server, page, catalog, browser):
    page.goto(f"{live_server.url}/studies/")
    assert len(titles(page)) == 4
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    page.get_by_role("checkbox", name=re.compile(r"^Randomised controlled trial\b")).check()
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    page.wait_for_function("() => document.querySelector('h1').textContent.includes('1 study')")

    url = urlsplit(page.url)
    assert url.query == "condition=fibromyalgia&design=rct"
    assert page.locator("h1").inner_text() == "Fibromyalgia · randomised trials · 1 study"
    assert titles(page) == ["Fibromyalgia RCT"]
    assert page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).is_checked()

    # The address bar is the state: another reader opening it sees the same list.
    other = browser.new_context().new_page()
    other.goto(page.url)
    assert other.url == page.url
    assert titles(other) == titles(page)
    assert other.locator("h1").inner_text() == page.locator("h1").inner_text()
    other.context.close()


def test_export_downloads_and_parses(live_server, page, catalog):
    page.goto(f"{live_server.url}/studies/?condition=fibromyalgia")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename == "ldn-studies-fibromyalgia.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [row["title"] for row in rows] == titles(page)


def test_study_page_shows_its_quotes(live_server, page, catalog):
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("link", name="Fibromyalgia RCT").click()
    page.wait_for_url(f"**{catalog.get_absolute_url()}")
    quotes = page.locator("blockquote").all_inner_texts()
    assert "In a 2013 trial, pain fell by 28.8% on LDN." in quotes
    assert "LDN cures fibromyalgia." in quotes
    assert page.locator(".claim-misattributed .claim-verdict").inner_text() == "Misattributed"
    meta = page.locator('meta[name="citation_title"]').get_attribute("content")
    assert meta == "Fibromyalgia RCT"


def shows_a_scroll_shadow(box):
    shown = box.screenshot()
    box.evaluate("e => { e.style.background = 'none'; }")
    without = box.screenshot()
    box.evaluate("e => { e.style.background = ''; }")
    return shown != without


def test_on_a_phone_a_scroll_shadow_shows_only_while_a_table_scrolls_further(
    live_server, browser, catalog
):
    make_outcome(catalog, figures="Pain fell by 28.8% on LDN, from 6.1 to 4.3 on a 10-point scale.")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}{catalog.get_absolute_url()}")
    outcomes = page.locator(".table-scroll:has(table.outcomes)")
    assert outcomes.evaluate("e => e.scrollWidth <= e.clientWidth")  # stacked: it fits
    assert not shows_a_scroll_shadow(outcomes)
    page.goto(f"{live_server.url}/")
    evidence_map = page.locator(".table-scroll:has(table.map)")
    evidence_map.scroll_into_view_if_needed()
    assert shows_a_scroll_shadow(evidence_map)
    evidence_map.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    assert not shows_a_scroll_shadow(evidence_map)  # at its end
    context.close()


def test_pages_run_without_csp_violations_and_are_keyboard_usable(live_server, page, catalog):
    for path, skip in (
        ("/", "Skip to content"),
        ("/studies/?condition=fibromyalgia", "Skip to results"),
        (catalog.get_absolute_url(), "Skip to content"),
    ):
        page.goto(live_server.url + path)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == skip
    page.goto(f"{live_server.url}/studies/")
    # The progressive script ran (it reveals the copy button) under the page's CSP.
    assert page.locator("button.copy-link").is_visible()
    assert not [m for m in page.console_messages if "Content Security Policy" in m]


def test_paging_swaps_the_results_and_keeps_the_url_in_step(live_server, page, monkeypatch):
    from studies import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
    for year in range(2001, 2006):
        make_study([fibro], title=f"Study of {year}", year=year)
    page.goto(f"{live_server.url}/studies/?condition=fibromyalgia")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**/studies/?condition=fibromyalgia&page=2")
    assert titles(page) == ["Study of 2003", "Study of 2002"]
    assert page.evaluate("window.notReloaded") is True  # swapped in place, not reloaded
    assert page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).is_checked()
    page.go_back()  # back shows page 1 again, in place
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    page.wait_for_function(
        "() => document.querySelector('.study-title').textContent.includes('2005')"
    )
    assert titles(page) == ["Study of 2005", "Study of 2004"]
    assert page.evaluate("window.notReloaded") is True
