"""Geometry of the condition page's plots, drawn as SVG (no script, no inline style: every
colour and line weight is a class in static/studies/catalog.css).

The template draws each plot's frame (title, description, axis); a forest plot's rows,
up to synthesis.SHOWN marks and table rows per plot and a few hundred per page, are
written here once (by format_html_join, which escapes every value) and kept with the
layout: drawing them through template loops took most of a large condition page's time.

``forest(group)`` lays out one forest plot: a row per estimate (a square at the value, a
line across its 95% CI), the line of no effect, and the pooled diamond when there is one;
ratios on a log scale. ``harvest(synthesis)`` lays out the effect-direction plot: studies
as rows (strongest evidence first), outcome domains as columns, an arrow per cell sized
by the study's sample size and shaded by its certainty.
"""

import math
from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import format_html_join

from .stats import from_analysis_scale, is_ratio, to_analysis_scale

# Plot coordinates (SVG user units); the SVG scales to the width of its container.
LABEL_WIDTH = 190
LABEL_X = LABEL_WIDTH - 8  # where the row labels end
PLOT_WIDTH = 330
WIDTH = LABEL_WIDTH + PLOT_WIDTH + 20
ROW_HEIGHT = 22
TOP = 26
AXIS_HEIGHT = 34
RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


def estimate_text(value):
    """An estimate as stored (up to 4 decimals), without trailing zeros: 5.04, -0.3, 20.77."""
    if value is None:
        return ""
    return f"{round(float(value), 4):g}"


def _number(value):
    """A number as the axis and the tables print it: 3 significant figures at most."""
    if value == 0:
        return "0"
    text = f"{value:.3g}"
    return text if "e" not in text else f"{value:.2g}"


def _linear_ticks(low, high):
    span = high - low
    step = 10 ** math.floor(math.log10(span / 4)) if span > 0 else 1
    for multiple in (1, 2, 5, 10):
        if span / (step * multiple) <= 6:
            step *= multiple
            break
    first = math.ceil(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


class Axis:
    """Maps values of one measure to x positions: log scale for ratios."""

    def __init__(self, measure, values):
        self.measure = measure
        self.null = 1.0 if is_ratio(measure) else 0.0
        scaled = [to_analysis_scale(measure, v) for v in values]
        scaled.append(to_analysis_scale(measure, self.null))
        low, high = min(scaled), max(scaled)
        pad = (high - low) * 0.05 or 0.5
        self.low, self.high = low - pad, high + pad

    def x(self, value):
        scaled = to_analysis_scale(self.measure, value)
        return LABEL_WIDTH + (scaled - self.low) / (self.high - self.low) * PLOT_WIDTH

    def ticks(self):
        if is_ratio(self.measure):
            low, high = (from_analysis_scale(self.measure, v) for v in (self.low, self.high))
            values = [t for t in RATIO_TICKS if low <= t <= high]
        else:
            values = _linear_ticks(self.low, self.high)
        return [Tick(round(self.x(v), 1), _number(v)) for v in values]


def forest(group):
    """The layout of one group's forest plot (see the module docstring)."""
    shown = group.estimates  # the first synthesis.SHOWN of group.k
    values = [v for e in shown for v in (e.ci_low, e.ci_high)]
    if group.pooled:
        values += [group.pooled.ci_low, group.pooled.ci_high]
    axis = Axis(group.measure, values)
    rows = []
    for n, estimate in enumerate(shown):
        y = TOP + n * ROW_HEIGHT + ROW_HEIGHT / 2
        rows.append(
            {
                "y": y,
                "label": estimate.label,
                "x": round(axis.x(estimate.value), 1),
                "x_low": round(axis.x(estimate.ci_low), 1),
                "x_high": round(axis.x(estimate.ci_high), 1),
                "square_x": round(axis.x(estimate.value) - 4, 1),
                "square_y": y - 4,
                "estimate": estimate,
            }
        )
    bottom = TOP + len(shown) * ROW_HEIGHT
    diamond = None
    if group.pooled:
        pooled = group.pooled
        y = bottom + ROW_HEIGHT / 2 + 4
        left, centre, right = (axis.x(v) for v in (pooled.ci_low, pooled.value, pooled.ci_high))
        diamond = {
            "y": y,
            "points": " ".join(
                f"{x:.1f},{yy:.1f}"
                for x, yy in ((left, y), (centre, y - 7), (right, y), (centre, y + 7))
            ),
        }
        bottom += ROW_HEIGHT + 8
    return {
        "width": WIDTH,
        "height": bottom + AXIS_HEIGHT,
        "rows": rows,
        "diamond": diamond,
        "null_x": round(axis.x(axis.null), 1),
        "top": TOP - 8,
        "axis_y": bottom + 4,
        "ticks": axis.ticks(),
        "tick_end": bottom + 10,
        "tick_label_y": bottom + 24,
        "label_x": LABEL_X,
        "plot_left": LABEL_WIDTH,
        "plot_right": LABEL_WIDTH + PLOT_WIDTH,
        "log": is_ratio(group.measure),
        "hidden": group.k - len(shown),
        "marks": _forest_marks(rows),
        "table_rows": _forest_table_rows(rows),
    }


def _forest_marks(rows):
    """Each row's label, CI line and square."""
    return format_html_join(
        "\n",
        '<text class="row-label" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">'
        '{}</text><line class="ci" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<rect class="point" x="{}" y="{}" width="8" height="8"/>',
        (
            (
                LABEL_X,
                row["y"],
                row["label"],
                row["x_low"],
                row["y"],
                row["x_high"],
                row["y"],
                row["square_x"],
                row["square_y"],
            )
            for row in rows
        ),
    )


def _forest_table_rows(rows):
    """The rows of the plot's data table: the same estimates in numbers."""
    return format_html_join(
        "\n",
        '<tr><th scope="row"><a href="{}"><bdi>{}</bdi></a>{}</th><td>{}</td><td>{}</td>'
        "<td>{} to {}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                reverse("studies:study_detail", args=[e.study]),
                e.title,
                f" ({e.year})" if e.year else "",
                e.outcome,
                estimate_text(e.value),
                estimate_text(e.ci_low),
                estimate_text(e.ci_high),
                estimate_text(e.p_value) or "—",
                "—" if e.n is None else e.n,
            )
            for e in (row["estimate"] for row in rows)
        ),
    )


