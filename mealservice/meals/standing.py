"""Standing orders, as meals-on-wheels services run them: "lunch delivered every weekday"
for an elder, placed by the scheduler for each published menu of the canteen until the
standing order is stopped, with holds for dates away (hospital, a family visit) that
resume by themselves the day after.

The scheduler's `place_standing_orders` is idempotent: it looks for the orders already
placed, and the orders table's unique (standing_order_id, date) turns a race between two
runs into one order."""

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from mealservice.core.auth import LINKED_ELDER_ROLES, canteen_scope, district_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import ApiError, Conflict, NotFound, ValidationFailed
from mealservice.elders.models import Elder, account_elders
from mealservice.elders.services import get_elder, is_active_on
from mealservice.meals.models import (
    Order,
    OrderStatus,
    StandingOrder,
    StandingOrderHold,
)
from mealservice.meals.orders import cancel_order, cancellable, payment_method, place_order
from mealservice.menus.models import Menu, MenuOption, MenuStatus
from mealservice.places.models import Canteen, Function
from mealservice.places.services import get_canteen

log = logging.getLogger(__name__)

# How far ahead the scheduler places orders: today and the next two local dates, so the
# kitchen sees them early while a hold added today still reaches the day after tomorrow.
DAYS_AHEAD = 2

# Who made or stopped a standing order when no person did.
SYSTEM = "system"


# Payment methods that make sense for each channel.
def _name(actor) -> str:
    return actor.username if actor is not None else SYSTEM


def create_standing_order(actor, data: dict) -> StandingOrder:
    """A standing order for an elder the actor reaches (family and elders: their linked
    elders; managers: at their own canteen), refused when it could never be placed.
    `actor` None is the system itself (the command line, the demo loader)."""
    elder, canteen = _elder_and_canteen(actor, data["elder_id"], data["canteen_id"])
    channel = data["channel"]
    if not is_active_on(elder, canteen.district.local_today()):
        raise Conflict("elder_inactive", "The elder is no longer active in the registry.")
    if channel == "delivery" and Function.DELIVERY not in canteen.functions:
        raise Conflict("no_delivery", f"{canteen.name} does not deliver meals.")
    payment = payment_method(channel, data.get("payment_method"), field="payment_method")
    _ensure_no_overlap(elder.id, data["slot"], data["weekdays"])
    standing_order = StandingOrder(
        elder_id=elder.id,
        canteen_id=canteen.id,
        slot=data["slot"],
        channel=channel,
        weekdays=data["weekdays"],
        preferred_tag=data.get("preferred_tag"),
        # A delivery goes to the registered address unless told otherwise.
        address=(data.get("address") or elder.address) if channel == "delivery" else None,
        payment_method=payment,
        created_by=_name(actor),
    )
    db.session.add(standing_order)
    db.session.flush()
    log.info(
        "standing order %s for elder %s at canteen %s (%s %s %s)",
        standing_order.id,
        elder.id,
        canteen.id,
        standing_order.slot,
        standing_order.channel,
        standing_order.weekdays,
    )
    return standing_order


def _elder_and_canteen(actor, elder_id: int, canteen_id: int) -> tuple[Elder, Canteen]:
    """The body's elder and canteen, as POST /orders judges them: outside the actor's
    reach they are invalid input naming the field."""
    errors = {}
    if actor is None:
        elder = db.session.get(Elder, elder_id)
    else:
        try:
            elder = get_elder(actor, elder_id)
        except NotFound:
            elder = None
    if elder is None:
        errors["elder_id"] = ["No such elder in your reach."]
    try:
        canteen = get_canteen(actor, canteen_id)
    except NotFound:
        errors["canteen_id"] = ["No such canteen in your reach."]
    if errors:
        raise ValidationFailed(errors)
    return elder, canteen


def _ensure_no_overlap(elder_id: int, slot: str, weekdays: str) -> None:
    """Two live standing orders for one meal on the same weekday would only meet the
    slot limit every week; say so now instead."""
    for other in db.session.scalars(
        select(StandingOrder).where(
            StandingOrder.elder_id == elder_id,
            StandingOrder.slot == slot,
            StandingOrder.stopped_at.is_(None),
        )
    ):
        if any(a == b == "1" for a, b in zip(other.weekdays, weekdays, strict=True)):
            raise Conflict(
                "standing_order_exists",
                f"The elder already has a standing {slot} order on some of these weekdays.",
                {"standing_order_id": other.id},
            )


def standing_orders_query(actor, elder_id: int | None = None, canteen_id: int | None = None):
    """The standing orders an actor may see: of their linked elders (family, elders), at
    their canteen (canteen staff), at the canteens of their district (officials)."""
    query = select(StandingOrder).order_by(StandingOrder.id)
    if actor is not None and actor.role in LINKED_ELDER_ROLES:
        query = query.where(
            StandingOrder.elder_id.in_(
                select(account_elders.c.elder_id).where(account_elders.c.user_id == actor.id)
            )
        )
    elif (own := canteen_scope(actor)) is not None:
        query = query.where(StandingOrder.canteen_id == own)
    elif (scope := district_scope(actor)) is not None:
        query = query.where(
            StandingOrder.canteen_id.in_(select(Canteen.id).where(Canteen.district_code == scope))
        )
    if elder_id is not None:
        query = query.where(StandingOrder.elder_id == elder_id)
    if canteen_id is not None:
        query = query.where(StandingOrder.canteen_id == canteen_id)
    return query


