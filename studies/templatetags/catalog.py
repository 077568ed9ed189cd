"""Small presentation helpers for the catalog's templates."""

from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html

from studies.vocabulary import DESIGN_LEVELS, Design, EvidenceLevel

register = template.Library()

BAR_STEPS = 20  # bar widths come in 5% steps: static/studies/catalog.css has a class for each


@register.filter
def evidence_level(value):
    """An evidence level number (1–7) as the EvidenceLevel, or None."""
    if value in (None, ""):
        return None
    try:
        return EvidenceLevel(int(value))
    except ValueError:
        return None


@register.simple_tag
def level_badge(level):
    """The evidence level as a coloured badge whose text says what the colour means."""
    level = evidence_level(level)
    if level is None:
        return ""
    return format_html(
        '<span class="badge level-{}" title="Evidence level {} of 7 (1 is strongest)">'
        "Level {} · {}</span>",
        level.value,
        level.value,
        level.value,
        level.label,
    )


@register.filter
def bar_width(count, largest):
    """The CSS class for a bar of ``count`` out of ``largest``, e.g. ``bar-w-45``."""
    if not largest or not count:
        return "bar-w-0"
    steps = max(1, round(BAR_STEPS * count / largest))
    return f"bar-w-{steps * 100 // BAR_STEPS}"


@register.filter
def design_level(design):
    """The evidence level number of a design."""
    return DESIGN_LEVELS[Design(design)].value


@register.filter
def web_url(value):
    """The address if it is an http(s) URL, else empty: never a ``javascript:`` link."""
    return value if urlsplit(value or "").scheme in ("http", "https") else ""


@register.filter
def isolate(value):
    """Text between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: the plain-text <bdi>.

    For places that cannot hold markup (the page <title>): a right-to-left override in a
    title then cannot reverse the text around it.
    """
    return f"\u2068{value}\u2069"
