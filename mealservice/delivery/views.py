from flask import request

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.delivery import services
from mealservice.delivery.schemas import (
    AlertList,
    AlertOut,
    DeliveriesQuery,
    DeliveryList,
    DropIn,
    FollowUpIn,
    RedispatchIn,
    RunIn,
    RunList,
    RunOut,
    WebhookOut,
)
from mealservice.meals.orders import get_order
from mealservice.meals.schemas import OrderOut
from mealservice.places.services import get_canteen

blp = Blueprint(
    "delivery", __name__, url_prefix="/api/v1", description="Delivery runs and platform reports"
)


def _with_orders(run):
    # Read by RunOut only: a run has no relationship to its orders.
    run.orders = services.run_orders(run)
    return run


@blp.post("/canteens/<id:canteen_id>/delivery-runs")
@blp.requires("delivery_runs.write", 409, 422, scope=get_canteen)
@blp.arguments(RunIn)
@blp.response(201, RunList)
def make_runs(data, canteen_id):
    """Hand the slot's confirmed delivery orders not yet in a run to a platform, in runs of
    at most DELIVERY_RUN_SIZE split by community, once the slot's ordering cutoff has
    passed. 409 `ordering_open` (before the cutoff), `no_orders`; 422 unknown platform, a
    volunteer run without a `volunteer_id`, or one that is not a volunteer of this canteen."""
    user = current_user()
    runs = services.make_runs(
        user,
        get_canteen(user, canteen_id),
        data["date"],
        data["slot"],
        data["platform"],
        data.get("volunteer_id"),
    )
    return {"items": [_with_orders(run) for run in runs]}


@blp.get("/delivery-runs/<id:run_id>")
@blp.requires("delivery_runs.read", scope=services.get_run)
@blp.response(200, RunOut)
def run_item(run_id):
    """A run and its stops; a volunteer sees only the runs given to them."""
    return _with_orders(services.get_run(current_user(), run_id))


@blp.get("/canteens/<id:canteen_id>/deliveries")
@blp.requires("delivery_runs.read", scope=get_canteen)
@blp.arguments(DeliveriesQuery, location="query")
@blp.response(200, DeliveryList)
def canteen_deliveries(query, canteen_id):
    """The day's delivery orders and how far each got (the manager page's live view)."""
    user = current_user()
    canteen = get_canteen(user, canteen_id)
    day = query.get("date") or canteen.district.local_today()
    orders = services.canteen_delivery_orders(canteen, day, query.get("slot"), actor=user)
    return {"items": orders, "next": None}


@blp.post("/orders/<id:order_id>/redispatch")
@blp.requires("delivery_runs.write", 409, 422, scope=get_order)
@blp.arguments(RedispatchIn)
@blp.response(200, RunOut)
def redispatch(data, order_id):
    """Send a failed order out again in a run of its own. 409 `order_not_failed`,
    `already_served` (the elder ate meanwhile), `insufficient_balance`."""
    user = current_user()
    run = services.redispatch(user, get_order(user, order_id), data.get("platform"))
    return _with_orders(run)


@blp.post("/orders/<id:order_id>/drop")
@blp.requires("deliveries.confirm", 409, 422, 429, scope=services.drop_scope)
@blp.arguments(DropIn)
@blp.response(200, OrderOut)
def drop(data, order_id):
    """A volunteer at the door: `{code}` the elder gave (the meal is handed over), or
    `{no_answer: true}` (nobody came; a welfare alert is raised); a manager settling a drop
    never confirmed at the door: `{by_hand: "delivered" | "not_delivered"}` (403 for a
    volunteer). 409 `wrong_code`, `not_a_volunteer_run`, `order_closed`; 429 `rate_limited`
    after too many wrong codes for the order or from the account (`Retry-After`)."""
    user = current_user()
    order = services.drop_scope(user, order_id)
    if "by_hand" in data:
        return services.settle_drop_by_hand(user, order, data["by_hand"] == "delivered")
    if data.get("no_answer"):
        return services.report_no_answer(user, order)
    return services.confirm_drop(user, order, data["code"])


@blp.post("/delivery/webhooks/<platform>")
@blp.response(200, WebhookOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def webhook(platform):
    """A platform's status report, signed with HMAC-SHA256 under its secret over
    `X-Timestamp + "." + raw body` (hex in `X-Signature`). No login: platforms are not
    users. Duplicates and late reports answer `applied: false` and change nothing."""
    return {"applied": services.receive_webhook(platform, request.headers, request.get_data())}


@blp.get("/alerts")
@blp.requires("alerts.read")
@blp.response(200, AlertList)
def alerts():
    """Welfare alerts not yet followed up, newest first: a canteen's for its manager, a
    district's for its officials."""
    return {"items": services.open_alerts(current_user()), "next": None}


@blp.post("/alerts/<id:alert_id>/follow-up")
@blp.requires("alerts.follow_up", 409, scope=services.get_alert)
@blp.arguments(FollowUpIn)
@blp.response(200, AlertOut)
def follow_up(data, alert_id):
    """Close an alert by recording the follow-up. 409 `already_followed_up`."""
    return services.follow_up_alert(current_user(), alert_id, data["note"])
