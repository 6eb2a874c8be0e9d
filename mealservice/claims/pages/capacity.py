"""The capacity report page: seats against use per menu, summed per slot, with a chart
drawn on the server (an SVG image, so no script runs in the page) and the table that is
the accessible version of it."""

from datetime import date

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mealservice.claims import capacity
from mealservice.claims.pages import bp
from mealservice.core.auth import require_permission
from mealservice.core.charts import bar_chart, svg_response
from mealservice.core.errors import ApiError, ValidationFailed
from mealservice.places.services import get_canteen

RANGE_TEXTS = {
    capacity.END_BEFORE_START: _l("The end date may not be before the start date."),
    capacity.RANGE_TOO_LONG: _l("The report covers at most %(n)s days.", n=capacity.MAX_DAYS),
}


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
        max_days=capacity.MAX_DAYS,
        chart_url=url_for(
            "claims_pages.capacity_chart",
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
    svg = bar_chart(
        _("Seats and dine-in meals per day"),
        [day["date"].strftime("%m-%d") for day in days],
        {
            _("Seats"): [day["seats"] for day in days],
            _("Dine-in meals served"): [day["served"] for day in days],
        },
        no_data_text=_("No published menus in this period."),
    )
    return svg_response(svg)
