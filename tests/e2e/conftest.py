"""End-to-end tests in a real headless Chromium, driven by Playwright's sync API.

They need Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`); without it
they fail, so that CI never passes by skipping them.
"""

import os
from importlib import import_module
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests.test_admin import make_curator

PASSWORD = "a long curator password"  # tests.test_admin.make_curator's
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
def _live_server_settings(django_test_environment):
    # What the live server's middleware reads when it is built: plain HTTP, and static
    # files from the finders without a STATIC_ROOT or a manifest, as tests/conftest.py sets
    # them for each test (tests do not collect).
    from django.test import override_settings

    from tests.static_files import uncollected_static

    override = override_settings(SECURE_SSL_REDIRECT=False, **uncollected_static())
    override.enable()
    return override


@pytest.fixture(scope="session")
def live_server(_live_server_settings, live_server):
    # The live server builds its middleware once, when it starts, and per-test `settings`
    # overrides come too late: it starts with those settings, then they are restored for
    # the rest of the session (each test's own fixtures set them again).
    _live_server_settings.disable()
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


def curators_group():
    """The group migration 0002 makes: the flush after another browser test dropped it."""
    migration = import_module("studies.migrations.0002_curators_group")
    group, _ = Group.objects.get_or_create(name=migration.GROUP)
    codenames = [f"{a}_{m}" for m in migration.MODELS for a in migration.ACTIONS]
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="studies", codename__in=codenames)
    )


@pytest.fixture
def curator_page(live_server, page):
    """A page with a curator (alice) logged in to the admin."""
    curators_group()
    make_curator("alice")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{reverse('admin:index')}")
    return page
