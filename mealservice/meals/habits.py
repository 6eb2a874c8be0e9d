"""What the ordering pages know of an elder before showing a menu: the meals already booked
for a day and slot (so a booked slot is never offered again) and the place the elder
usually eats at (so it comes first)."""

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from mealservice.core.db import db
from mealservice.meals.models import LIVE_ORDER_STATUSES, Meal, Order, OrderStatus

# Orders that take the elder's meal of their slot: still to come, or already had.
BOOKED_STATUSES = (
    OrderStatus.CONFIRMED,
    OrderStatus.DISPATCHED,
    OrderStatus.CONSUMED,
    OrderStatus.DELIVERED,
)

# How far back the usual place is judged: about two months of habits.
USUAL_PLACE_DAYS = 60


def booked_orders(elder_id: int, days) -> dict[tuple[date, str], Order]:
    """The elder's orders booked for those days, by day and slot (the latest if several)."""
    found = db.session.scalars(
        select(Order)
        .where(
            Order.elder_id == elder_id,
            Order.date.in_(list(days)),
            Order.status.in_([str(status) for status in BOOKED_STATUSES]),
        )
        .order_by(Order.placed_at, Order.id)
    )
    return {(order.date, str(order.slot)): order for order in found}


def booked_order(elder_id: int, day: date, slot: str) -> Order | None:
    return booked_orders(elder_id, [day]).get((day, str(slot)))


def usual_canteen_id(elder_id: int, today: date) -> int | None:
    """The place of most of the elder's meals and orders of the last two months (the most
    recent one on a tie), or None for an elder who has not eaten or ordered anywhere yet.
    Meals eaten and orders still to come count; an order eaten counts once, as its meal."""
    since = today - timedelta(days=USUAL_PLACE_DAYS)
    counts: Counter[int] = Counter()
    latest: dict[int, date] = {}
    eaten = (
        select(Meal.canteen_id, func.count(), func.max(Meal.date))
        .where(Meal.elder_id == elder_id, Meal.date >= since, Meal.voided_at.is_(None))
        .group_by(Meal.canteen_id)
    )
    coming = (
        select(Order.canteen_id, func.count(), func.max(Order.date))
        .where(
            Order.elder_id == elder_id,
            Order.date >= since,
            Order.status.in_([str(status) for status in LIVE_ORDER_STATUSES]),
        )
        .group_by(Order.canteen_id)
    )
    for query in (eaten, coming):
        for canteen_id, n, last in db.session.execute(query):
            counts[canteen_id] += n
            latest[canteen_id] = max(latest.get(canteen_id, last), last)
    if not counts:
        return None
    return max(counts, key=lambda canteen_id: (counts[canteen_id], latest[canteen_id]))
