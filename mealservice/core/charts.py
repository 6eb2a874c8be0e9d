"""Charts drawn on the server as SVG (pygal), shown in pages as <img> so no script runs in
the page; every page that shows one also shows its figures in a table."""

import sys

import pygal
from flask import Response
from pygal.style import Style

# pygal appends to sys.meta_path an import hook for its map plugins (unused here) that has
# no find_spec: every later import that no other finder answers (openpyxl trying numpy)
# then warns, and the test suite treats warnings as errors. Take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

SVG = "image/svg+xml"
ALERT_COLOUR = "#b3261e"

# The site's colours and fonts: Chinese labels need a font that has them. A "major" guide
# line is the one a chart marks as a target or a threshold: drawn in the alert colour.
CHART_STYLE = Style(
    font_family='"WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", sans-serif',
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1b1b",
    foreground_strong="#1b1b1b",
    foreground_subtle="#5b5b5b",
    colors=("#9e9e9e", ALERT_COLOUR, "#0b57d0"),
    major_guide_stroke_color=ALERT_COLOUR,
    major_guide_stroke_dasharray="10,4",
    label_font_size=14,
    major_label_font_size=16,
    legend_font_size=16,
    title_font_size=18,
)
# pygal's own style sheets, and the threshold line drawn thicker than the other guides.
CHART_CSS = (
    "file://style.css",
    "file://graph.css",
    "inline:.axis .major.guide.line{stroke-width:3px}",
)


def bar_chart(
    title: str,
    labels: list[str],
    series: dict[str, list],
    *,
    no_data_text: str = "",
    threshold: float | None = None,
    **options,
) -> str:
    """A bar chart as SVG text: one bar per label for each series (name → values, in the
    order of `labels`). `threshold` draws a marked horizontal line at that value (pass
    `range` so the axis holds it); other keyword arguments are pygal's options."""
    settings = {
        "height": 360,
        "legend_at_bottom": True,
        "x_label_rotation": -45 if len(labels) > 10 else 0,
        "truncate_label": 24,
        **options,
    }
    if threshold is not None:
        bottom, top = settings.get("range") or (0, max([threshold, *_values(series)]))
        settings.setdefault("y_labels", sorted({*_ticks(bottom, top), threshold}))
        settings["y_labels_major"] = [threshold]
        settings["show_minor_y_labels"] = True
    # js=[]: pygal's tooltips script is left out; shown as an <img> no script runs anyway.
    chart = pygal.Bar(
        js=[],
        css=CHART_CSS,
        disable_xml_declaration=True,
        style=CHART_STYLE,
        no_data_text=no_data_text,
        title=title,
        **settings,
    )
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return chart.render(is_unicode=True)


def svg_response(svg: str) -> Response:
    return Response(svg, mimetype=SVG)


def _values(series: dict[str, list]) -> list:
    return [value for values in series.values() for value in values if value is not None]


def _ticks(bottom: float, top: float, count: int = 10) -> list[float]:
    """Round steps from bottom to top, about `count` of them."""
    span = top - bottom
    if span <= 0:
        return [bottom]
    steps = (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000)
    step = next((s for s in steps if span / s <= count), span / count)
    ticks, value = [], bottom
    while value <= top + 1e-9:
        ticks.append(value)
        value += step
    return ticks
