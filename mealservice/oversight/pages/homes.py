"""Each role's home, the page a person starts from after logging in: its table, and the two
homes that are pages of their own here — the manager's day at the canteen and the admin's
overview. Both only gather what other packages' services already answer."""

from collections import Counter

from flask import render_template, url_for
from sqlalchemy import func, select

from mealservice.accounts.services import users_query
from mealservice.claims.models import ClaimStatus
from mealservice.claims.services import claims_query
from mealservice.core.auth import Role, may, require_permission
from mealservice.core.db import db
from mealservice.core.errors import ApiError
from mealservice.core.pages import HOMES
from mealservice.core.refusals import COUNTER, words
from mealservice.counter.services import open_refused_scans
from mealservice.delivery.services import canteen_delivery_orders, open_alerts
from mealservice.elders.services import elders_query
from mealservice.meals.kitchen import kitchen_counts
from mealservice.menus.services import planned_slots, week_start
from mealservice.oversight.pages import bp
from mealservice.places.services import districts_query, find_canteens, get_canteen


def _canteen_home(endpoint: str):
    return lambda user: url_for(endpoint, canteen_id=user.canteen_id)


def _dashboard(user) -> str:
    return url_for("oversight_pages.dashboard", code=user.district_code)


HOMES.update(
    {
        Role.ELDER: lambda user: url_for("meals_pages.what_to_eat"),
        Role.FAMILY: lambda user: url_for("meals_pages.what_to_eat"),
        Role.CASHIER: lambda user: url_for("counter_pages.cashier"),
        Role.MANAGER: _canteen_home("oversight_pages.canteen_today"),
        Role.OFFICIAL: _dashboard,
        Role.VOLUNTEER: lambda user: url_for("delivery_pages.my_drops"),
        Role.INSPECTOR: lambda user: url_for("oversight_pages.inspection_list"),
        Role.ADMIN: lambda user: url_for("oversight_pages.overview"),
    }
)


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


@bp.get("/canteens/<id:canteen_id>/today")
def canteen_today(canteen_id: int):
    """Today at the canteen: each meal's seats taken, bookings and what to cook (the
    kitchen's counts), the deliveries by status, the welfare alerts still open, and the
    queued offline scans the service refused that nobody has resolved yet."""
    user = require_permission("oversight.read", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    today = canteen.district.local_today()
    meals = []
    for slot in planned_slots(canteen):
        try:
            counts = kitchen_counts(canteen, today, slot)
        except ApiError as error:
            if error.code != "no_menu":
                raise
            counts = None
        meals.append({"slot": slot, "counts": counts})
    deliveries = Counter(
        (str(order.slot), str(order.status)) for order in canteen_delivery_orders(canteen, today)
    )
    alerts = []
    if may(user, "alerts.read"):
        alerts = [alert for alert in open_alerts(user) if alert.canteen_id == canteen.id]
    refused_scans = []
    if may(user, "meals.scan"):
        refused_scans = [
            (refused, _refusal_words(refused)) for refused in open_refused_scans(canteen)
        ]
    return render_template(
        "oversight/today.html",
        canteen=canteen,
        today=today,
        plan_week=week_start(today),
        meals=meals,
        deliveries=deliveries,
        alerts=alerts,
        refused_scans=refused_scans,
        timezone=canteen.district.effective_timezone,
    )


def _refusal_words(refused) -> str:
    """Why the service refused a queued scan, as the cashier page said it; the service's
    own sentence where the cashier's needs particulars the report did not keep."""
    sentence = words(refused.error_code, COUNTER)
    if sentence is None or "%(" in sentence:
        return refused.error_message or refused.error_code
    return sentence


@bp.get("/overview")
def overview():
    """The admin's start: how much the service holds, and the pages of the admin's work."""
    user = require_permission("districts.write")
    districts = list(db.session.scalars(districts_query(user)))
    counts = {
        "districts": len(districts),
        "places": len(find_canteens(user)),
        "elders": _count(elders_query(user)),
        "users": _count(users_query(user)),
        "open_claims": _count(claims_query(user, None, None, ClaimStatus.SUBMITTED)),
    }
    return render_template("oversight/overview.html", counts=counts, districts=districts)
