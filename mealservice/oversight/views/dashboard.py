from mealservice.core.auth import canteen_scope, current_user
from mealservice.oversight.schemas.dashboard import DashboardOut, DashboardQuery
from mealservice.oversight.services.dashboard import current_month, district_dashboard
from mealservice.oversight.views import blp
from mealservice.places.services import get_district


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