def get_standing_order(actor, standing_order_id: int) -> StandingOrder:
    found = db.session.scalar(
        standing_orders_query(actor).where(StandingOrder.id == standing_order_id)
    )
    if found is None:
        raise NotFound("standing order")
    return found


def stop_standing_order(
    actor, standing_order: StandingOrder, now: datetime | None = None
) -> StandingOrder:
    """No more orders from it, and the ones it placed that can still be cancelled (before
    their cutoff) are. Stopping twice changes nothing."""
    _lock(standing_order)
    if standing_order.stopped_at is None:
        now = now or utcnow()
        standing_order.stopped_at = now
        standing_order.stopped_by = _name(actor)
        standing_order.cancelled_order_ids = _cancel_placed(actor, standing_order, now)
        db.session.flush()
        log.info("standing order %s stopped", standing_order.id)
    return standing_order


def _cancel_placed(
    actor,
    standing_order: StandingOrder,
    now: datetime,
    first: date | None = None,
    last: date | None = None,
) -> list[int]:
    """Cancel the standing order's live orders dated from `first` to `last`, those whose
    cutoff has not passed: they were placed ahead by the scheduler, not by anyone who
    knew of the stop or the hold. The ones past their cutoff stay; the kitchen has them."""
    cancelled = []
    for order in _placed_live(standing_order, first, last):
        try:
            with db.session.begin_nested():
                cancel_order(actor, order, now=now)
        except ApiError as refusal:
            log.info(
                "standing order %s: order %s stays (%s)", standing_order.id, order.id, refusal.code
            )
            continue
        cancelled.append(order.id)
    if cancelled:
        log.info("standing order %s: cancelled orders %s", standing_order.id, cancelled)
    return cancelled


def _placed_live(
    standing_order: StandingOrder, first: date | None = None, last: date | None = None
) -> list[Order]:
    query = select(Order).where(
        Order.standing_order_id == standing_order.id, Order.status == OrderStatus.CONFIRMED
    )
    if first is not None:
        query = query.where(Order.date.between(first, last))
    return list(db.session.scalars(query.order_by(Order.date)))


def cancelled_on_stopping(standing_order: StandingOrder, now: datetime) -> list[Order]:
    """The orders stopping the standing order at `now` would cancel, read only: those
    `_cancel_placed` finds that cancel_order would accept (orders.cancellable)."""
    if standing_order.stopped_at is not None:
        return []
    return [
        order
        for order in _placed_live(standing_order)
        if cancellable(order, db.session.get(Menu, order.menu_id), now)
    ]


def add_hold(
    actor,
    standing_order: StandingOrder,
    starts_on: date,
    ends_on: date,
    reason: str,
    now: datetime | None = None,
) -> StandingOrderHold:
    """No orders from `starts_on` to `ends_on` inclusive; the standing order resumes by
    itself the day after. Orders it already placed for those dates are cancelled while
    their cutoff allows."""
    now = now or utcnow()
    if ends_on < starts_on:
        raise ValidationFailed({"ends_on": ["The hold must end on or after the day it starts."]})
    if ends_on < standing_order.canteen.district.local(now).date():
        raise ValidationFailed({"ends_on": ["The hold would be over before today."]})
    _lock(standing_order)
    if standing_order.stopped_at is not None:
        raise Conflict("standing_order_stopped", "This standing order has been stopped.")
    hold = StandingOrderHold(
        starts_on=starts_on, ends_on=ends_on, reason=reason, created_by=_name(actor)
    )
    standing_order.holds.append(hold)
    db.session.flush()
    hold.cancelled_order_ids = _cancel_placed(actor, standing_order, now, starts_on, ends_on)
    log.info(
        "standing order %s held from %s to %s (hold %s)",
        standing_order.id,
        starts_on,
        ends_on,
        hold.id,
    )
    return hold


def get_hold(standing_order: StandingOrder, hold_id: int) -> StandingOrderHold:
    for hold in standing_order.holds:
        if hold.id == hold_id:
            return hold
    raise NotFound("hold")


def remove_hold(actor, standing_order: StandingOrder, hold: StandingOrderHold) -> StandingOrder:
    """Lift a hold: its dates not ordered yet are ordered again by the next run. (Orders
    the hold cancelled stay cancelled: a date once ordered is never ordered again.)"""
    _lock(standing_order)
    standing_order.holds.remove(hold)
    db.session.flush()
    log.info("hold %s of standing order %s removed by %s", hold.id, standing_order.id, _name(actor))
    return standing_order


# The scheduler's job.


