from flask import jsonify
from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.core.db import reads_first, start_writing
from mealservice.core.idempotency import HEADER_DOC, idempotent
from mealservice.core.schemas import page_of_query
from mealservice.elders.schemas import ElderList, elder_staff_out
from mealservice.elders.services import get_elder
from mealservice.meals import kitchen, orders, services, standing
from mealservice.meals.schemas import (
    HoldIn,
    HoldOut,
    KitchenCountsOut,
    KitchenCountsQuery,
    LookupQuery,
    MealList,
    MealOut,
    MealQuery,
    OrderIn,
    OrderList,
    OrderOut,
    OrderQuery,
    QuoteOut,
    QuoteQuery,
    RatingIn,
    RatingOut,
    ScanIn,
    StandingOrderIn,
    StandingOrderList,
    StandingOrderOut,
    StandingOrderQuery,
    VoidIn,
)
from mealservice.places.services import get_canteen, get_counter_canteen

blp = Blueprint(
    "meals",
    __name__,
    url_prefix="/api/v1",
    description="Scans, meals, quotes, orders, standing orders and the kitchen's counts",
)


@blp.route("/canteens/<id:canteen_id>/scans")
class Scans(MethodView):
    @reads_first
    @blp.requires("meals.scan", 409, 422, scope=get_counter_canteen)
    @blp.doc(parameters=[HEADER_DOC])
    @idempotent
    @blp.arguments(ScanIn)
    @blp.response(201, MealOut)
    def post(self, data, canteen_id):
        """Record a dine-in meal for a scanned card (or an elder found by the look-up).

        Refusals: 422 `card_invalid`; 409 `card_revoked`, `card_superseded`, `card_expired`,
        `elder_inactive`, `already_served` (detail says where and when), `capacity_full`,
        `no_menu`, `insufficient_balance` (paid from the meal balance, which is short).
        A 409 for a known card or elder names them: `detail.elder_id` and
        `detail.elder_name` (the name a served meal's `elder.name` gives). A scan with `scanned_at` was queued offline: it is refused only for a bad
        signature, and any other refusal becomes a meal marked `conflict`. A scan by
        `elder_id` is written to the personal-data access log."""
        user = current_user()
        plan = services.plan_scan(user, get_counter_canteen(user, canteen_id), data)
        # The reads are done: on SQLite the write lock is held only for the writes.
        start_writing()
        return services.record_scan(plan)


@blp.route("/canteens/<id:canteen_id>/meals")
class CanteenMeals(MethodView):
    @blp.requires("meals.read", scope=get_canteen)
    @blp.arguments(MealQuery, location="query")
    @blp.response(200, MealList)
    def get(self, query, canteen_id):
        """The canteen's meals, latest first."""
        canteen = get_canteen(current_user(), canteen_id)
        meals = services.canteen_meals_query(canteen, query.get("date"), query.get("conflict"))
        return page_of_query(meals, query["page"], query["per_page"])


@blp.get("/meals/<id:meal_id>")
@blp.requires("meals.read", scope=services.get_meal)
@blp.response(200, MealOut)
def meal_item(meal_id):
    return services.get_meal(current_user(), meal_id)


@blp.post("/meals/<id:meal_id>/void")
@blp.requires("meals.void", 409, scope=services.get_meal)
@blp.arguments(VoidIn)
@blp.response(200, MealOut)
def void_meal(data, meal_id):
    """Void a meal on its own local day; its seat and its limit are given back."""
    user = current_user()
    return services.void_meal(user, services.get_meal(user, meal_id), data["reason"])


def _quote_scope(user, elder_id):
    get_elder(user, elder_id)


@blp.get("/elders/<id:elder_id>/quote")
@blp.requires("quotes.read", 409, scope=_quote_scope)
@blp.arguments(QuoteQuery, location="query")
@blp.response(200, QuoteOut)
def quote(query, elder_id):
    """What the elder would pay: the same policy function scans and orders use."""
    user = current_user()
    elder = get_elder(user, elder_id)
    canteen = get_canteen(user, query["canteen_id"])
    price = services.quote(elder, canteen, query)
    body = QuoteOut().dump(price)
    if price.refusal:
        body["refusal"] = "already_ordered" if query["channel"] == "delivery" else "already_served"
    return body


@blp.get("/canteens/<id:canteen_id>/elder-lookup")
@blp.requires("elders.lookup", scope=get_canteen)
@blp.arguments(LookupQuery, location="query")
@blp.response(200, ElderList, description="masked matches, at most 10")
def elder_lookup(query, canteen_id):
    """Find an elder who has no card with them: exact name and the phone's last 4 digits."""
    user = current_user()
    found = services.lookup_elders(
        user,
        get_canteen(user, canteen_id),
        query["name"],
        query["phone_last4"],
        query.get("reason"),
    )
    return jsonify({"items": elder_staff_out.dump(found, many=True), "next": None})


