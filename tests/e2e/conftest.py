"""End-to-end tests in a real headless Chromium, driven by Playwright's sync API.

They need Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`); without it
they fail, so that CI never passes by skipping them.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in the test thread; the tests' own ORM calls
# are synchronous and safe, so let Django allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def _https_redirect_off(django_test_environment):
    from django.conf import settings

    original = settings.SECURE_SSL_REDIRECT
    settings.SECURE_SSL_REDIRECT = False
    yield original
    settings.SECURE_SSL_REDIRECT = original


@pytest.fixture(scope="session")
def live_server(_https_redirect_off, live_server):
    # The live server builds its middleware once, when it starts, and per-test `settings`
    # overrides come too late: it starts with the HTTPS redirect off, then the setting is
    # restored for the rest of the session.
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = _https_redirect_off
    return live_server


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: install it (apt-get install -y chromium) "
            "or set CHROMIUM to its path.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    yield page
    context.close()
