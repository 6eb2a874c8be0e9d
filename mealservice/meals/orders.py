"""Orders placed ahead: dine-in bookings that hold a seat until the elder's scan consumes
them, and delivery orders. An order takes what a meal takes — a place in the slot limit,
a seat (or delivery capacity), a subsidized place of the day — through the same
conditional statements, is priced once by the same policy function, and gives it all back
when it is cancelled or nobody comes."""

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select, text, update

from mealservice.balances import services as balances
from mealservice.core.auth import LINKED_ELDER_ROLES, canteen_scope, district_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.elders.models import Elder, account_elders
from mealservice.elders.services import get_elder, is_active_on, linked_elder_ids
from mealservice.meals import limits
from mealservice.meals.models import (
    CLEARED,
    PAYMENTS,
    Holds,
    Meal,
    Order,
    OrderPayment,
    OrderStatus,
    Rating,
    copy_price,
)
from mealservice.meals.services import Moment, facts_of_elder, facts_of_meal
from mealservice.menus.models import Menu, MenuStatus
from mealservice.menus.services import release_seat, slot_end, take_seat
from mealservice.places.models import Canteen, Function
from mealservice.places.registry import ensure_month_open
from mealservice.policy import pricing
from mealservice.policy.services import pricing_policies

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"  # who placed, cancelled or closed an order when no person did

# Delivery counts up always; the CHECK and this WHERE bound it only where a capacity is set.
TAKE_DELIVERY = text(
    "UPDATE menus SET delivery_used = delivery_used + 1 WHERE id = :menu_id"
    " AND (delivery_capacity IS NULL OR delivery_used < delivery_capacity)"
)
RELEASE_DELIVERY = text(
    "UPDATE menus SET delivery_used = delivery_used - 1 WHERE id = :menu_id AND delivery_used > 0"
)


def payment_method(channel: str, method: str | None = None, field: str = "payment.method"):
    """The way an order of the channel is paid: the one asked for, if the channel allows
    it, else cash when the meal arrives."""
    method = method or PAYMENTS[channel][1]
    if method not in PAYMENTS[channel]:
        raise ValidationFailed({field: [f"A {channel} order is not paid {method}."]})
    return OrderPayment(method)


def cancellable(order: Order, menu: Menu | None, now: datetime) -> bool:
    """Whether the order may still be cancelled: confirmed, and ordering still open."""
    return order.status == OrderStatus.CONFIRMED and menu is not None and menu.ordering_open(now)


def ordering_elders(user) -> list[Elder]:
    """The elders a family or elder account orders for."""
    ids = linked_elder_ids(user)
    return list(db.session.scalars(select(Elder).where(Elder.id.in_(ids)).order_by(Elder.id)))


def place_order(actor, data: dict, *, now: datetime | None = None, standing_order=None) -> Order:
    """Order a meal ahead. `actor` None is the scheduler placing a standing order."""
    now = now or utcnow()
    elder = _elder_for(actor, data["elder_id"])
    menu, option = _menu_and_option(actor, data["menu_id"], data["option_id"])
    canteen, channel = menu.canteen, data["channel"]
    ensure_month_open(canteen.id, menu.date)
    address = None
    if channel == "delivery":
        if Function.DELIVERY not in canteen.functions:
            raise Conflict("no_delivery", f"{canteen.name} does not deliver meals.")
        address = (data.get("address") or elder.address or "").strip()
        if not address:
            raise ValidationFailed({"address": ["Give the address to deliver to."]})
    if menu.status != MenuStatus.PUBLISHED:
        raise Conflict("no_menu", "This menu is not published yet.", {"menu_id": menu.id})
    if not menu.ordering_open(now):
        raise Conflict(
            "cutoff_passed",
            "Ordering for this meal has closed.",
            {"order_cutoff": menu.order_cutoff.isoformat()},
        )
    if not is_active_on(elder, menu.date):
        raise Conflict("elder_inactive", "The elder is no longer active in the registry.")
    method = payment_method(channel, (data.get("payment") or {}).get("method"))

    policies = pricing_policies(elder.hukou_district)
    in_force = pricing.policy_in_force(policies, elder.hukou_district, menu.date)
    allowed = pricing.limits_of(in_force)
    per_slot, refuse_beyond = allowed.per_slot, allowed.refuse_beyond
    daily_limit = allowed.subsidized_per_day
    moment = Moment(at=now, day=menu.date, slot=menu.slot, offline=False)
    fee = option.delivery_fee_fen if channel == "delivery" else 0
    facts = facts_of_meal(
        canteen, elder, moment, option.price_fen, daily_limit, channel=channel, delivery_fee_fen=fee
    )

    # The same order of taking as a scan: slot limit, then seat (or delivery), then subsidy.
    before = limits.take_slot(elder.id, menu.date, menu.slot, per_slot)
    if before is None and refuse_beyond:
        raise Conflict(
            "already_ordered",
            "The elder already has this meal ordered or eaten.",
            {"date": menu.date.isoformat(), "slot": menu.slot},
        )
    order = Order(
        elder_id=elder.id,
        canteen_id=canteen.id,
        menu_id=menu.id,
        option_id=option.id,
        date=menu.date,
        slot=menu.slot,
        channel=channel,
        address=address,
        payment_method=method,
        holds_slot=before is not None,
        standing_order_id=standing_order.id if standing_order is not None else None,
        placed_by=actor.username if actor is not None else SCHEDULER,
        placed_at=now,
        status_changed_at=now,
    )
    if channel == "dine_in":
        order.holds_seat = take_seat(menu.id)
        if not order.holds_seat:
            raise Conflict("capacity_full", "Every seat of this meal is booked.")
    else:
        taken = db.session.execute(TAKE_DELIVERY, {"menu_id": menu.id}).rowcount
        if not taken:
            raise Conflict("capacity_full", "This meal's deliveries are all booked.")
        order.holds_delivery = True

    facts = replace(facts, meals_in_slot=per_slot if before is None else before)
    price = pricing.price_meal(policies, facts_of_elder(elder), facts)
    if price.subsidy_fen and daily_limit is not None:
        if limits.take_subsidized(elder.id, menu.date, daily_limit) is None:
            price = pricing.price_meal(
                policies, facts_of_elder(elder), replace(facts, subsidized_today=daily_limit)
            )
        else:
            order.holds_subsidy = True
    copy_price(order, price)
    db.session.add(order)
    db.session.flush()
    if method == OrderPayment.BALANCE and order.elder_pays_fen:
        balance_after = balances.take_for_meal(elder.id, order.elder_pays_fen)
        if balance_after is None:
            raise balances.insufficient_balance(elder.id, order.elder_pays_fen)
        order.paid_fen = order.elder_pays_fen
        balances.record_payment(order.placed_by, order, order.paid_fen, balance_after)
    db.session.flush()
    return order


