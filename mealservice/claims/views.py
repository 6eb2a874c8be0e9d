from flask import send_file

from mealservice.claims import capacity, exports, services
from mealservice.claims.schemas import (
    CapacityQuery,
    CapacityReportOut,
    ClaimIn,
    ClaimList,
    ClaimOut,
    ClaimQuery,
    DistrictSummaryOut,
    LineList,
    LineQuery,
    MonthQuery,
    ReviewIn,
    SummaryQuery,
)
from mealservice.claims.summary import district_summary
from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.core.schemas import page_of_query
from mealservice.places.services import get_canteen, get_district

blp = Blueprint(
    "claims",
    __name__,
    url_prefix="/api/v1",
    description="Capacity reports, monthly subsidy claims and reviews, district summaries",
)


def _body(query_page: dict) -> dict:
    return {**query_page, "items": [services.claim_body(c) for c in query_page["items"]]}


@blp.post("/canteens/<id:canteen_id>/claims")
@blp.requires("claims.make", 409, 422, scope=get_canteen)
@blp.arguments(ClaimIn)
@blp.response(201, ClaimOut)
def make_claim(data, canteen_id):
    """Claim a month's subsidies once the month and its grace period have passed; the
    month is then closed to scans, voids and orders. 409 `claim_exists`,
    `month_not_ended`."""
    user = current_user()
    claim = services.make_claim(user, get_canteen(user, canteen_id), data["month"])
    return services.claim_body(claim)


@blp.get("/canteens/<id:canteen_id>/claims/preview")
@blp.requires("claims.preview", 422, scope=get_canteen)
@blp.arguments(MonthQuery, location="query")
@blp.response(200, ClaimOut)
def preview_claim(query, canteen_id):
    """What a claim for any month (the current one too) would say now; nothing is saved."""
    return services.preview(get_canteen(current_user(), canteen_id), query["month"])


@blp.get("/claims")
@blp.requires("claims.read", 422)
@blp.arguments(ClaimQuery, location="query")
@blp.response(200, ClaimList)
def claim_list(query):
    """Claims in the caller's scope, by district, month and status; latest month first."""
    claims = services.claims_query(
        current_user(), query.get("district"), query.get("month"), query.get("status")
    )
    return _body(page_of_query(claims, query["page"], query["per_page"]))


@blp.get("/claims/<id:claim_id>")
@blp.requires("claims.read", scope=services.get_claim)
@blp.response(200, ClaimOut)
def claim_item(claim_id):
    """A claim with its totals, its anomalies and its decision."""
    return services.claim_body(services.get_claim(current_user(), claim_id))


@blp.get("/claims/<id:claim_id>/lines")
@blp.requires("claims.read", 422, scope=services.get_claim)
@blp.arguments(LineQuery, location="query")
@blp.response(200, LineList)
def claim_lines(query, claim_id):
    """One line per meal of the claim (the elder masked), with its anomalies and any
    rejection."""
    claim = services.get_claim(current_user(), claim_id)
    items, more = services.lines(claim, query["page"], query["per_page"])
    return {"items": items, "next": query["page"] + 1 if more else None}


@blp.get("/claims/<id:claim_id>.xlsx")
@blp.requires("claims.read", scope=services.get_claim)
@blp.response(
    200,
    content_type=exports.XLSX,
    description="the claim as a workbook: a summary sheet and a lines sheet",
)
def claim_xlsx(claim_id):
    claim = services.get_claim(current_user(), claim_id)
    return send_file(
        exports.claim_workbook(claim),
        mimetype=exports.XLSX,
        as_attachment=True,
        download_name=exports.claim_file_name(claim),
    )


@blp.post("/claims/<id:claim_id>/review")
@blp.requires("claims.review", 409, 422, scope=services.get_claim)
@blp.arguments(ReviewIn)
@blp.response(200, ClaimOut)
def review_claim(data, claim_id):
    """Approve (all lines, or all but `rejected_meal_ids`) or reject, with the reason. A
    decided claim is final: 409 `claim_decided`."""
    user = current_user()
    claim = services.review(
        user,
        services.get_claim(user, claim_id),
        data["decision"],
        data["reason"].strip(),
        data.get("rejected_meal_ids"),
        data.get("line_reasons"),
    )
    return services.claim_body(claim)


@blp.post("/claims/<id:claim_id>/resubmit")
@blp.requires("claims.make", 409, scope=services.get_claim)
@blp.response(201, ClaimOut)
def resubmit_claim(claim_id):
    """Make a rejected claim again as its next revision. 409 `claim_not_rejected`,
    `claim_exists` (a later revision exists)."""
    user = current_user()
    return services.claim_body(services.resubmit(user, services.get_claim(user, claim_id)))


# The capacity report


@blp.get("/canteens/<id:canteen_id>/capacity")
@blp.requires("capacity.read", scope=get_canteen)
@blp.arguments(CapacityQuery, location="query")
@blp.response(200, CapacityReportOut)
def capacity_report(query, canteen_id):
    """Seats against use, one item per published menu of the canteen from `from` to `to`
    (local dates, both included; default the 7 days ending today; at most 92 days), by
    date then breakfast, lunch, dinner. `booked`: dine-in orders not cancelled;
    `served`: dine-in meals not voided; `delivered`: delivery orders delivered;
    `utilisation`: served / seats. A `to` before `from` or a longer range is a 422 naming
    `to`."""
    canteen = get_canteen(current_user(), canteen_id)
    start, end = capacity.report_range(canteen, query.get("start"), query.get("end"))
    return {"items": capacity.capacity_report(canteen, start, end)}


# A district's month of claims


@blp.get("/districts/<code:code>/claims-summary")
@blp.requires("claims.summary", 422, scope=get_district)
@blp.arguments(SummaryQuery, location="query")
@blp.response(200, DistrictSummaryOut)
def claims_summary(query, code):
    """The district's month: one item per canteen with its latest claim revision (null
    figures where none was made yet), and the district's totals of the claims made."""
    return district_summary(code, query["month"])


@blp.get("/districts/<code:code>/claims-summary.xlsx")
@blp.requires("claims.summary", 422, scope=get_district)
@blp.arguments(SummaryQuery, location="query")
@blp.response(
    200,
    content_type=exports.XLSX,
    description="the district's month as a workbook: a row per canteen and a totals row",
)
def claims_summary_xlsx(query, code):
    summary = district_summary(code, query["month"])
    return send_file(
        exports.district_summary_workbook(summary),
        mimetype=exports.XLSX,
        as_attachment=True,
        download_name=exports.district_summary_file_name(summary),
    )
