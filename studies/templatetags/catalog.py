"""Small presentation helpers for the catalog's templates."""

from urllib.parse import urlsplit

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html

from studies.vocabulary import (
    DESIGN_LEVELS,
    Certainty,
    Design,
    Direction,
    EvidenceLevel,
    Verdict,
)

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


# Honest colours: a verdict is drawn solid only where its certainty is moderate or high;
# at low or very low certainty it is pale and outlined, so "benefit" from one case report
# cannot look like "benefit" from a body of trials. One rule for every page.
SOLID_CERTAINTIES = {Certainty.HIGH, Certainty.MODERATE}


@register.filter
def strength(certainty):
    """``solid`` or ``pale``: how strongly a verdict of this certainty is drawn."""
    return "solid" if certainty in SOLID_CERTAINTIES else "pale"


@register.simple_tag
def verdict_mark(verdict, certainty):
    """A verdict as a mark whose fill carries its certainty, with the certainty in words."""
    try:
        verdict, certainty = Verdict(verdict), Certainty(certainty)
    except ValueError:
        return ""
    return format_html(
        '<span class="verdict-mark verdict-{} strength-{}">{}</span> '
        '<span class="certainty">{} certainty</span>',
        verdict.value,
        strength(certainty),
        verdict.label,
        certainty.label.lower(),
    )


@register.simple_tag
def certainty_mark(certainty):
    """A GRADE certainty as a mark drawn by the same rule (a bottom line's certainty)."""
    try:
        certainty = Certainty(certainty)
    except ValueError:
        return ""
    return format_html(
        '<span class="certainty-mark strength-{}">{} certainty</span>',
        strength(certainty),
        certainty.label,
    )


@register.filter
def pooled_number(number):
    """A pooled figure to two decimals, ``0.36``; one that two decimals would show as
    0.00 to two significant figures (a pooled ratio's bound of 0.0004 is not zero)."""
    if number and abs(number) < 0.005:
        return f"{number:.2g}"
    return floatformat(number, 2)


@register.filter
def percent(proportion):
    """0.58 as ``58%``."""
    return f"{round(float(proportion) * 100)}%"


@register.filter
def certainty_label(certainty):
    """A GRADE slug in words, or ``not rated``."""
    try:
        return Certainty(certainty).label
    except ValueError:
        return "Not rated"


@register.filter
def direction_in(cells, domain):
    """The direction a study's outcomes take in one domain, in words (blank if none)."""
    direction = cells.get(getattr(domain, "value", domain))
    return Direction(direction).label if direction else ""
