from mealservice.core.api import Blueprint
from mealservice.core.auth import canteen_scope, current_user
from mealservice.oversight.dashboard import current_month, district_dashboard
from mealservice.oversight.dashboard_schemas import DashboardOut, DashboardQuery
from mealservice.places.services import get_district

blp = Blueprint("dashboard", __name__, url_prefix="/api/v1", description="The district dashboard")


@blp.get("/districts/<code:code>/dashboard")
@blp.requires("dashboard.read", 422, scope=get_district)
@blp.arguments(DashboardQuery, location="query")
@blp.response(200, DashboardOut)
def dashboard(query, code):
    """The district's coverage, the month's meals, subsidy and seat use per meal place,
    open claim anomalies and welfare alerts. A manager gets their own canteen's figures
    (coverage stays district-wide)."""
    user = current_user()
    district = get_district(user, code)
    month = query.get("month") or current_month(district)
    return district_dashboard(district, month, canteen_id=canteen_scope(user))
