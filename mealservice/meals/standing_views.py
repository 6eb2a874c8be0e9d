from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.core.schemas import page_of_query
from mealservice.meals import standing as services
from mealservice.meals.standing_schemas import (
    HoldIn,
    HoldOut,
    StandingOrderIn,
    StandingOrderList,
    StandingOrderOut,
    StandingOrderQuery,
)

blp = Blueprint(
    "standing_orders",
    __name__,
    url_prefix="/api/v1",
    description="Standing orders: a meal placed every chosen weekday, with holds for dates away",
)


@blp.route("/standing-orders")
class StandingOrders(MethodView):
    @blp.requires("standing_orders.read")
    @blp.arguments(StandingOrderQuery, location="query")
    @blp.response(200, StandingOrderList)
    def get(self, query):
        """The standing orders in the caller's scope, oldest first."""
        found = services.standing_orders_query(
            current_user(), elder_id=query.get("elder_id"), canteen_id=query.get("canteen_id")
        )
        return page_of_query(found, query["page"], query["per_page"])

    @blp.requires("standing_orders.write", 404, 409)
    @blp.arguments(StandingOrderIn)
    @blp.response(201, StandingOrderOut)
    def post(self, data):
        """Order a meal for an elder on every chosen weekday, until stopped.

        The scheduler places an order for each published menu of the canteen and slot,
        up to two days ahead, on the chosen weekdays outside any hold. Refusals: 404 for
        an elder or canteen outside the caller's scope; 409 `elder_inactive`,
        `no_delivery` (the canteen does not deliver), `standing_order_exists` (the elder
        already has one for this meal on one of these weekdays)."""
        return services.create_standing_order(current_user(), data)


@blp.get("/standing-orders/<id:standing_order_id>")
@blp.requires("standing_orders.read", scope=services.get_standing_order)
@blp.response(200, StandingOrderOut)
def standing_order_item(standing_order_id):
    return services.get_standing_order(current_user(), standing_order_id)


@blp.post("/standing-orders/<id:standing_order_id>/stop")
@blp.requires("standing_orders.write", scope=services.get_standing_order)
@blp.response(200, StandingOrderOut)
def stop_standing_order(standing_order_id):
    """Place no more orders from it; the orders already placed stay, each cancellable."""
    user = current_user()
    return services.stop_standing_order(user, services.get_standing_order(user, standing_order_id))


@blp.post("/standing-orders/<id:standing_order_id>/holds")
@blp.requires("standing_orders.write", 409, scope=services.get_standing_order)
@blp.arguments(HoldIn)
@blp.response(201, HoldOut)
def add_hold(data, standing_order_id):
    """No orders from `starts_on` to `ends_on` inclusive (hospital, a family visit); the
    standing order resumes by itself the day after. 409 `standing_order_stopped`."""
    user = current_user()
    return services.add_hold(
        user,
        services.get_standing_order(user, standing_order_id),
        data["starts_on"],
        data["ends_on"],
        data["reason"],
    )


def _hold_scope(user, standing_order_id, hold_id):
    services.get_hold(services.get_standing_order(user, standing_order_id), hold_id)


@blp.delete("/standing-orders/<id:standing_order_id>/holds/<id:hold_id>")
@blp.requires("standing_orders.write", scope=_hold_scope)
@blp.response(200, StandingOrderOut)
def remove_hold(standing_order_id, hold_id):
    """Lift a hold: orders resume for its dates still open."""
    user = current_user()
    standing_order = services.get_standing_order(user, standing_order_id)
    return services.remove_hold(user, standing_order, services.get_hold(standing_order, hold_id))
