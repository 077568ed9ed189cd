"""Test helpers for the public pages: stand-in templates until the real ones exist."""

from pathlib import Path

import pytest

STUB_TEMPLATES = Path(__file__).resolve().parent / "page_templates"


@pytest.fixture
def page_templates(settings):
    """Search the stand-in templates after the project's own."""
    templates = [dict(engine) for engine in settings.TEMPLATES]
    templates[0]["DIRS"] = [*templates[0]["DIRS"], STUB_TEMPLATES]
    settings.TEMPLATES = templates
