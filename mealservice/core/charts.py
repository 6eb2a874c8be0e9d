"""Bar charts drawn on the server as SVG, shown in pages as <img> so no script runs in the
page; every page that shows one also shows its figures in a table.

The layout is computed here rather than left to a charting library, so that it can be
checked: a label too long for its bar is abbreviated (the full text kept in a <title>), labels
that do not fit side by side are turned 45° and the chart widens until the turned labels
clear one another, and every reference line is explained in the legend in the caller's
words. Core knows no business: titles, series names and those words come from the caller."""

import math
import os.path
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from flask import Response

SVG = "image/svg+xml"
ALERT_COLOUR = "#b3261e"
# Bars of the first, second and third series; each has 4.5:1 contrast against white.
SERIES_COLOURS = ("#6b6b6b", "#0b57d0", "#1e7b34")
INK = "#1b1b1b"
SUBTLE = "#5b5b5b"
GRID = "#d9d9d9"
# Chinese labels need a font that has them.
FONT_FAMILY = (
    '"WenQuanYi Zen Hei", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif'
)

TITLE_SIZE = 18
LABEL_SIZE = 13
LEGEND_SIZE = 14
# A line of text takes this many times its size, ascent and descent together.
LINE_HEIGHT = 1.3
# Text is measured, not rendered: a CJK character (and punctuation such as …) is one em
# wide, any other character is taken at the width of a wide Latin letter.
NARROW_EM = 0.62

MIN_WIDTH = 800
# Beyond this the chart labels every n-th bar instead of growing further (92 days).
MAX_PLOT_WIDTH = 2400
PLOT_HEIGHT = 240
MARGIN = 16
GAP = 6  # between two horizontal labels, and between a label and its axis
# A label longer than this many ems is cut, with an ellipsis.
LABEL_MAX_EM = 11
TURN_DEGREES = 45
# Two parallel turned labels clear each other when their baselines lie a line apart:
# the bars' spacing times sin(45°) must hold a line of text.
TURNED_SPACING = LINE_HEIGHT * LABEL_SIZE / math.sin(math.radians(TURN_DEGREES)) + 2


@dataclass(frozen=True)
class ReferenceLine:
    """A marked horizontal line: a target or a threshold. `words` say in the legend what
    it means; `label` is the value as written on the axis."""

    value: float
    words: str
    label: str | None = None


def text_width(text: str, size: float) -> float:
    return sum(size if ord(char) >= 0x2000 else NARROW_EM * size for char in text)


def abbreviated(text: str, size: float = LABEL_SIZE, max_em: float = LABEL_MAX_EM) -> str:
    """The text, cut to at most `max_em` ems with an ellipsis if it is longer."""
    limit = max_em * size
    if text_width(text, size) <= limit:
        return text
    kept = ""
    for char in text:
        if text_width(kept + char, size) + size > limit:
            break
        kept += char
    return kept + "…"


def abbreviated_labels(labels: list[str]) -> dict[str, str]:
    """Each label as drawn. When some must be cut, the start they all share (a city's or a
    district's name) goes first, so that what tells them apart is what remains."""
    if all(text_width(label, LABEL_SIZE) <= LABEL_MAX_EM * LABEL_SIZE for label in labels):
        return {label: label for label in labels}
    shared = os.path.commonprefix(labels) if len(set(labels)) > 1 else ""
    if len(shared) < 2:
        return {label: abbreviated(label) for label in labels}
    return {label: abbreviated("…" + label[len(shared) :]) for label in labels}


