from flask import send_file

from mealservice.claims import exports
from mealservice.claims.summary import district_summary
from mealservice.claims.summary_schemas import DistrictSummaryOut, SummaryQuery
from mealservice.core.api import Blueprint
from mealservice.places.services import get_district

blp = Blueprint(
    "claim_summary", __name__, url_prefix="/api/v1", description="District claim summaries"
)


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
