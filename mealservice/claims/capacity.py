"""The per-canteen capacity report: for each published menu, the seats offered against the
dine-in bookings, the dine-in meals actually served and the deliveries that arrived."""

from datetime import date, timedelta

from sqlalchemy import case, func, select

from mealservice.core.db import db
from mealservice.core.errors import ValidationFailed
from mealservice.meals.models import Meal, Order, OrderStatus
from mealservice.menus.models import Menu, MenuStatus
from mealservice.places.models import Canteen, Slot

DEFAULT_DAYS = 7
# A quarter: long enough for a claim period, short enough to stay one page and one query.
MAX_DAYS = 92
SLOT_ORDER = [slot.value for slot in Slot]

# The reasons a range is refused; pages show their own words for each.
END_BEFORE_START = "The end date may not be before the start date."
RANGE_TOO_LONG = f"The range may span at most {MAX_DAYS} days."

# A booking that held (or still holds) its seat: cancelled ones gave it back.
BOOKED_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.CONSUMED, OrderStatus.NO_SHOW)


def report_range(canteen: Canteen, start: date | None, end: date | None) -> tuple[date, date]:
    """The dates a report covers: `end` defaults to the canteen's local today and `start`
    to the 7 days ending at `end`. An end before the start, or a range longer than 92
    days (both ends included), is refused naming `to`, as the API calls the end."""
    end = end or canteen.district.local_today()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationFailed({"to": [END_BEFORE_START]})
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed({"to": [RANGE_TOO_LONG]})
    return start, end


def capacity_report(canteen: Canteen, start: date, end: date) -> list[dict]:
    """One item per published menu of the canteen dated from `start` to `end` inclusive,
    by date and then breakfast, lunch, dinner:

    - `seats`: the menu's seats;
    - `booked`: its dine-in orders not cancelled (confirmed, consumed or no-show);
    - `served`: dine-in meals not voided at the canteen on that date and slot, walk-ins
      and consumed bookings alike;
    - `delivered`: its delivery orders that reached the elder (status delivered);
    - `utilisation`: served / seats rounded to 4 places, 0 for a menu of no seats.

    One statement: orders and meals are each counted in one GROUP BY and joined to the
    menus, so the cost does not grow with the number of menus in the range."""
    in_range = (
        Menu.canteen_id == canteen.id,
        Menu.status == MenuStatus.PUBLISHED,
        Menu.date.between(start, end),
    )
    orders = (
        select(
            Order.menu_id,
            _count_where((Order.channel == "dine_in") & Order.status.in_(BOOKED_STATUSES)).label(
                "booked"
            ),
            _count_where(
                (Order.channel == "delivery") & (Order.status == OrderStatus.DELIVERED)
            ).label("delivered"),
        )
        .join(Menu, Menu.id == Order.menu_id)
        .where(*in_range)
        .group_by(Order.menu_id)
        .subquery()
    )
    meals = (
        select(Meal.date, Meal.slot, func.count().label("served"))
        .where(
            Meal.canteen_id == canteen.id,
            Meal.date.between(start, end),
            Meal.channel == "dine_in",
            Meal.voided_at.is_(None),
        )
        .group_by(Meal.date, Meal.slot)
        .subquery()
    )
    slot_rank = case({slot: rank for rank, slot in enumerate(SLOT_ORDER)}, value=Menu.slot)
    rows = db.session.execute(
        select(
            Menu.date,
            Menu.slot,
            Menu.seats,
            func.coalesce(orders.c.booked, 0).label("booked"),
            func.coalesce(meals.c.served, 0).label("served"),
            func.coalesce(orders.c.delivered, 0).label("delivered"),
        )
        .outerjoin(orders, orders.c.menu_id == Menu.id)
        .outerjoin(meals, (meals.c.date == Menu.date) & (meals.c.slot == Menu.slot))
        .where(*in_range)
        .order_by(Menu.date, slot_rank)
    )
    return [
        {
            "date": row.date,
            "slot": row.slot,
            "seats": row.seats,
            "booked": row.booked,
            "served": row.served,
            "delivered": row.delivered,
            "utilisation": _utilisation(row.served, row.seats),
        }
        for row in rows
    ]


def slot_totals(items: list[dict]) -> list[dict]:
    """The report's items added up per slot (breakfast, lunch, dinner; only slots that
    have items), with the utilisation of the sums: seats served over seats offered."""
    totals = []
    for slot in SLOT_ORDER:
        of_slot = [item for item in items if item["slot"] == slot]
        if not of_slot:
            continue
        sums = {
            key: sum(item[key] for item in of_slot)
            for key in ("seats", "booked", "served", "delivered")
        }
        totals.append(
            {
                "slot": slot,
                "menus": len(of_slot),
                **sums,
                "utilisation": _utilisation(sums["served"], sums["seats"]),
            }
        )
    return totals


def date_totals(items: list[dict]) -> list[dict]:
    """Seats and dine-in meals served per date, all slots together, for the chart."""
    by_date: dict[date, dict] = {}
    for item in items:
        day = by_date.setdefault(item["date"], {"date": item["date"], "seats": 0, "served": 0})
        day["seats"] += item["seats"]
        day["served"] += item["served"]
    return list(by_date.values())


def _count_where(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _utilisation(served: int, seats: int) -> float:
    return round(served / seats, 4) if seats else 0.0
