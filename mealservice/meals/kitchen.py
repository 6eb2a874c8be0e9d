"""What the kitchen cooks for one meal: the orders by option and channel, the walk-ins served
so far, the portions of each kitchen tag and the seats still free."""

from datetime import date

from sqlalchemy import func, select

from mealservice.core.db import db
from mealservice.core.errors import Conflict
from mealservice.meals.models import Meal, Order, OrderStatus
from mealservice.menus.models import Menu
from mealservice.menus.services import KITCHEN_TAGS
from mealservice.places.models import Canteen

# What the kitchen cooks for: orders still to be served and those already served.
COOKED_ORDER_STATUSES = (
    OrderStatus.CONFIRMED,
    OrderStatus.DISPATCHED,
    OrderStatus.CONSUMED,
    OrderStatus.DELIVERED,
)


def kitchen_counts(canteen: Canteen, day: date, slot: str) -> dict:
    """How many of each option to cook for one meal, dine-in and delivery apart, from the
    orders, with the walk-ins served so far (meals that came from no order) apart, the
    portions of each kitchen tag, and the seats still free for walk-ins."""
    menu = db.session.scalar(
        select(Menu).where(Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == slot)
    )
    if menu is None:
        raise Conflict(
            "no_menu",
            f"There is no {slot} menu for {day:%Y-%m-%d}.",
            {"date": day.isoformat(), "slot": slot},
        )
    rows: dict[int | None, dict] = {}

    def row_for(option_id: int | None) -> dict:
        if option_id not in rows:
            rows[option_id] = {
                "option_id": option_id,
                "name": None,
                "tags": [],
                "dine_in": 0,
                "delivery": 0,
                "walk_in": 0,
            }
        return rows[option_id]

    for option in menu.options:
        row = row_for(option.id)
        row["name"], row["tags"] = option.name, list(option.tags)
    ordered = select(Order.option_id, Order.channel, func.count()).where(
        Order.menu_id == menu.id,
        Order.status.in_([str(status) for status in COOKED_ORDER_STATUSES]),
    )
    for option_id, channel, n in db.session.execute(
        ordered.group_by(Order.option_id, Order.channel)
    ):
        row_for(option_id)["delivery" if channel == "delivery" else "dine_in"] += n
    walk_ins = select(Meal.option_id, func.count()).where(
        Meal.canteen_id == canteen.id,
        Meal.date == day,
        Meal.slot == slot,
        Meal.channel == "dine_in",
        Meal.order_id.is_(None),
        Meal.voided_at.is_(None),
    )
    for option_id, n in db.session.execute(walk_ins.group_by(Meal.option_id)):
        row_for(option_id)["walk_in"] += n

    options = []
    for row in rows.values():
        row["ordered"] = row["dine_in"] + row["delivery"]
        row["total"] = row["ordered"] + row["walk_in"]
        if row["option_id"] is not None or row["total"]:
            options.append(row)
    channels = ("dine_in", "delivery", "walk_in", "ordered", "total")
    totals = {key: sum(row[key] for row in options) for key in channels}
    tags = {
        tag: {key: sum(row[key] for row in options if tag in row["tags"]) for key in channels}
        for tag in KITCHEN_TAGS
    }
    return {
        "canteen_id": canteen.id,
        "date": day,
        "slot": slot,
        "menu_id": menu.id,
        "status": menu.status,
        "order_cutoff": menu.order_cutoff,
        "ordering_closed_at": menu.ordering_closed_at,
        "options": options,
        "totals": totals,
        "tags": tags,
        "seats": menu.seats,
        "seats_used": menu.seats_used,
        "seats_free_for_walk_ins": max(menu.seats - menu.seats_used, 0),
        "delivery_capacity": menu.delivery_capacity,
        "delivery_used": menu.delivery_used,
    }
