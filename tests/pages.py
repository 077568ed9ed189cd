"""Test helpers for the public pages: stand-in templates until the real ones exist."""

from pathlib import Path

import pytest

STUB_TEMPLATES = Path(__file__).resolve().parent / "page_templates"


@pytest.fixture
def page_templates(settings):
    """Search the stand-in templates after the project's own."""
    settings.TEMPLATES = templates_with_stubs(settings)


def templates_with_stubs(settings):
    """TEMPLATES with the stand-ins searched last, for override_settings on a class."""
    first, *rest = settings.TEMPLATES
    return [{**first, "DIRS": [*first["DIRS"], STUB_TEMPLATES]}, *rest]