def bar_chart(
    title: str,
    labels: list[str],
    series: dict[str, list],
    *,
    no_data_text: str = "",
    reference_lines: list[ReferenceLine] = (),
    value_range: tuple[float, float] | None = None,
    value_formatter: Callable[[float], str] = lambda value: f"{value:g}",
) -> str:
    """A bar chart as SVG text: one bar per label for each series (name → values, in the
    order of `labels`; None draws no bar), with any reference lines across it. The value
    axis runs over `value_range`, or from 0 to the largest value; `value_formatter` writes
    its values."""
    values = [v for vs in series.values() for v in vs if v is not None]
    bottom, top = value_range or (0, max([1, *values, *(line.value for line in reference_lines)]))
    ticks = _ticks(bottom, top)
    top = max(top, ticks[-1])
    tick_texts = [value_formatter(tick) for tick in ticks]
    reference_texts = [line.label or value_formatter(line.value) for line in reference_lines]
    axis_width = max(text_width(t, LABEL_SIZE) for t in [*tick_texts, *reference_texts]) + GAP

    layout = _label_layout(labels, axis_width)
    width = layout.left + layout.plot_width + MARGIN
    plot_top = MARGIN + TITLE_SIZE * LINE_HEIGHT + MARGIN
    plot_bottom = plot_top + PLOT_HEIGHT
    legend_top = plot_bottom + GAP + layout.label_depth + MARGIN
    items = [
        (name, "series", colour) for name, colour in zip(series, _colours(series), strict=True)
    ]
    items += [(line.words, "reference", ALERT_COLOUR) for line in reference_lines]
    legend, legend_height = _legend(items, layout.left, legend_top, width - MARGIN)
    height = legend_top + legend_height + MARGIN

    def y_of(value: float) -> float:
        share = (min(max(value, bottom), top) - bottom) / ((top - bottom) or 1)
        return plot_bottom - share * PLOT_HEIGHT

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" font-family={quoteattr(FONT_FAMILY)}>',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        _text(width / 2, MARGIN + TITLE_SIZE, title, TITLE_SIZE, anchor="middle", css="title"),
    ]
    if not labels or not values:
        parts.append(
            _text(width / 2, plot_top + PLOT_HEIGHT / 2, no_data_text, LEGEND_SIZE, "middle")
        )
        parts.append("</svg>")
        return "".join(parts)

    left, right = layout.left, layout.left + layout.plot_width
    marked = [y_of(line.value) for line in reference_lines]
    for tick, text in zip(ticks, tick_texts, strict=True):
        y = y_of(tick)
        parts.append(f'<path d="M{left:.1f} {y:.1f}H{right:.1f}" stroke="{GRID}"/>')
        # A reference line's value is written in its place, in its colour.
        if all(abs(y - other) >= LABEL_SIZE * LINE_HEIGHT for other in marked):
            parts.append(_text(left - GAP, y + LABEL_SIZE * 0.35, text, LABEL_SIZE, "end", SUBTLE))
    parts.append(f'<path d="M{left:.1f} {plot_bottom:.1f}H{right:.1f}" stroke="{INK}"/>')

    colours = _colours(series)
    bar_width = layout.slot * 0.8 / len(series)
    for index, label in enumerate(labels):
        slot_left = left + index * layout.slot
        for number, (name, bar_values) in enumerate(series.items()):
            value = bar_values[index]
            if value is None:
                continue
            x = slot_left + layout.slot * 0.1 + number * bar_width
            y = y_of(value)
            parts.append(
                f'<rect class="bar" x="{x:.2f}" y="{y:.2f}" width="{bar_width:.2f}" '
                f'height="{plot_bottom - y:.2f}" fill="{colours[number]}">'
                f"<title>{escape(f'{label} · {name}: {value_formatter(value)}')}</title></rect>"
            )
        if index % layout.every == 0:
            parts.append(_label(slot_left + layout.slot / 2, plot_bottom + GAP, label, layout))

    for line, text in zip(reference_lines, reference_texts, strict=True):
        y = y_of(line.value)
        parts.append(
            f'<path class="reference-line" d="M{left:.1f} {y:.1f}H{right:.1f}" '
            f'stroke="{ALERT_COLOUR}" stroke-width="3" stroke-dasharray="10,4">'
            f"<title>{escape(line.words)}</title></path>"
        )
        parts.append(
            _text(left - GAP, y + LABEL_SIZE * 0.35, text, LABEL_SIZE, "end", ALERT_COLOUR,
                  css="reference-value", bold=True)
        )  # fmt: skip
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class _LabelLayout:
    left: float  # where the plot begins
    slot: float  # each label's share of the width
    plot_width: float
    every: int  # one label drawn every so many bars
    degrees: int  # how far the labels are turned, anticlockwise
    label_depth: float  # how far the labels reach below the axis
    shown: dict  # label → its text as drawn


