"""The curators' import page in a real browser: upload or paste any format, follow the job's
page to its preview and confirm it, by keyboard as well as by mouse, with no critical or
serious axe-core finding and no CSP violation.

Jobs wait in the database backend's queue here (no worker runs), so that the tests see a
job queued and running; the test runs the worker's step itself (jobs.run_job)."""

from pathlib import Path

import pytest
from django.urls import reverse

from studies import jobs
from studies.models import ImportJob, Study
from tests.e2e.test_admin_browser import blocking_findings
from tests.factories import make_condition

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CORPUS = Path(__file__).parent.parent / "import_corpus"
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def queued(settings):
    """Jobs stay queued until the test runs them."""
    settings.TASKS = DATABASE_TASKS
    make_condition(name="Fibromyalgia", slug="fibromyalgia")


def upload(page, live_server, name):
    page.goto(live_server.url + reverse("admin:studies_study_import"))
    page.get_by_label("File").set_input_files(CORPUS / name)
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url("**/import-bibtex/*/")
    return ImportJob.objects.latest("pk")


def csp_violations(page):
    return [m for m in page.console_messages if "Content Security Policy" in m]


def test_the_progress_is_announced_and_the_focus_kept_until_the_preview(
    live_server, curator_page, queued
):
    page = curator_page
    job = upload(page, live_server, "zotero.ris")
    status = page.get_by_role("status")
    assert "waiting for a worker" in status.inner_text()
    assert blocking_findings(page) == []

    # A keyboard user on the cancel button stays there while the page follows the job.
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Cancel the import").focus()
    ImportJob.objects.filter(pk=job.pk).update(status="checking", done=3, total=6)
    page.wait_for_function(
        "() => document.querySelector('[role=status]').textContent.includes('3 of 6')",
        timeout=8_000,
    )
    assert page.evaluate("document.activeElement.value") == "Cancel the import"
    assert page.evaluate("window.notReloaded") is True

    # The preview replaces the progress, and the focus moves to what it says.
    ImportJob.objects.filter(pk=job.pk).update(status="queued")
    jobs.run_job(job.pk)
    page.get_by_role("button", name="Import 4 new studies").wait_for(timeout=8_000)
    assert "4 new" in page.evaluate("document.activeElement.textContent")
    assert blocking_findings(page) == []
    assert csp_violations(page) == []


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("zotero.ris", "RIS"),
        ("pubmed.nbib", "PubMed MEDLINE"),
        ("zotero.json", "CSL JSON"),
        ("ctgov_studies.json", "ClinicalTrials.gov"),
    ],
)
def test_each_format_uploaded_and_pasted_gives_its_preview(live_server, curator_page, name, label):
    page = curator_page
    make_condition(name="Fibromyalgia", slug="fibromyalgia")
    upload(page, live_server, name)  # the tests' task backend checks it at once
    assert label in page.locator("#import-summary").inner_text()
    page.goto(live_server.url + reverse("admin:studies_study_import"))
    page.get_by_label("or paste the text").fill((CORPUS / name).read_text())
    page.get_by_role("button", name="Preview the import").click()
    assert label in page.locator("#import-summary").inner_text()
    assert page.locator("#import-confirm input[type=submit]").is_visible()
    assert csp_violations(page) == []


def test_a_file_with_errors_is_imported_only_when_the_curator_ticks_the_box(
    live_server, curator_page
):
    page = curator_page
    upload(page, live_server, "no_er.ris")
    page.get_by_role("button", name="Import 2 new studies").click()
    assert "Nothing was imported: 1 entry of no_er.ris has errors" in page.inner_text("body")
    assert not Study.objects.exists()
    # By keyboard: the box, then the button.
    box = page.get_by_label("Import the valid entries and skip the 1 with errors")
    box.focus()
    page.keyboard.press("Space")
    assert box.is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "Import 2 new studies"
    page.keyboard.press("Enter")
    page.wait_for_selector("#import-summary:has-text('2 created')")
    assert Study.objects.count() == 2


def test_a_queued_job_is_cancelled_by_keyboard_and_its_page_says_so(
    live_server, curator_page, queued
):
    page = curator_page
    job = upload(page, live_server, "pubmed.nbib")
    page.get_by_role("button", name="Cancel the import").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#import-status:has-text('cancelled')")
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert page.get_by_role("button", name="Cancel the import").count() == 0
    page.reload()
    assert "cancelled" in page.locator("#import-status").inner_text()
    assert csp_violations(page) == []