@blp.route("/orders")
class Orders(MethodView):
    @blp.requires("orders.place", 409, 422)
    @blp.doc(parameters=[HEADER_DOC])
    @idempotent
    @blp.arguments(OrderIn)
    @blp.response(201, OrderOut)
    def post(self, data):
        """Order a meal ahead: `dine_in` books a seat, `delivery` is brought to the door.

        Refusals 409: `cutoff_passed`, `capacity_full`, `already_ordered`, `no_delivery`,
        `no_menu` (a draft), `elder_inactive`, `insufficient_balance` (paid from the meal
        balance, which is short)."""
        return orders.place_order(current_user(), data)

    @blp.requires("orders.read")
    @blp.arguments(OrderQuery, location="query")
    @blp.response(200, OrderList)
    def get(self, query):
        """The orders the caller may see, newest first."""
        page, per_page = query.pop("page"), query.pop("per_page")
        return page_of_query(orders.orders_query(current_user(), **query), page, per_page)


@blp.get("/orders/<id:order_id>")
@blp.requires("orders.read", scope=orders.get_order)
@blp.response(200, OrderOut)
def order_item(order_id):
    return orders.get_order(current_user(), order_id)


@blp.post("/orders/<id:order_id>/cancel")
@blp.requires("orders.place", 409, scope=orders.get_order)
@blp.response(200, OrderOut)
def cancel_order(order_id):
    """Cancel before the cutoff and before dispatch; the seat, the limits and any money
    paid from the balance go back. 409 `cutoff_passed`, `already_dispatched`,
    `order_closed`."""
    user = current_user()
    return orders.cancel_order(user, orders.get_order(user, order_id))


@blp.post("/meals/<id:meal_id>/rating")
@blp.requires("ratings.write", 409, scope=services.get_meal)
@blp.arguments(RatingIn)
@blp.response(201, RatingOut)
def rate_meal(data, meal_id):
    """Rate a meal the elder ate: 1 to 5 and a comment (the canteen's manager reads it)."""
    meal = services.get_meal_of_elder(current_user(), meal_id)
    return orders.rate_meal(current_user(), meal, data["score"], data.get("comment"))


@blp.get("/canteens/<id:canteen_id>/ratings")
@blp.requires("ratings.read", scope=get_canteen)
@blp.response(200, RatingOut(many=True))
def canteen_ratings(canteen_id):
    """The canteen's meal ratings, worst first."""
    return orders.canteen_ratings(get_canteen(current_user(), canteen_id))


@blp.route("/canteens/<id:canteen_id>/kitchen-counts")
class KitchenCounts(MethodView):
    @blp.requires("kitchen_counts.read", 409, scope=get_canteen)
    @blp.arguments(KitchenCountsQuery, location="query")
    @blp.response(200, KitchenCountsOut)
    def get(self, query, canteen_id):
        """How many of each option to cook, dine-in and delivery apart, with the walk-ins
        served so far, the soft / low-salt / low-sugar portions and the seats still free."""
        canteen = get_canteen(current_user(), canteen_id)
        day = query.get("date") or canteen.district.local_today()
        return kitchen.kitchen_counts(canteen, day, query["slot"])


# Standing orders: a meal placed every chosen weekday, with holds for dates away


@blp.route("/standing-orders")
class StandingOrders(MethodView):
    @blp.requires("standing_orders.read")
    @blp.arguments(StandingOrderQuery, location="query")
    @blp.response(200, StandingOrderList)
    def get(self, query):
        """The standing orders in the caller's scope, oldest first."""
        found = standing.standing_orders_query(
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
        return standing.create_standing_order(current_user(), data)


@blp.get("/standing-orders/<id:standing_order_id>")
@blp.requires("standing_orders.read", scope=standing.get_standing_order)
@blp.response(200, StandingOrderOut)
def standing_order_item(standing_order_id):
    return standing.get_standing_order(current_user(), standing_order_id)


@blp.post("/standing-orders/<id:standing_order_id>/stop")
@blp.requires("standing_orders.write", scope=standing.get_standing_order)
@blp.response(200, StandingOrderOut)
def stop_standing_order(standing_order_id):
    """Place no more orders from it; the orders already placed stay, each cancellable."""
    user = current_user()
    return standing.stop_standing_order(user, standing.get_standing_order(user, standing_order_id))


@blp.post("/standing-orders/<id:standing_order_id>/holds")
@blp.requires("standing_orders.write", 409, scope=standing.get_standing_order)
@blp.arguments(HoldIn)
@blp.response(201, HoldOut)
def add_hold(data, standing_order_id):
    """No orders from `starts_on` to `ends_on` inclusive (hospital, a family visit); the
    standing order resumes by itself the day after. 409 `standing_order_stopped`."""
    user = current_user()
    return standing.add_hold(
        user,
        standing.get_standing_order(user, standing_order_id),
        data["starts_on"],
        data["ends_on"],
        data["reason"],
    )


def _hold_scope(user, standing_order_id, hold_id):
    standing.get_hold(standing.get_standing_order(user, standing_order_id), hold_id)


@blp.delete("/standing-orders/<id:standing_order_id>/holds/<id:hold_id>")
@blp.requires("standing_orders.write", scope=_hold_scope)
@blp.response(200, StandingOrderOut)
def remove_hold(standing_order_id, hold_id):
    """Lift a hold: orders resume for its dates still open."""
    user = current_user()
    standing_order = standing.get_standing_order(user, standing_order_id)
    return standing.remove_hold(user, standing_order, standing.get_hold(standing_order, hold_id))