def place_standing_orders(now: datetime | None = None) -> int:
    """Place the orders the live standing orders call for: one for every published menu
    of their canteen and slot dated from today (the district's local date) to
    DAYS_AHEAD days on, whose cutoff is still ahead, on one of their weekdays, outside
    their holds, and not ordered yet. A refusal (slot limit, seats, balance, an inactive
    elder...) skips that date, logged by ids. Returns how many orders were placed."""
    now = now or utcnow()
    standing_orders = db.session.scalars(
        select(StandingOrder)
        .options(selectinload(StandingOrder.holds))
        .where(StandingOrder.stopped_at.is_(None))
        .order_by(StandingOrder.id)
    ).all()
    if not standing_orders:
        return 0
    # Local dates differ by district; a day either side of UTC's covers every zone.
    first = now.date() - timedelta(days=1)
    last = now.date() + timedelta(days=DAYS_AHEAD + 1)
    menus = _open_menus({so.canteen_id for so in standing_orders}, first, last, now)
    ordered = _ordered_dates([so.id for so in standing_orders], first, last)
    placed = 0
    for standing_order in standing_orders:
        due = _due_menus(standing_order, menus, ordered[standing_order.id], now)
        if not due:
            continue
        # A hold or a stop committed since the job began counts; one arriving now waits.
        _lock(standing_order)
        if standing_order.stopped_at is not None:
            continue
        for menu in _due_menus(standing_order, menus, ordered[standing_order.id], now):
            if _place(standing_order, menu, now):
                ordered[standing_order.id].add(menu.date)
                placed += 1
    log.info("placed %d orders from standing orders", placed)
    return placed


def _due_menus(
    standing_order: StandingOrder, menus: dict, ordered: set[date], now: datetime
) -> list[Menu]:
    today = standing_order.canteen.district.local(now).date()
    return [
        menu
        for menu in menus[standing_order.canteen_id, standing_order.slot]
        if menu.options and _wanted(standing_order, menu.date, today, ordered)
    ]


def _place(standing_order: StandingOrder, menu: Menu, now: datetime) -> bool:
    data = _order_data(standing_order, menu)
    try:
        with db.session.begin_nested():
            place_order(None, data, now=now, standing_order=standing_order)
    except ApiError as refusal:
        # Ids only: the log is no place for an elder's name or address.
        log.info(
            "standing order %s: no order for menu %s (%s)",
            standing_order.id,
            menu.id,
            refusal.code,
        )
        return False
    except IntegrityError:
        # Another run placed this very order a moment ago.
        log.info("standing order %s: menu %s already ordered", standing_order.id, menu.id)
        return False
    return True


def _lock(standing_order: StandingOrder) -> None:
    """Re-read the standing order and its holds under a row lock (PostgreSQL; on SQLite
    the writer's lock does as much). The job and every change to a standing order take
    it first, so the job never places an order for a date a hold just covered."""
    db.session.refresh(standing_order, with_for_update=True)


def _open_menus(canteen_ids: set[int], first: date, last: date, now: datetime) -> dict:
    found = db.session.scalars(
        select(Menu)
        .options(selectinload(Menu.options))
        .where(
            Menu.canteen_id.in_(canteen_ids),
            Menu.date.between(first, last),
            Menu.status == MenuStatus.PUBLISHED,
            Menu.ordering_open(now),
        )
        .order_by(Menu.date, Menu.id)
    )
    by_canteen_and_slot = defaultdict(list)
    for menu in found:
        by_canteen_and_slot[menu.canteen_id, menu.slot].append(menu)
    return by_canteen_and_slot


def _ordered_dates(standing_order_ids: list[int], first: date, last: date) -> dict:
    """The dates each standing order has an order for, cancelled ones included: an order
    the family cancelled by hand is not placed again behind their back."""
    rows = db.session.execute(
        select(Order.standing_order_id, Order.date).where(
            Order.standing_order_id.in_(standing_order_ids), Order.date.between(first, last)
        )
    )
    ordered = defaultdict(set)
    for standing_order_id, day in rows:
        ordered[standing_order_id].add(day)
    return ordered


def _wanted(standing_order: StandingOrder, day: date, today: date, ordered: set[date]) -> bool:
    return (
        today <= day <= today + timedelta(days=DAYS_AHEAD)
        and standing_order.weekdays[day.weekday()] == "1"
        and day not in ordered
        and not any(h.starts_on <= day <= h.ends_on for h in standing_order.holds)
    )


def choose_option(options: list[MenuOption], preferred_tag: str | None) -> MenuOption:
    """The first option carrying the preferred tag (soft, low-salt...), else the first."""
    if preferred_tag:
        for option in options:
            if preferred_tag in (option.tags or []):
                return option
    return options[0]


def _order_data(standing_order: StandingOrder, menu: Menu) -> dict:
    """The body POST /orders would carry for this menu."""
    data = {
        "elder_id": standing_order.elder_id,
        "menu_id": menu.id,
        "option_id": choose_option(menu.options, standing_order.preferred_tag).id,
        "channel": standing_order.channel,
        "payment": {"method": standing_order.payment_method},
    }
    if standing_order.address:
        data["address"] = standing_order.address
    return data