def _label_layout(labels: list[str], axis_width: float) -> _LabelLayout:
    """Labels side by side if they fit under a chart of the least width; otherwise turned,
    with the bars spaced (the chart widened) so that turned labels clear one another."""
    count = max(len(labels), 1)
    shown = abbreviated_labels(labels)
    widest = max((text_width(text, LABEL_SIZE) for text in shown.values()), default=0)
    left = MARGIN + axis_width
    room = MIN_WIDTH - left - MARGIN
    if widest + GAP <= room / count:
        depth = LABEL_SIZE * LINE_HEIGHT
        return _LabelLayout(left, room / count, room, 1, 0, depth, shown)
    every = max(1, math.ceil(count * TURNED_SPACING / MAX_PLOT_WIDTH))
    slot = max(room / count, TURNED_SPACING / every)
    turn = math.radians(TURN_DEGREES)
    # The first label hangs left of its bar: the plot starts late enough to hold it.
    reach = widest * math.cos(turn) - slot / 2
    left = max(left, MARGIN + reach)
    depth = widest * math.sin(turn) + LABEL_SIZE * LINE_HEIGHT
    return _LabelLayout(left, slot, slot * count, every, TURN_DEGREES, depth, shown)


def _label(x: float, y: float, label: str, layout: _LabelLayout) -> str:
    """A bar's label hanging from the axis: centred under the bar, or turned so that it
    ends under the bar. Its full text is its <title>."""
    text = escape(layout.shown[label])
    full = f"<title>{escape(label)}</title>"
    baseline = y + LABEL_SIZE
    if not layout.degrees:
        return (
            f'<text class="x-label" x="{x:.2f}" y="{baseline:.2f}" font-size="{LABEL_SIZE}" '
            f'text-anchor="middle" fill="{INK}">{full}{text}</text>'
        )
    return (
        f'<text class="x-label" x="{x:.2f}" y="{baseline:.2f}" font-size="{LABEL_SIZE}" '
        f'text-anchor="end" fill="{INK}" '
        f'transform="rotate({-layout.degrees} {x:.2f} {baseline:.2f})">{full}{text}</text>'
    )


def _legend(items, left: float, top: float, right: float) -> tuple[list[str], float]:
    """The legend's entries left to right, wrapping: a square for a series, a dashed line
    for a reference line, each with its words."""
    parts = ['<g class="legend">']
    x, y = left, top
    row = LEGEND_SIZE * LINE_HEIGHT + GAP
    for words, kind, colour in items:
        swatch = 28 if kind == "reference" else LEGEND_SIZE
        needed = swatch + GAP + text_width(words, LEGEND_SIZE)
        if x > left and x + needed > right:
            x, y = left, y + row
        middle = y + LEGEND_SIZE / 2
        if kind == "reference":
            parts.append(
                f'<path d="M{x:.1f} {middle:.1f}h{swatch}" stroke="{colour}" stroke-width="3" '
                'stroke-dasharray="10,4"/>'
            )
        else:
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{swatch}" height="{swatch}" '
                f'fill="{colour}"/>'
            )
        parts.append(
            _text(x + swatch + GAP, y + LEGEND_SIZE * 0.9, words, LEGEND_SIZE, css=f"legend-{kind}")
        )
        x += needed + 3 * GAP
    parts.append("</g>")
    return parts, (y - top) + row if items else 0


def _text(x, y, text, size, anchor="start", colour=INK, css=None, bold=False) -> str:
    attributes = f' class="{css}"' if css else ""
    attributes += ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{colour}"{attributes}>{escape(text)}</text>'
    )


def _colours(series: dict) -> list[str]:
    return [SERIES_COLOURS[number % len(SERIES_COLOURS)] for number in range(len(series))]


def svg_response(svg: str) -> Response:
    return Response(svg, mimetype=SVG)


def _ticks(bottom: float, top: float, count: int = 10) -> list[float]:
    """Round steps from bottom to at least top, about `count` of them."""
    span = top - bottom
    if span <= 0:
        return [bottom]
    steps = (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
    step = next((s for s in steps if span / s <= count), span / count)
    ticks, value = [], bottom
    while value < top + step - 1e-9:
        ticks.append(value)
        value += step
    return ticks
