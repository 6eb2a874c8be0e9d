from mealservice.claims import capacity
from mealservice.claims.capacity_schemas import CapacityQuery, CapacityReportOut
from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.places.services import get_canteen

blp = Blueprint("capacity", __name__, url_prefix="/api/v1", description="Capacity reports")


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
