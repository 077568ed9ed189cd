"""The study list in a real browser (issue 11): filters apply as they change, chips,
history, the keyboard path to the first result, and the phone layout."""

import re

import pytest

from tests.factories import make_condition, make_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def studies():
    fibro = make_condition(name="Fibromyalgia", slug="fibromyalgia")
    crohn = make_condition(name="Crohn's disease", slug="crohns-disease")
    make_study([fibro], title="Fibromyalgia RCT", year=2013, design="rct")
    make_study([fibro], title="Fibromyalgia cohort", year=2015, design="cohort")
    make_study([crohn], title="Crohn RCT", year=2018, design="rct")
    make_study([crohn], title="Crohn case report", year=None, design="case_report")


# Holds each fetch the page makes until the test releases it, or fails it as a lost connection
# would: the responses arrive in the order the test chooses.
HOLD_FETCHES = """
window.heldFetches = [];
const fetchNow = window.fetch.bind(window);
window.fetch = (url, options) => new Promise((resolve, reject) => {
  window.heldFetches.push({
    release: () => fetchNow(url, options).then(resolve, reject),
    fail: () => reject(new TypeError("Failed to fetch")),
  });
});
"""


def titles(page):
    return page.locator(".results .study-title").all_inner_texts()


def heading_says(page, text):
    page.wait_for_function(
        "text => document.querySelector('h1').textContent.includes(text)", arg=text
    )


def test_ticking_a_filter_updates_results_counts_and_url_and_back_restores(
    live_server, page, studies
):
    page.goto(f"{live_server.url}/studies/")
    page.evaluate("window.notReloaded = true")
    assert len(titles(page)) == 4
    box = page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b"))
    box.check()  # no button pressed
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    assert sorted(titles(page)) == ["Fibromyalgia RCT", "Fibromyalgia cohort"]
    # Facet counts follow; focus stays on the box; the count is announced.
    cohort = page.locator("label[for='design-cohort'] .count")
    assert cohort.inner_text() == "1"
    assert page.evaluate("document.activeElement.id") == "condition-fibromyalgia"
    assert "2 studies" in page.locator("#live-count").inner_text()

    page.get_by_role("checkbox", name=re.compile(r"^Randomised controlled trial\b")).check()
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    heading_says(page, "1 study")
    page.go_back()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    assert not page.get_by_role("checkbox", name=re.compile(r"^Randomised")).is_checked()
    page.go_back()
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")
    assert not box.is_checked()
    assert page.evaluate("window.notReloaded") is True  # all in place, no reload


def test_an_update_gives_the_page_the_canonical_and_feed_addresses_of_its_list(
    live_server, page, studies
):
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    # What a phone's "Share" and a feed reader take from the page.
    canonical = page.locator("link[rel='canonical']").get_attribute("href")
    assert canonical.endswith("/studies/?condition=fibromyalgia")
    feed = page.locator("link[rel='alternate']").get_attribute("href")
    assert feed == "/studies.atom?condition=fibromyalgia"


def test_skip_to_results_fetches_nothing_and_leaves_the_focus_there(live_server, page, studies):
    page.add_init_script(HOLD_FETCHES)
    page.goto(f"{live_server.url}/studies/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/studies/#results")
    page.wait_for_function("() => document.activeElement.id === 'results'")
    assert page.evaluate("heldFetches.length") == 0  # the list shown is the one named