def _elder_for(actor, elder_id: int) -> Elder:
    if actor is None:
        elder = db.session.get(Elder, elder_id)
        if elder is None:
            raise NotFound("elder")
        return elder
    try:
        return get_elder(actor, elder_id)
    except NotFound:
        raise ValidationFailed({"elder_id": ["No such elder in your reach."]}) from None


def _menu_and_option(actor, menu_id: int, option_id: int):
    menu = db.session.get(Menu, menu_id)
    own = canteen_scope(actor) if actor is not None else None
    if menu is None or own not in (None, menu.canteen_id):
        raise ValidationFailed({"menu_id": ["No such menu."]})
    option = next((option for option in menu.options if option.id == option_id), None)
    if option is None:
        raise ValidationFailed({"option_id": ["The option is not on this menu."]})
    return menu, option


def cancel_order(actor, order: Order, *, now: datetime | None = None) -> Order:
    """Cancel before the cutoff and before dispatch: the seat, the limits and any money
    paid from the balance go back."""
    now = now or utcnow()
    if order.status == OrderStatus.DISPATCHED:
        raise Conflict("already_dispatched", "The order is already on its way.")
    if order.status != OrderStatus.CONFIRMED:
        raise Conflict("order_closed", f"The order is {order.status}.", {"status": order.status})
    menu = db.session.get(Menu, order.menu_id)
    if not menu.ordering_open(now):
        raise Conflict(
            "cutoff_passed",
            "Ordering for this meal has closed; it can no longer be cancelled.",
            {"order_cutoff": menu.order_cutoff.isoformat()},
        )
    by = actor.username if actor is not None else SCHEDULER
    if not end_order(order, OrderStatus.CANCELLED, now, by=by, cancelled_by=by):
        raise Conflict("order_closed", "The order was closed meanwhile.")
    return order


def cancel_for(query, reason: str, by: str, now: datetime | None = None) -> list[int]:
    """Cancel the confirmed orders `query` finds, whatever their cutoff, because the meal
    can no longer happen as ordered (`reason`: the place was blacklisted, the elder died or
    moved away): what they held goes back and money paid ahead is refunded."""
    now = now or utcnow()
    found = cancelled_for(query)
    cancelled = [
        order.id
        for order in found
        if end_order(
            order, OrderStatus.CANCELLED, now, by=by, cancelled_by=by[:64], cancel_reason=reason
        )
    ]
    if cancelled:
        log.info("%s orders cancelled (%s): %s", len(cancelled), reason, cancelled)
    return cancelled


def cancelled_for(query) -> list[Order]:
    """The orders `cancel_for(query, ...)` would cancel now: those still confirmed."""
    return list(
        db.session.scalars(
            query.where(Order.status == OrderStatus.CONFIRMED).order_by(Order.date, Order.id)
        )
    )