# The harvest plot.
CELL_WIDTH = 58
HARVEST_LABEL = 190
SLANT_ROOM = 90  # the last domain's name, written at a slant, runs past its column
ARROW_SIZES = ((30, 7), (100, 10), (None, 13))  # (sample size below, half-length of arrow)


def _half_length(n):
    for limit, half in ARROW_SIZES:
        if limit is None or (n or 0) < limit:
            return half
    return ARROW_SIZES[-1][1]


def _arrow(direction, cx, cy, half):
    """The SVG path of one arrow: up for improved, down for worsened, both for mixed,
    a bar with end stops for no difference."""
    head = 5
    if direction == "no_difference":
        left, right = cx - half, cx + half
        return f"M{left},{cy} H{right} M{left},{cy - 4} V{cy + 4} M{right},{cy - 4} V{cy + 4}"
    top, bottom = cy - half, cy + half
    up_head = f"M{cx - head},{top + head} L{cx},{top} L{cx + head},{top + head}"
    down_head = f"M{cx - head},{bottom - head} L{cx},{bottom} L{cx + head},{bottom - head}"
    shaft = f"M{cx},{bottom} V{top}"
    heads = {"improved": up_head, "worsened": down_head}.get(direction, f"{up_head} {down_head}")
    return f"{shaft} {heads}"


def harvest(synthesis):
    """The layout of the effect-direction plot (see the module docstring)."""
    shown = synthesis.rows  # the first synthesis.SHOWN of synthesis.studies_with_direction
    domains = synthesis.domains
    height_row = 30
    top = 96  # room for the domains' names, written at a slant
    columns = [
        {"x": HARVEST_LABEL + CELL_WIDTH * n + CELL_WIDTH / 2, "domain": domain}
        for n, domain in enumerate(domains)
    ]
    rows = []
    for n, row in enumerate(shown):
        cy = top + n * height_row + height_row / 2
        half = _half_length(row.n)
        cells = [
            {
                "direction": row.cells[column["domain"].value],
                "label": column["domain"].label,
                "path": _arrow(row.cells[column["domain"].value], column["x"], cy, half),
            }
            for column in columns
            if column["domain"].value in row.cells
        ]
        rows.append({"y": cy, "label": row.label, "row": row, "cells": cells})
    return {
        "width": HARVEST_LABEL + CELL_WIDTH * max(len(domains), 1) + SLANT_ROOM,
        "height": top + len(shown) * height_row + 10,
        "columns": columns,
        "rows": rows,
        "label_x": HARVEST_LABEL - 8,
        "header_y": top - 12,
        "hidden": synthesis.studies_with_direction - len(shown),
    }
