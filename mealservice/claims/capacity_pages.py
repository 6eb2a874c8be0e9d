"""The capacity report page: seats against use per menu, summed per slot, with a chart
drawn on the server (an SVG image, so no script runs in the page) and the table that is
the accessible version of it."""

import sys
from datetime import date

import pygal
from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pygal.style import Style

from mealservice.claims import capacity
from mealservice.core.auth import require_permission
from mealservice.core.errors import ApiError, ValidationFailed
from mealservice.places.services import get_canteen

bp = Blueprint("capacity_pages", __name__)

# pygal appends to sys.meta_path an import hook for its map plugins (unused here) that has
# no find_spec: every later import that no other finder answers (openpyxl trying numpy)
# then warns, and the test suite treats warnings as errors. Take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

SLOT_NAMES = {"breakfast": _l("Breakfast"), "lunch": _l("Lunch"), "dinner": _l("Dinner")}
RANGE_TEXTS = {
    capacity.END_BEFORE_START: _l("The end date may not be before the start date."),
    capacity.RANGE_TOO_LONG: _l("The report covers at most %(n)s days.", n=capacity.MAX_DAYS),
}
# The site's colours and fonts: Chinese labels need a font that has them.
CHART_STYLE = Style(
    font_family='"WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", sans-serif',
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1b1b",
    foreground_strong="#1b1b1b",
    foreground_subtle="#5b5b5b",
    colors=("#9e9e9e", "#b3261e"),
    label_font_size=14,
    major_label_font_size=14,
    legend_font_size=16,
    title_font_size=18,
)


def _dates(canteen) -> tuple[date, date, list[str]]:
    """The range asked for in the query, and what was wrong with it; a date that does not
    parse or a range the report refuses falls back to the default week."""
    errors = []
    asked = {}
    for name in ("from", "to"):
        text = request.args.get(name, "").strip()
        if not text:
            asked[name] = None
            continue
        try:
            asked[name] = date.fromisoformat(text)
        except ValueError:
            asked[name] = None
            errors.append(_("The dates must look like 2026-11-24."))
    try:
        start, end = capacity.report_range(canteen, asked["from"], asked["to"])
    except ValidationFailed as error:
        errors.extend(str(RANGE_TEXTS.get(m, m)) for m in error.fields["to"])
        start, end = capacity.report_range(canteen, None, None)
    return start, end, list(dict.fromkeys(errors))


@bp.get("/canteens/<id:canteen_id>/capacity")
def capacity_report(canteen_id: int):
    user = require_permission("capacity.read", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    start, end, errors = _dates(canteen)
    items = capacity.capacity_report(canteen, start, end)
    return render_template(
        "claims/capacity.html",
        canteen=canteen,
        start=start,
        end=end,
        errors=errors,
        items=items,
        totals=capacity.slot_totals(items),
        slot_names=SLOT_NAMES,
        max_days=capacity.MAX_DAYS,
        chart_url=url_for(
            "capacity_pages.capacity_chart",
            canteen_id=canteen.id,
            **{"from": start.isoformat(), "to": end.isoformat()},
        ),
    )


@bp.get("/canteens/<id:canteen_id>/capacity.svg")
def capacity_chart(canteen_id: int):
    """The page's chart: seats offered and dine-in meals served per date."""
    user = require_permission("capacity.read", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    start, end, errors = _dates(canteen)
    if errors:
        # The page only links valid ranges; a hand-made URL gets the reason, not a chart.
        raise ApiError(422, "validation_error", " ".join(errors))
    days = capacity.date_totals(capacity.capacity_report(canteen, start, end))
    # js=[]: pygal's tooltips script is left out; shown as an <img> no script runs anyway.
    chart = pygal.Bar(
        js=[],
        disable_xml_declaration=True,
        style=CHART_STYLE,
        height=360,
        x_label_rotation=-45 if len(days) > 10 else 0,
        show_minor_x_labels=len(days) <= 31,
        x_labels_major_every=7 if len(days) > 31 else None,
        legend_at_bottom=True,
        no_data_text=_("No published menus in this period."),
        title=_("Seats and dine-in meals per day"),
    )
    chart.x_labels = [day["date"].strftime("%m-%d") for day in days]
    chart.add(_("Seats"), [day["seats"] for day in days])
    chart.add(_("Dine-in meals served"), [day["served"] for day in days])
    return Response(chart.render(is_unicode=True), mimetype="image/svg+xml")