def end_order(
    order: Order,
    status: OrderStatus,
    now: datetime,
    *,
    by: str = SCHEDULER,
    live: OrderStatus = OrderStatus.CONFIRMED,
    courier_went: bool = False,
    **values,
) -> bool:
    """Move a `live` order to `status` and give back what it held — its place in the slot
    limit, its seat, its place in the delivery capacity (kept when the courier went), its
    subsidized place — and refund what was paid ahead from the balance. The one place an
    order's holds go back; the condition in the UPDATE makes two endings at once (a cancel
    and the no-show job, two reports) end it once. False when it was ended meanwhile."""
    held = Holds.of(order)
    released = dict(CLEARED)
    if not courier_went:
        released["holds_delivery"] = False
    ended = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == live)
        .values(status=status, status_changed_at=now, **released, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(order)
    if not ended:
        return False
    if held.slot:
        limits.release_slot(order.elder_id, order.date, order.slot)
    if held.seat:
        release_seat(order.menu_id)
    if held.delivery and not courier_went:
        db.session.execute(RELEASE_DELIVERY, {"menu_id": order.menu_id})
    if held.subsidy:
        limits.release_subsidized(order.elder_id, order.date)
    if order.paid_fen:
        balances.refund(by[:64], order, order.paid_fen)
    return True


def get_order(actor, order_id: int) -> Order:
    order = db.session.scalar(orders_query(actor).where(Order.id == order_id))
    if order is None:
        raise NotFound("order")
    return order


def orders_query(actor, **filters):
    """The orders an actor may see, newest first: an elder's own, a family's elders', a
    canteen's, a district's. Filters: elder_id, canteen_id, date, status."""
    query = select(Order).order_by(Order.placed_at.desc(), Order.id.desc())
    if actor.role in LINKED_ELDER_ROLES:
        query = query.join(account_elders, account_elders.c.elder_id == Order.elder_id).where(
            account_elders.c.user_id == actor.id
        )
    elif (own := canteen_scope(actor)) is not None:
        query = query.where(Order.canteen_id == own)
    elif (scope := district_scope(actor)) is not None:
        query = query.join(Canteen, Canteen.id == Order.canteen_id).where(
            Canteen.district_code == scope
        )
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(Order, column) == value)
    return query


def elder_orders(elder_id: int, limit: int = 50) -> list[Order]:
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.elder_id == elder_id)
            .order_by(Order.date.desc(), Order.placed_at.desc())
            .limit(limit)
        )
    )


def elder_meals(elder_id: int, limit: int = 30) -> list[Meal]:
    return list(
        db.session.scalars(
            select(Meal)
            .where(Meal.elder_id == elder_id, Meal.voided_at.is_(None))
            .order_by(Meal.served_at.desc())
            .limit(limit)
        )
    )


# Jobs of the scheduler: each idempotent, each safe to run again after a crash.


def mark_no_shows(now: datetime | None = None) -> int:
    """Bookings nobody came for by the end of their slot free their seat and limits; what
    was paid from the balance goes back (an order never eaten owes nothing)."""
    now = now or utcnow()
    closed = 0
    for order in db.session.scalars(
        select(Order)
        .where(Order.channel == "dine_in", Order.status == OrderStatus.CONFIRMED)
        .order_by(Order.id)
    ):
        if slot_end(order.canteen, order.date, order.slot) <= now:
            closed += end_order(order, OrderStatus.NO_SHOW, now)
    return closed


def close_ordering(now: datetime | None = None) -> int:
    """Stamp the menus whose cutoff passed: their orders, and so the kitchen's counts,
    are final."""
    now = now or utcnow()
    return db.session.execute(
        update(Menu)
        .where(
            Menu.ordering_closed_at.is_(None),
            ~Menu.ordering_open(now),
            Menu.status == MenuStatus.PUBLISHED,
        )
        .values(ordering_closed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


# Ratings


def rate_meal(actor, meal: Meal, score: int, comment: str | None) -> Rating:
    if meal.elder_id not in linked_elder_ids(actor):
        raise NotFound("meal")
    exists = db.session.scalar(select(Rating.id).where(Rating.meal_id == meal.id))
    if exists is not None:
        raise Conflict("already_rated", "This meal is already rated.", {"rating_id": exists})
    rating = Rating(
        meal_id=meal.id,
        elder_id=meal.elder_id,
        canteen_id=meal.canteen_id,
        score=score,
        comment=(comment or "").strip() or None,
        rated_by=actor.username,
    )
    db.session.add(rating)
    db.session.flush()
    return rating


def canteen_ratings(canteen: Canteen, limit: int = 100) -> list[Rating]:
    """The canteen's ratings, worst first, newest first among equals."""
    return list(
        db.session.scalars(
            select(Rating)
            .where(Rating.canteen_id == canteen.id)
            .order_by(Rating.score, Rating.rated_at.desc())
            .limit(limit)
        )
    )