def test_a_double_click_back_and_reload_confirm_one_import_followed_to_its_end(
    live_server, curator_page, queued
):
    from django_tasks_db.models import DBTaskResult

    page = curator_page
    job = upload(page, live_server, "zotero.ris")
    jobs.run_job(job.pk)
    page.reload()
    page.get_by_label("Import the valid entries and skip the 2 with errors").check()
    page.get_by_role("button", name="Import 4 new studies").dblclick()
    page.wait_for_selector("#import-status:has-text('waiting for a worker')")
    page.reload()
    job.refresh_from_db()
    assert (job.confirmed, job.skip_errors, DBTaskResult.objects.count()) == (True, True, 2)
    page.go_back()  # the job as it is now (the admin's pages are not cached): no button
    assert "waiting for a worker" in page.locator("#import-status").inner_text()
    assert page.get_by_role("button", name="Import 4 new studies").count() == 0
    assert DBTaskResult.objects.count() == 2
    page.goto(live_server.url + job.get_absolute_url())
    jobs.run_job(job.pk)  # the page follows the job to its report, in place
    page.wait_for_selector("#import-summary:has-text('4 created')", timeout=8_000)
    assert Study.objects.count() == 4
    assert blocking_findings(page) == []
    page.goto(live_server.url + reverse("admin:studies_study_import"))
    page.get_by_role("link", name="zotero.ris").click()  # the curator's recent imports
    page.wait_for_url(f"**{job.get_absolute_url()}")
    page.go_back()
    assert blocking_findings(page) == []
    assert csp_violations(page) == []


def test_a_curator_logged_out_meanwhile_is_shown_the_login_page(live_server, curator_page, queued):
    page = curator_page
    upload(page, live_server, "zotero.ris")
    page.context.clear_cookies()  # the session ended (logged out in another tab, expired)
    page.wait_for_url("**/admin/login/**", timeout=8_000)
    assert page.get_by_label("Username").is_visible()


def test_a_registry_update_is_accepted_with_its_checkbox(live_server, curator_page):
    page = curator_page
    upload(page, live_server, "ctgov_studies.json")  # the tests' task backend checks it at once
    page.get_by_label("Import the valid entries and skip the 2 with errors").check()
    page.get_by_role("button", name="Import 4 new studies").click()
    page.wait_for_selector("#import-summary:has-text('4 created')")
    upload(page, live_server, "ctgov_one.json")
    assert "results_posted: False → True" in page.locator("#import-preview").inner_text()
    # By keyboard: the box, then (the next stop of the Tab key) the button.
    box = page.get_by_label("Update the catalog's record")
    box.focus()
    page.keyboard.press("Space")
    assert box.is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "Update the ticked trials"
    page.keyboard.press("Enter")
    page.wait_for_selector("#import-summary:has-text('1 trial updated')")
    assert Study.objects.get(registry_id="NCT90000101").results_posted is True
    assert blocking_findings(page) == []
    assert csp_violations(page) == []


def bytes_sent(text):
    """What a text field weighs against DATA_UPLOAD_MAX_MEMORY_SIZE: UTF-8, each line break
    sent as CRLF."""
    return len(text.replace("\n", "\r\n").encode())


def test_a_paste_over_the_limit_is_refused_before_it_is_sent_and_kept(
    live_server, curator_page, settings
):
    # Browsers cut a paste at a maxlength without a word: the page's script counts the
    # form's bytes as the server does, and refuses (keeping the text) one byte over.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    page = curator_page
    page.goto(live_server.url + reverse("admin:studies_study_import"))
    token = page.locator("#content-main [name=csrfmiddlewaretoken]").input_value()
    # Django counts each field's name, its value and 2 bytes; the file input left empty
    # is a field too.
    others = len("csrfmiddlewaretoken") + 2 + len(token) + len("file") + 2 + len("format") + 2
    room = 2000 - others - len("text") - 2
    entry = "@misc{a, title = {Naltrexone à faible dose ✓}, year = 2020}\n"
    line, comment = "% Exporté à la main ✓\n", ""
    while bytes_sent(comment + line + "\n" + entry) < room:
        comment += line
    text = comment + "%" * (room - bytes_sent(comment + "\n" + entry)) + "\n" + entry
    # Each line break counts two bytes, and é, à and ✓ two or three: over in bytes only.
    assert bytes_sent(text) == room and len(text) < room - 200

    box = page.get_by_label("or paste the text")
    box.fill(text + "%")
    alert = page.get_by_role("alert")
    alert.wait_for()  # told at once, before any click
    page.get_by_role("button", name="Preview the import").click()
    message = alert.inner_text()
    assert f"This text is {room + 1:,} bytes in UTF-8" in message
    assert f"the box takes at most {room:,} bytes" in message
    assert "Save it as a file and upload it with “File” instead" in message
    assert "Nothing was sent: your text is still in the box." in message
    assert box.input_value() == text + "%"
    assert page.evaluate("document.activeElement.id") == "id_text"
    assert page.url.endswith(reverse("admin:studies_study_import"))
    assert not ImportJob.objects.exists()
    assert blocking_findings(page) == []

    # One byte less: the message goes, and the text is sent whole.
    box.fill(text)
    page.get_by_role("alert").wait_for(state="detached")
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url("**/import-bibtex/*/")
    assert ImportJob.objects.get().text == text.replace("\n", "\r\n")
    assert csp_violations(page) == []
