"""The district dashboard page: the month's headline figures, three charts drawn on the
server (SVG images, each served by its own route, so no script runs in the page) and the
tables that are their accessible version. A manager sees their own canteen's figures.

The figures are computed once a page view: the page keeps them in this worker for a
minute under a token its chart URLs carry, and the charts the browser fetches right after
draw from them. A chart without a usable token (another worker, a minute gone) computes
its own; a new page load always computes, so a meal served shows at the next load."""

from flask import render_template, request, url_for
from flask_babel import gettext as _

from mealservice.core import charts
from mealservice.core.auth import canteen_scope, current_user, require_permission
from mealservice.core.errors import ApiError
from mealservice.core.handoff import Handoff
from mealservice.core.periods import is_month, month_bounds
from mealservice.oversight.pages import bp
from mealservice.oversight.services.dashboard import current_month, district_dashboard
from mealservice.places import registry
from mealservice.places.services import get_district

# The page's figures for its charts: what the page shows, they draw.
PAGE_FIGURES = Handoff(seconds=60)


def _figures(code: str, *, strict: bool) -> tuple[dict, list[str]]:
    """The dashboard for the month asked for in the query. A month that does not parse
    falls back to the current one with a message on the page; a chart (`strict`) is
    refused instead, since the page only links valid months, and reuses the figures of
    the page that linked it when this worker still has them."""
    user = require_permission("dashboard.read", scope=get_district, code=code)
    district = get_district(user, code)
    text = request.args.get("month", "").strip()
    errors = []
    if text and not is_month(text):
        if strict:
            raise ApiError(422, "validation_error", _("The month must look like 2026-10."))
        errors.append(_("The month must look like 2026-10."))
    month = text if text and not errors else current_month(district)
    canteen_id = canteen_scope(user)
    if strict:
        kept = PAGE_FIGURES.take(request.args.get("figures"), (district.code, month, canteen_id))
        if kept is not None:
            return kept, errors
    return district_dashboard(district, month, canteen_id=canteen_id), errors


@bp.get("/districts/<code:code>/dashboard")
def dashboard(code: str):
    figures, errors = _figures(code, strict=False)
    month = figures["month"]
    first, last = month_bounds(month)
    through = figures["through"]
    capacity_range = {}
    if through is not None:
        capacity_range = {"from": first.isoformat(), "to": through.isoformat()}
    by_id = {row["canteen_id"]: row for row in figures["utilisation_by_canteen"]}
    token = PAGE_FIGURES.keep((figures["district_code"], month, figures["canteen_id"]), figures)
    return render_template(
        "oversight/dashboard.html",
        figures=figures,
        month=month,
        errors=errors,
        failing=[by_id[canteen_id] for canteen_id in figures["failing_canteens"]],
        capacity_range=capacity_range,
        under_way=through is not None and through < last,
        standing=registry.places_not_in_good_standing(
            code, get_district(current_user(), code).local_today()
        ),
        chart_urls={
            name: url_for(f".{name}_chart", code=code, month=month, figures=token)
            for name in ("meals", "subsidy", "utilisation")
        },
    )


@bp.get("/districts/<code:code>/dashboard/meals.svg")
def meals_chart(code: str):
    """Meals (not voided) per day of the month."""
    figures, _errors = _figures(code, strict=True)
    days = figures["meals_per_day"]
    return charts.svg_response(
        charts.bar_chart(
            _("Meals per day, %(month)s", month=figures["month"]),
            [day["date"].strftime("%m-%d") for day in days],
            {_("Meals"): [day["meals"] for day in days]},
            no_data_text=_("No meals this month."),
        )
    )


@bp.get("/districts/<code:code>/dashboard/subsidy.svg")
def subsidy_chart(code: str):
    """Subsidy (meal and delivery) per meal place, in yuan."""
    figures, _errors = _figures(code, strict=True)
    rows = figures["subsidy_by_canteen"]
    return charts.svg_response(
        charts.bar_chart(
            _("Subsidy per meal place, %(month)s (yuan)", month=figures["month"]),
            [row["name"] for row in rows],
            {_("Subsidy (yuan)"): [row["subsidy_fen"] / 100 for row in rows]},
            no_data_text=_("No meal places."),
            value_formatter=lambda value: f"{value:,.2f}",
        )
    )


@bp.get("/districts/<code:code>/dashboard/utilisation.svg")
def utilisation_chart(code: str):
    """Seat use per meal place in percent, with the failing threshold as a marked line."""
    figures, _errors = _figures(code, strict=True)
    rows = figures["utilisation_by_canteen"]
    threshold = round(figures["failing_threshold"] * 100)
    return charts.svg_response(
        charts.bar_chart(
            _("Seat use per meal place, %(month)s (%%)", month=figures["month"]),
            [row["name"] for row in rows],
            {_("Seat use (%)"): [round(row["utilisation"] * 100, 1) for row in rows]},
            no_data_text=_("No meal places."),
            reference_lines=[
                charts.ReferenceLine(
                    threshold,
                    _(
                        "Red dashed line: %(threshold)s %% seat use; a meal place below it "
                        "is listed as having low seat use",
                        threshold=threshold,
                    ),
                    label=f"{threshold}%",
                )
            ],
            value_range=(0, 100),
            value_formatter=lambda value: f"{value:g}%",
        )
    )