def test_back_to_the_skip_links_entry_restores_the_list(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Skip to results": an entry of its own in the history
    page.wait_for_url("**/studies/#results")
    box = page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b"))
    box.check()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    page.go_back()
    page.wait_for_url("**/studies/#results")
    heading_says(page, "4 studies")
    assert not box.is_checked()


def test_ticking_a_filter_updates_every_facets_counts(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/")
    unstated = page.locator("label[for='dose_band-not_stated'] .count")
    assert unstated.inner_text() == "4"
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    heading_says(page, "2 studies")
    assert unstated.inner_text() == "2"


def test_a_failed_update_overtaken_by_a_later_change_leaves_the_later_list(
    live_server, page, studies
):
    page.add_init_script(HOLD_FETCHES)
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    page.wait_for_function("() => heldFetches.length === 1")
    page.get_by_role("checkbox", name=re.compile(r"^Randomised controlled trial\b")).check()
    page.wait_for_function("() => heldFetches.length === 2")
    page.evaluate("heldFetches[1].release()")
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    heading_says(page, "1 study")
    # The first update's connection is lost after the second arrived: nothing to show.
    left_for = page.evaluate("""async () => {
        let leftFor = null;
        navigation.addEventListener("navigate", event => {
            leftFor = event.destination.url;
            event.preventDefault();
        });
        heldFetches[0].fail();
        await new Promise(resolve => setTimeout(resolve));
        return leftFor;
    }""")
    assert left_for is None
    assert page.url.endswith("/studies/?condition=fibromyalgia&design=rct")


def test_a_year_being_typed_when_an_update_arrives_is_kept(live_server, page, studies):
    page.add_init_script(HOLD_FETCHES)
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    page.wait_for_function("() => heldFetches.length === 1")
    year_min = page.locator("#id_year_min")
    year_min.click()
    page.keyboard.type("2014")
    page.evaluate("heldFetches[0].release()")
    heading_says(page, "2 studies")
    assert year_min.input_value() == "2014"
    page.keyboard.press("Tab")  # leaving the box applies it
    page.wait_for_function("() => heldFetches.length === 2")
    page.evaluate("heldFetches[1].release()")
    page.wait_for_url("**/studies/?condition=fibromyalgia&year_min=2014")
    heading_says(page, "1 study")


@pytest.mark.parametrize("javascript", [True, False])
def test_a_search_from_the_form_comes_best_match_first(live_server, browser, studies, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/studies/")
    page.locator("#id_q").fill("fibromyalgia")
    page.locator("#id_q").press("Enter")
    page.wait_for_url("**/studies/?q=fibromyalgia")  # not the sort without a search
    heading_says(page, "2 studies")
    assert page.locator("#id_sort option:checked").inner_text() == "Best match"
    context.close()


def test_back_after_a_search_restores_the_search_box(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/")
    search = page.locator("#id_q")
    search.fill("cohort")
    search.press("Enter")
    page.wait_for_url("**/studies/?q=cohort")
    heading_says(page, "1 study")
    page.go_back()  # with the focus still in the search box
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")
    assert search.input_value() == ""


def test_show_studies_after_a_tick_adds_no_second_history_entry(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    page.evaluate("document.querySelector('#results').dataset.shown = 'before'")
    page.get_by_role("button", name="Show studies").click()  # out of habit: nothing new
    # Nothing asked for: the list shown is the one the form names.
    assert page.evaluate("document.querySelector('#results').dataset.shown") == "before"
    page.go_back()
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")


def test_chips_remove_filters_and_clear_all(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/?condition=fibromyalgia&design=rct&year_min=2010")
    chips = page.locator(".chips a.chip")
    assert chips.count() == 3
    page.get_by_role("link", name="Remove filter: Randomised controlled trial").click()
    page.wait_for_url("**/studies/?condition=fibromyalgia&year_min=2010")
    heading_says(page, "2 studies")
    assert not page.get_by_role("checkbox", name=re.compile(r"^Randomised")).is_checked()
    page.get_by_role("link", name="Clear all").first.click()
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")
    assert page.locator(".chips").count() == 0


def test_a_removed_chip_leaves_the_focus_just_before_the_results(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/?condition=fibromyalgia&design=rct")
    page.get_by_role("link", name="Remove filter: Randomised controlled trial").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    # The chip is gone: the focus is on the results' heading, not lost to the page's top.
    assert page.evaluate("document.activeElement.id") == "results"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == titles(page)[0]
    page.get_by_role("link", name="Clear all", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")
    assert page.evaluate("document.activeElement.id") == "results"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == titles(page)[0]


def test_a_decade_followed_keeps_the_focus_on_its_link(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("link", name=re.compile(r"^2010s\b")).click()
    page.wait_for_url("**/studies/?year_min=2010&year_max=2019")
    heading_says(page, "3 studies")
    assert page.evaluate("document.activeElement.textContent").startswith("2010s")


def test_first_result_is_three_key_presses_from_the_top(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to results"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == titles(page)[0]


def test_on_a_phone_the_drawer_is_closed_and_the_first_result_above_the_fold(
    live_server, browser, studies
):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/studies/")
    assert not page.locator("#filter-drawer").evaluate("d => d.open")
    assert not page.locator("#id_q").is_visible()
    first = page.locator(".results .study-title a").first.bounding_box()
    assert first["y"] + first["height"] <= 844
    page.locator("#drawer-summary").click()
    assert page.locator("#id_q").is_visible()
    context.close()


def test_wide_screen_shows_the_filters_beside_the_results(live_server, page, studies):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/studies/")
    assert page.locator("#id_q").is_visible()
    assert not page.locator("#drawer-summary").is_visible()


def test_the_list_with_chips_notes_and_suggestions_passes_axe(live_server, page, studies):
    from axe_playwright_python.sync_playwright import Axe

    page.goto(f"{live_server.url}/studies/?q=fibromialgia+%26&year_min=2010")
    assert page.locator(".suggestions").count() == 1
    assert page.locator(".search-notes").count() == 1
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_an_update_asks_for_the_lists_own_address_in_one_request(live_server, page, studies):
    """The form's fields are in the order a reader meets them, the list's address in its
    fixed order: an update asks for the address itself, not for one the server redirects
    (a second round trip for every tick, on a phone's network too)."""
    answers = []
    page.on(
        "response",
        lambda response: "/studies/?" in response.url and answers.append(response.status),
    )
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("checkbox", name="Pain").check()
    page.wait_for_url("**/studies/?domain=pain")
    page.get_by_role("checkbox", name=re.compile(r"^Very low\b")).check()
    page.wait_for_url("**/studies/?domain=pain&dose_band=very_low")
    page.get_by_role("radio", name=re.compile(r"^2 · Randomised")).check()
    page.wait_for_url("**/studies/?domain=pain&level=2&dose_band=very_low")
    heading_says(page, "0 studies")
    assert answers == [200, 200, 200]


def test_enter_in_the_search_box_asks_once(live_server, page, studies):
    """Enter in a box changes it and submits the form: one request, not one for each."""
    page.add_init_script(HOLD_FETCHES)
    page.goto(f"{live_server.url}/studies/")
    page.fill("#id_q", "crohn")
    page.press("#id_q", "Enter")  # the change and the submit are handled before it returns
    assert page.evaluate("heldFetches.length") == 1
    page.evaluate("heldFetches[0].release()")
    page.wait_for_url("**/studies/?q=crohn")
    heading_says(page, "2 studies")


def test_without_a_year_ticked_before_the_years_stays_ticked(live_server, page, studies):
    """ "Include studies without a year" changes nothing until there is a year range, and the
    list's address leaves it out until then; ticked first, it stays ticked for the range
    the reader types next."""
    page.goto(f"{live_server.url}/studies/")
    undated = page.locator("#id_undated")
    undated.check()
    page.wait_for_function("() => !document.querySelector('#results').hasAttribute('aria-busy')")
    assert undated.is_checked()
    page.fill("#id_year_min", "2014")
    page.press("#id_year_min", "Tab")
    page.wait_for_url("**/studies/?year_min=2014&undated=1")
    heading_says(page, "3 studies")  # 2015 and 2018, and the study without a year
    assert undated.is_checked()


def checkbox(page, label):
    return page.get_by_role("checkbox", name=re.compile(rf"^{re.escape(label)}\b"))


def suggestion(page):
    """The link the empty list's text offers to remove a filter with."""
    return page.locator(".results p.empty a").first


@pytest.mark.parametrize(
    ("first", "second", "offered", "left"),
    [
        ("Crohn's disease", "Cohort study", "Cohort study", "condition=crohns-disease"),
        ("Cohort study", "Crohn's disease", "Crohn's disease", "design=cohort"),
    ],
)
def test_an_update_that_empties_the_list_offers_removing_the_filter_just_added(
    live_server, page, studies, first, second, offered, left
):
    page.goto(f"{live_server.url}/studies/")
    checkbox(page, first).check()
    page.wait_for_url(f"**/studies/?{left}")
    checkbox(page, second).check()
    page.wait_for_url("**/studies/?condition=crohns-disease&design=cohort")
    heading_says(page, "0 studies")
    empty = page.locator(".results p.empty")
    assert "the filter you just added" in empty.inner_text()
    assert suggestion(page).inner_text() == offered
    assert suggestion(page).get_attribute("href") == f"/studies/?{left}"
    # Heard too, with the count; the focus stays on the box just ticked.
    assert f"you just added, {offered}," in page.locator("#live-count").inner_text()
    assert checkbox(page, second).evaluate("box => box === document.activeElement")
    suggestion(page).click()
    page.wait_for_url(f"**/studies/?{left}")
    heading_says(page, "1 study" if left == "design=cohort" else "2 studies")
    assert not checkbox(page, second).is_checked()
    assert page.evaluate("document.activeElement.id") == "results"


def test_a_filter_added_to_an_empty_list_is_not_offered_as_what_emptied_it(
    live_server, page, studies
):
    page.goto(f"{live_server.url}/studies/?design=cohort&year_min=2016")
    heading_says(page, "0 studies")
    page.get_by_role("checkbox", name=re.compile(r"^Crohn's disease\b")).check()
    page.wait_for_url("**/studies/?condition=crohns-disease&design=cohort&year_min=2016")
    heading_says(page, "0 studies")
    # Removing it would lead back to an empty list: the page's own advice stays.
    empty = page.locator(".results p.empty").inner_text()
    assert "just added" not in empty
    assert suggestion(page).inner_text() == "Years: 2016 onwards"


def test_an_empty_list_opened_from_a_link_does_not_claim_a_most_recent_filter(
    live_server, page, studies
):
    page.goto(f"{live_server.url}/studies/?condition=crohns-disease&design=cohort")
    empty = page.locator(".results p.empty").inner_text()
    assert "just added" not in empty and "last filter" not in empty
    assert "one of the filters above, such as the last listed" in empty
    assert suggestion(page).get_attribute("href") == "/studies/?condition=crohns-disease"


def failure_notice(page):
    return page.locator("#update-failed")


@pytest.mark.parametrize("failure", ["connection lost", 503, 429])
def test_a_failed_update_keeps_the_list_and_the_choices_and_offers_a_retry(
    live_server, page, studies, failure
):
    page.goto(f"{live_server.url}/studies/")
    page.evaluate("window.notReloaded = true")
    entries = page.evaluate("history.length")

    def fail(route):
        if failure == "connection lost":
            route.abort("internetdisconnected")
        else:
            route.fulfill(status=failure, content_type="text/html", body="<h1>Busy</h1>")

    page.route(re.compile(r"/studies/\?"), fail)
    box = page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b"))
    box.check()
    notice = failure_notice(page)
    notice.wait_for(state="visible")
    # The list, its address and its history are those shown before; the box stays ticked,
    # with the focus on it; the failure is heard.
    assert page.evaluate("window.notReloaded") is True
    assert page.url == f"{live_server.url}/studies/"
    assert page.evaluate("history.length") == entries
    heading_says(page, "4 studies")
    assert len(titles(page)) == 4
    assert box.is_checked()
    assert page.evaluate("document.activeElement.id") == "condition-fibromyalgia"
    assert page.get_attribute("#results", "aria-busy") is None
    assert "could not be updated" in page.locator("#live-count").inner_text()
    reload = notice.get_by_role("link")
    assert reload.get_attribute("href").endswith("/studies/?condition=fibromyalgia")

    page.unroute(re.compile(r"/studies/\?"))
    notice.get_by_role("button", name="Try again").click()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    assert not notice.is_visible()
    assert page.evaluate("window.notReloaded") is True
    # The button is gone with the notice: the focus goes to the results, not the page's top.
    assert page.evaluate("document.activeElement.id") == "results"
    page.go_back()
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")


def test_a_failed_back_leaves_the_address_of_the_list_still_shown(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    page.route(re.compile(r"/studies/"), lambda route: route.abort("internetdisconnected"))
    page.go_back()
    failure_notice(page).wait_for(state="visible")
    # Back could not fetch the list it names: the address says what the page shows.
    assert page.url.endswith("/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    assert page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).is_checked()
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    page.unroute(re.compile(r"/studies/"))
    failure_notice(page).get_by_role("button", name="Try again").click()
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")


def test_the_failure_notice_s_link_loads_the_list_as_a_page(live_server, page, studies):
    page.goto(f"{live_server.url}/studies/")
    page.evaluate("window.notReloaded = true")
    page.route(re.compile(r"/studies/\?"), lambda route: route.fulfill(status=502, body=""))
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    failure_notice(page).wait_for(state="visible")
    page.unroute(re.compile(r"/studies/\?"))
    failure_notice(page).get_by_role("link").click()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    assert page.evaluate("window.notReloaded") is None  # a page load, as asked


def test_a_retry_that_fails_again_is_heard_again(live_server, page, studies):
    """The live region is emptied while an update is on its way, so the same failure twice
    is a change a screen reader announces, not the same text left in place."""
    page.add_init_script(HOLD_FETCHES)
    page.goto(f"{live_server.url}/studies/")
    page.get_by_role("checkbox", name=re.compile(r"^Fibromyalgia\b")).check()
    page.wait_for_function("() => heldFetches.length === 1")
    page.evaluate("heldFetches[0].fail()")
    failure_notice(page).wait_for(state="visible")
    live = page.locator("#live-count")
    assert "could not be updated" in live.inner_text()
    failure_notice(page).get_by_role("button", name="Try again").click()
    page.wait_for_function("() => heldFetches.length === 2")
    assert live.inner_text() == ""
    page.evaluate("heldFetches[1].fail()")
    page.wait_for_function(
        "() => document.querySelector('#live-count').textContent.includes('could not be')"
    )
    assert page.evaluate("document.activeElement.textContent") == "Try again"


def fail_lists(page):
    page.route(re.compile(r"/studies/"), lambda route: route.abort("internetdisconnected"))


def heal_lists(page):
    page.unroute(re.compile(r"/studies/"))


def filtered_twice(live_server, page):
    """The reader ticks two filters, one update after the other: three entries of the list."""
    page.goto(f"{live_server.url}/studies/")
    checkbox(page, "Fibromyalgia").check()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    checkbox(page, "Randomised controlled trial").check()
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    heading_says(page, "1 study")


def test_a_failed_back_costs_no_history_entry(live_server, page, studies):
    filtered_twice(live_server, page)
    entries = page.evaluate("history.length")
    fail_lists(page)
    page.go_back()
    failure_notice(page).wait_for(state="visible")
    # The address returns to the entry of the list still shown...
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    heading_says(page, "1 study")
    assert checkbox(page, "Randomised controlled trial").is_checked()
    # ...and every entry is still there, each naming its own list.
    heal_lists(page)
    page.go_back()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    page.go_back()
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")
    page.go_forward()
    page.go_forward()
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    heading_says(page, "1 study")
    assert page.evaluate("history.length") == entries


def test_try_again_after_a_failed_back_goes_back_as_asked(live_server, page, studies):
    filtered_twice(live_server, page)
    entries = page.evaluate("history.length")
    fail_lists(page)
    page.go_back()
    failure_notice(page).wait_for(state="visible")
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    # "Try again" asks for the same list, and it fails again: the same entry still shown.
    failure_notice(page).get_by_role("button", name="Try again").click()
    page.wait_for_function(
        "() => document.querySelector('#live-count').textContent.includes('could not be')"
    )
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    heading_says(page, "1 study")
    heal_lists(page)
    failure_notice(page).get_by_role("button", name="Try again").click()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    assert not failure_notice(page).is_visible()
    # Where the Back would have led: the list after it is forward, the one before it back.
    assert page.evaluate("history.length") == entries
    page.go_forward()
    page.wait_for_url("**/studies/?condition=fibromyalgia&design=rct")
    heading_says(page, "1 study")
    page.go_back()
    page.go_back()
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")


def test_a_change_failing_after_an_unfinished_back_leaves_the_address_of_the_list_shown(
    live_server, page, studies
):
    page.add_init_script(HOLD_FETCHES)
    page.goto(f"{live_server.url}/studies/")
    checkbox(page, "Fibromyalgia").check()
    page.wait_for_function("() => heldFetches.length === 1")
    page.evaluate("heldFetches[0].release()")
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    page.go_back()  # its update on its way when the reader ticks another box
    page.wait_for_function("() => heldFetches.length === 2")
    checkbox(page, "Cohort study").check()
    page.wait_for_function("() => heldFetches.length === 3")
    page.evaluate("heldFetches[2].fail()")
    failure_notice(page).wait_for(state="visible")
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")


def test_a_failed_move_past_skip_link_entries_returns_to_the_list_shown(live_server, page, studies):
    """Following "Skip to results" adds an entry, and following it again replaces that one:
    a failed move over them returns to the entry it left, no further."""
    page.goto(f"{live_server.url}/studies/")
    checkbox(page, "Fibromyalgia").check()
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    page.evaluate("document.querySelector('.skip-link').click()")
    page.wait_for_url("**/studies/?condition=fibromyalgia#results")
    page.evaluate("document.querySelector('.skip-link').click()")
    fail_lists(page)
    page.evaluate("history.go(-2)")
    failure_notice(page).wait_for(state="visible")
    page.wait_for_url("**/studies/?condition=fibromyalgia#results")
    heading_says(page, "2 studies")


def tick_two_quickly(live_server, page, first, second):
    """Two filters ticked in quick succession: both updates held on their way."""
    page.add_init_script(HOLD_FETCHES)
    page.goto(f"{live_server.url}/studies/")
    checkbox(page, first).check()
    page.wait_for_function("() => heldFetches.length === 1")
    checkbox(page, second).check()
    page.wait_for_function("() => heldFetches.length === 2")


def advice_names(page, offered):
    page.wait_for_function(
        "offered => document.querySelector('#empty-advice').textContent"
        ".includes('you just added, ' + offered + ',')",
        arg=offered,
    )


def test_two_quick_changes_that_empty_the_list_offer_removing_the_second(
    live_server, page, studies
):
    tick_two_quickly(live_server, page, "Crohn's disease", "Cohort study")
    page.evaluate("heldFetches[0].release()")  # overtaken: not shown
    page.evaluate("heldFetches[1].release()")
    page.wait_for_url("**/studies/?condition=crohns-disease&design=cohort")
    heading_says(page, "0 studies")
    advice_names(page, "Cohort study")
    assert suggestion(page).get_attribute("href") == "/studies/?condition=crohns-disease"
    assert "you just added, Cohort study," in page.locator("#live-count").inner_text()
    assert checkbox(page, "Cohort study").evaluate("box => box === document.activeElement")


def test_an_overtaken_update_arriving_last_changes_only_the_advice(live_server, page, studies):
    tick_two_quickly(live_server, page, "Crohn's disease", "Cohort study")
    page.evaluate("heldFetches[1].release()")
    page.wait_for_url("**/studies/?condition=crohns-disease&design=cohort")
    heading_says(page, "0 studies")
    page.evaluate("heldFetches[0].release()")  # the answer to the first change, late
    # It says the list before the second change had studies: the second is what emptied it.
    advice_names(page, "Cohort study")
    assert suggestion(page).get_attribute("href") == "/studies/?condition=crohns-disease"
    # And it shows nothing of its own list.
    assert page.url.endswith("/studies/?condition=crohns-disease&design=cohort")
    heading_says(page, "0 studies")
    assert checkbox(page, "Cohort study").is_checked()
    assert page.locator(".chips a.chip").count() == 2


def test_two_quick_changes_the_first_of_which_emptied_the_list_keep_the_pages_advice(
    live_server, page, studies
):
    tick_two_quickly(live_server, page, "Very low", "Crohn's disease")
    page.evaluate("async () => { await heldFetches[0].release(); }")
    page.evaluate("heldFetches[1].release()")
    page.wait_for_url("**/studies/?condition=crohns-disease&dose_band=very_low")
    heading_says(page, "0 studies")
    page.wait_for_timeout(300)  # nothing else on its way to change the advice
    empty = page.locator(".results p.empty").inner_text()
    assert "just added" not in empty
    assert "one of the filters above, such as the last listed" in empty


@pytest.fixture
def many_studies(studies):
    """Enough studies for two pages, the list far longer than a screen."""
    pain = make_condition(name="Chronic pain", slug="chronic-pain")
    for year in range(1990, 2020):
        make_study([pain], title=f"Chronic pain trial of {year}", year=year)


def seen_whole(page, locator):
    """In the window and not under anything else: what the reader sees of it."""
    return locator.evaluate("""element => {
        const box = element.getBoundingClientRect();
        const x = box.left + box.width / 2, y = box.top + box.height / 2;
        const top = document.elementFromPoint(x, y);
        return box.top >= 0 && box.bottom <= window.innerHeight
            && top !== null && (element.contains(top) || top.control === element);
    }""")


def fails_where_the_reader_is(page, control):
    control.evaluate("control => control.scrollIntoView({block: 'end'})")  # the window's foot
    page.route(re.compile(r"/studies/\?"), lambda route: route.fulfill(status=503, body=""))
    control.click()
    notice = failure_notice(page)
    notice.wait_for(state="visible")
    # Seen where the reader is, heard, and the focus left on what they just used.
    assert seen_whole(page, notice)
    assert seen_whole(page, control)
    assert control.evaluate("control => control === document.activeElement")
    assert "could not be updated" in page.locator("#live-count").inner_text()
    return notice


def test_a_failure_at_the_foot_of_the_list_is_seen_there(live_server, page, many_studies):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/studies/")
    following = page.get_by_role("link", name="Next")
    following.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1000
    notice = fails_where_the_reader_is(page, following)
    # It stays in view as the reader scrolls, and leaves room to reach the foot of the page.
    scrolled = page.evaluate("window.scrollY")
    page.mouse.wheel(0, -600)
    page.wait_for_function("scrolled => window.scrollY < scrolled", arg=scrolled)
    assert seen_whole(page, notice)
    page.keyboard.press("End")
    page.wait_for_function("() => innerHeight + scrollY >= document.body.scrollHeight")
    assert seen_whole(page, following)
    assert seen_whole(page, page.locator(".site-footer p"))
    page.unroute(re.compile(r"/studies/\?"))
    notice.get_by_role("button", name="Try again").click()
    page.wait_for_url("**/studies/?page=2")
    assert not notice.is_visible()


def test_a_failure_deep_in_the_phone_s_drawer_is_seen_there(live_server, browser, many_studies):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/studies/")
    page.locator("#drawer-summary").click()
    control = page.get_by_role("checkbox", name="Only studies with reported outcomes")
    control.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 844
    fails_where_the_reader_is(page, control)
    context.close()


def test_try_again_before_the_return_from_a_failed_back_does_not_reload(live_server, page, studies):
    page.add_init_script(HOLD_FETCHES)
    page.goto(f"{live_server.url}/studies/")
    checkbox(page, "Fibromyalgia").check()
    page.wait_for_function("() => heldFetches.length === 1")
    page.evaluate("heldFetches[0].release()")
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    page.evaluate("window.notReloaded = true")
    page.go_back()
    page.wait_for_function("() => heldFetches.length === 2")
    # The failure, and "Try again" pressed before the browser is back at the list shown:
    # Chromium drops a move asked for while another is under way, so it does nothing.
    page.evaluate("""async () => {
        heldFetches[1].fail();
        const notice = document.querySelector("#update-failed");
        while (notice.hidden) { await null; }
        notice.querySelector("button").click();
    }""")
    page.wait_for_url("**/studies/?condition=fibromyalgia")
    heading_says(page, "2 studies")
    assert page.evaluate("window.notReloaded") is True
    failure_notice(page).get_by_role("button", name="Try again").click()
    page.wait_for_function("() => heldFetches.length === 3")
    page.evaluate("heldFetches[2].release()")
    page.wait_for_url(f"{live_server.url}/studies/")
    heading_says(page, "4 studies")
    assert page.evaluate("window.notReloaded") is True
