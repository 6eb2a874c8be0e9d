"""Meals listen here to the packages below them: a change to a policy or a menu that would
break a meal served or an order taken is refused, and what the registry says can no longer
happen (a blacklisted place, an elder who died or moved away) is cancelled and refunded,
whichever path makes the change."""

from datetime import date

from sqlalchemy import func, select

from mealservice.balances.history import Outcome, Purchase
from mealservice.balances.signals import purchases_wanted
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import Conflict, ValidationFailed
from mealservice.elders.models import ElderStatus
from mealservice.elders.services import ClosedOrder, StoppedStandingOrder
from mealservice.elders.signals import elder_status_changed, elder_status_previewing
from mealservice.meals import orders, samples, standing
from mealservice.meals.models import (
    LIVE_ORDER_STATUSES,
    Meal,
    Order,
    OrderStatus,
    StandingOrder,
)
from mealservice.menus.signals import menu_unpublishing, options_removing
from mealservice.places.signals import canteen_blacklisted
from mealservice.policy.models import SubsidyPolicy
from mealservice.policy.signals import policy_version_starting, preview_samples_wanted


@policy_version_starting.connect
def refuse_a_version_reaching_back_over_served_meals(district, effective_from: date, **_):
    priced = db.session.scalar(
        select(Meal.date)
        .join(SubsidyPolicy, Meal.policy_version == SubsidyPolicy.id)
        .where(
            SubsidyPolicy.district_code == district.code,
            # Only meals the new version would reach: priced under an earlier-starting one.
            SubsidyPolicy.effective_from < effective_from,
            Meal.date >= effective_from,
        )
        .order_by(Meal.date.desc())
        .limit(1)
    )
    if priced is not None:
        # A served meal's price never changes, so no version may reach back over it.
        raise ValidationFailed(
            {
                "effective_from": [
                    f"Meals up to {priced:%Y-%m-%d} are already priced under the current"
                    " version; choose a later date."
                ]
            }
        )


@options_removing.connect
def refuse_removing_an_option_taken(menu, option_ids: list[int], **_) -> None:
    names = {option.id: option.name for option in menu.options}
    for option_id, uses in _option_uses(option_ids).items():
        if any(uses.values()):
            # Orders and meals name their option: it stays on the menu they were taken from.
            raise Conflict(
                "option_in_use",
                f"The option {names[option_id]} was ordered or served; it cannot be removed.",
                {"option_id": option_id, **uses},
            )


@menu_unpublishing.connect
def refuse_unpublishing_a_menu_taken(menu, **_) -> None:
    taken = (
        db.session.scalar(select(Order.id).where(Order.menu_id == menu.id).limit(1)) is not None
        or db.session.scalar(select(Meal.id).where(Meal.menu_id == menu.id).limit(1)) is not None
    )
    if taken:
        raise Conflict(
            "menu_in_use",
            "The menu was already ordered or served; it stays published.",
            {"menu_id": menu.id},
        )


def _option_uses(option_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many live orders, other orders and meals name each option."""
    uses = {
        option_id: {"live_orders": 0, "other_orders": 0, "meals": 0} for option_id in option_ids
    }
    live = [str(status) for status in LIVE_ORDER_STATUSES]
    for option_id, status, n in db.session.execute(
        select(Order.option_id, Order.status, func.count())
        .where(Order.option_id.in_(option_ids))
        .group_by(Order.option_id, Order.status)
    ):
        uses[option_id]["live_orders" if status in live else "other_orders"] += n
    for option_id, n in db.session.execute(
        select(Meal.option_id, func.count())
        .where(Meal.option_id.in_(option_ids))
        .group_by(Meal.option_id)
    ):
        uses[option_id]["meals"] += n
    return uses


@canteen_blacklisted.connect
def cancel_orders_at_a_blacklisted_place(canteen, entry, **_) -> None:
    query = select(Order).where(Order.canteen_id == canteen.id, Order.date >= entry.starts_on)
    if entry.ends_on is not None:
        query = query.where(Order.date <= entry.ends_on)
    orders.cancel_for(query, "canteen_blacklisted", entry.created_by)


def _orders_from(elder_id: int, since: date):
    return select(Order).where(Order.elder_id == elder_id, Order.date >= since)


def _live_standing_orders(elder_id: int) -> list[StandingOrder]:
    return list(
        db.session.scalars(
            select(StandingOrder)
            .where(StandingOrder.elder_id == elder_id, StandingOrder.stopped_at.is_(None))
            .order_by(StandingOrder.id)
        )
    )


@elder_status_changed.connect
def close_what_an_elder_gone_had_ordered(elder, since, **_) -> None:
    if elder.status == ElderStatus.ACTIVE:
        return
    orders.cancel_for(_orders_from(elder.id, elder.status_since), "elder_inactive", "registry")
    for live in _live_standing_orders(elder.id):
        standing.stop_standing_order(None, live)


@preview_samples_wanted.connect
def recent_meals_for_a_policy_preview(district, since: date, limit: int, **_):
    return samples.recent_meal_samples(district, since, limit)


# What became of an order paid ahead, as the balance history words it.
ORDER_OUTCOMES = {
    OrderStatus.CONFIRMED: Outcome.AHEAD,
    OrderStatus.DISPATCHED: Outcome.AHEAD,
    OrderStatus.CONSUMED: Outcome.EATEN,
    OrderStatus.DELIVERED: Outcome.DELIVERED,
    OrderStatus.CANCELLED: Outcome.CANCELLED,
    OrderStatus.NO_SHOW: Outcome.NOT_TAKEN_UP,
    OrderStatus.FAILED: Outcome.NOT_DELIVERED,
}


@purchases_wanted.connect
def meals_and_orders_paid_from_a_balance(_sender, meal_ids, order_ids, **_):
    found = {}
    if order_ids:
        for order in db.session.execute(
            select(Order.id, Order.date, Order.slot, Order.status).where(Order.id.in_(order_ids))
        ):
            found["orders", order.id] = Purchase(
                True, order.date, order.slot, ORDER_OUTCOMES[order.status]
            )
    if meal_ids:
        for meal in db.session.execute(
            select(Meal.id, Meal.date, Meal.slot, Meal.voided_at).where(Meal.id.in_(meal_ids))
        ):
            outcome = Outcome.EATEN if meal.voided_at is None else Outcome.VOIDED
            found["meals", meal.id] = Purchase(False, meal.date, meal.slot, outcome)
    return found


@elder_status_previewing.connect
def preview_what_an_elder_gone_had_ordered(elder, preview, **_) -> None:
    """What close_what_an_elder_gone_had_ordered would close if the elder's status became
    `preview.status` from `preview.since`, from the same queries, writing nothing."""
    now = utcnow()
    closing = {
        order.id: order for order in orders.cancelled_for(_orders_from(elder.id, preview.since))
    }
    for live in _live_standing_orders(elder.id):
        preview.standing_orders.append(
            StoppedStandingOrder(live.id, live.canteen.name, live.slot, live.channel, live.weekdays)
        )
        for order in standing.cancelled_on_stopping(live, now):
            closing.setdefault(order.id, order)
    for order in sorted(closing.values(), key=lambda order: (order.date, order.id)):
        preview.orders.append(
            ClosedOrder(
                order.id, order.date, order.slot, order.channel, order.canteen.name, order.paid_fen
            )
        )
