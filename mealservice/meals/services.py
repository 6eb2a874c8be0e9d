"""Scans at the counter, voids, quotes and the counter look-up.

A scan is one transaction: verify the card, judge card and elder, take a place in the
slot limit, take a seat, price the meal with the policy function, record the meal with
its snapshot. Any refusal raises, and the request's rollback gives back whatever was
taken before it."""

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import joinedload, make_transient_to_detached

from mealservice.balances import services as balances
from mealservice.core.auth import ensure_canteen_in_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.elders import cards
from mealservice.elders.access import record_access
from mealservice.elders.models import Access, Card, Elder
from mealservice.elders.services import is_active_on, linked_elder_ids
from mealservice.meals import limits
from mealservice.meals.models import (
    CLEARED,
    Holds,
    Meal,
    MealSource,
    Order,
    OrderStatus,
    PaymentMethod,
    copy_price,
)
from mealservice.menus.models import Menu, MenuOption, MenuStatus
from mealservice.menus.services import release_seat, take_seat
from mealservice.places import registry
from mealservice.places.models import Canteen, nearest_slot, slot_at
from mealservice.places.registry import ensure_month_open
from mealservice.places.services import CounterCanteen, counter_canteen
from mealservice.policy import pricing
from mealservice.policy.services import (
    is_holiday,
    policy_stamp,
    pricing_policies,
    still_in_force,
)

log = logging.getLogger(__name__)

# How old a queued offline scan may be, and how far ahead a terminal's clock may run.
OFFLINE_MAX_AGE = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=2)

# The scan's own refusals; a card's are the card judgement's (cards.Judgement.refusal).
REFUSAL_MESSAGES = {
    "elder_inactive": "The elder is no longer active in the registry.",
    "no_menu": "The canteen has no published menu for this meal.",
    "capacity_full": "Every seat of this meal is taken.",
    "already_served": "The elder has already had this meal.",
    "insufficient_balance": "The meal balance is too low for this meal.",
}

# Why a meal was served or an elder looked up without the card, when the counter says nothing.
NO_CARD = "card not at hand"


# Built once: every scan runs it, and building it costs more than running it.
PUBLISHED_MENU = (
    select(Menu)
    .options(joinedload(Menu.options))
    .where(
        Menu.canteen_id == bindparam("canteen_id"),
        Menu.date == bindparam("day"),
        Menu.slot == bindparam("slot"),
        Menu.status == MenuStatus.PUBLISHED,
    )
)


# An offline scan's natural key (canteen, elder, the moment it was scanned), as the unique
# index ux_meals_offline_scan holds it.
OFFLINE_SCAN = select(Meal).where(
    Meal.canteen_id == bindparam("canteen_id"),
    Meal.elder_id == bindparam("elder_id"),
    Meal.served_at == bindparam("at", type_=UTCDateTime),
    Meal.offline.is_(True),
)


@dataclass(frozen=True)
class Moment:
    """When a meal happens, in UTC and as the local date and slot of the canteen."""

    at: datetime
    day: date
    slot: str
    offline: bool


@dataclass(frozen=True)
class ScanPlan:
    """What a scan read before writing anything: the card's judgement, and either the
    booking it serves or the menu, option and policy it is priced under."""

    actor: object
    canteen: CounterCanteen
    data: dict
    now: datetime | None
    moment: Moment
    judged: cards.Judgement
    problem: str | None = None
    booking: Order | None = None
    menu: Menu | None = None
    option: MenuOption | None = None
    policies: list[pricing.Policy] | None = None
    policy_stamp: int | None = None  # what `policies` were read under
    in_force: pricing.Policy | None = None
    facts: pricing.MealFacts | None = None
    recorded: Meal | None = None  # the meal this offline scan made when first sent


def scan(actor, canteen: Canteen, data: dict, now: datetime | None = None) -> Meal:
    """Record a dine-in meal for the card (or elder) scanned at the canteen's counter.

    `now` is the clock's reading; only the demo loader, replaying a week, sets it. The
    counter's request reads with `plan_scan` and writes with `record_scan`, holding the
    SQLite write lock only for the second (core.db.start_writing between the two)."""
    return record_scan(plan_scan(actor, counter_canteen(canteen.id), data, now))


def plan_scan(
    actor,
    canteen: CounterCanteen,
    data: dict,
    now: datetime | None = None,
    *,
    vouched: bool = False,
) -> ScanPlan:
    """Read everything a scan is judged and priced by; refuse what the reads refuse.

    `vouched`: a person records a queued scan the service once refused, so its age does
    not refuse it (the month's closing still does)."""
    moment = _moment_of(canteen, data, now or utcnow(), vouched=vouched)
    judged = cards.judge(
        canteen.district_code,
        data,
        moment.at,
        moment.day,
        statement=SCAN_CARD,
        params={"canteen_id": canteen.id, "day": moment.day, "slot": moment.slot},
    )
    plan = ScanPlan(actor, canteen, data, now, moment, judged, judged.problem)
    elder = judged.elder
    # Read with the card; asked apart for a look-up by elder.
    booking_id, subsidized = judged.also or (None, None)
    if moment.offline:
        # The same queued scan sent again (its answer lost) is the meal it already made.
        recorded = db.session.scalar(
            OFFLINE_SCAN, {"canteen_id": canteen.id, "elder_id": elder.id, "at": moment.at}
        )
        if recorded is not None:
            return replace(plan, recorded=recorded)
    if plan.problem is None and is_active_on(elder, moment.day):
        if judged.also is None:
            booking = booking_for(elder.id, canteen.id, moment.day, moment.slot)
        else:
            booking = None if booking_id is None else db.session.get(Order, booking_id)
        if booking is not None:
            return replace(plan, booking=booking)
    menu, option = _menu_and_option(canteen, moment, data.get("option_id"))

    # Everything that would refuse the meal, in the order the counter explains it.
    problem = plan.problem
    if problem is None and not is_active_on(elder, moment.day):
        problem = "elder_inactive"
    if problem is None and menu is None:
        problem = "no_menu"
    if problem is not None and not moment.offline:
        raise judged.refusal() if problem == judged.problem else _refusal(problem, elder)

    policies = pricing_policies(elder.hukou_district)
    in_force = pricing.policy_in_force(policies, elder.hukou_district, moment.day)
    daily_limit = pricing.limits_of(in_force).subsidized_per_day
    price_fen = option.price_fen if option else 0
    return replace(
        plan,
        problem=problem,
        menu=menu,
        option=option,
        policies=policies,
        policy_stamp=policy_stamp(),
        in_force=in_force,
        facts=facts_of_meal(
            canteen,
            elder,
            moment,
            price_fen,
            daily_limit,
            subsidized_today=None if judged.also is None else subsidized or 0,
        ),
    )


def record_scan(plan: ScanPlan) -> Meal:
    """Write the meal a plan allows. From here the database decides (conditional UPDATEs
    and CHECKs); where the reads went stale meanwhile, the scan is planned again."""
    actor, canteen, data, moment = plan.actor, plan.canteen, plan.data, plan.moment
    card, elder, problem = plan.judged.card, plan.judged.elder, plan.problem
    if plan.recorded is not None:
        plan.recorded.balance_after_fen = None  # the answer's, as when it was first sent
        return plan.recorded
    if plan.booking is not None:
        meal = _serve_booking(actor, canteen, card, plan.booking, moment, data)
        # None: the booking was closed meanwhile.
        return meal or record_scan(plan_scan(actor, canteen, data, plan.now))
    in_force, menu, option, facts = plan.in_force, plan.menu, plan.option, plan.facts
    read_version = in_force.version if in_force else None
    if not still_in_force(elder.hukou_district, moment.day, read_version, plan.policy_stamp):
        # A new version took effect for this date while we read: price under it instead.
        return record_scan(plan_scan(actor, canteen, data, plan.now))
    allowed = pricing.limits_of(in_force)
    per_slot, refuse_beyond = allowed.per_slot, allowed.refuse_beyond
    daily_limit = allowed.subsidized_per_day
    price_fen = option.price_fen if option else 0
    elder_facts = facts_of_elder(elder)
    before = limits.take_slot(elder.id, moment.day, moment.slot, per_slot)
    if before is None and refuse_beyond and problem is None:
        if not moment.offline:
            raise _already_served(elder, moment)
        problem = "already_served"
    holds_seat = menu is not None and take_seat(menu.id)
    if not holds_seat and problem is None:
        if not moment.offline:
            raise _refusal("capacity_full", elder)
        problem = "capacity_full"

    meal = Meal(
        **_counter_meal(
            actor,
            canteen,
            card,
            elder,
            moment,
            menu_id=menu.id if menu else None,
            option_id=option.id if option else None,
            option=option,
            holds_seat=holds_seat,
            holds_slot=before is not None,
        )
    )
    if problem is not None:
        # The meal happened but the counter could not judge it: full price, no subsidy.
        copy_price(meal, pricing.full_price(price_fen, problem, read_version))
        meal.conflict = problem
    else:
        facts = replace(facts, meals_in_slot=per_slot if before is None else before)
        price = pricing.price_meal(plan.policies, elder_facts, facts)
        if price.subsidy_fen and daily_limit is not None:
            if limits.take_subsidized(elder.id, moment.day, daily_limit) is None:
                # Another meal of the day took the last subsidized place meanwhile.
                full_day = replace(facts, subsidized_today=daily_limit)
                price = pricing.price_meal(plan.policies, elder_facts, full_day)
            else:
                meal.holds_subsidy = True
        copy_price(meal, price)
    meal.to_collect_fen = meal.elder_pays_fen
    return _record(actor, canteen, meal, data)


def _counter_meal(
    actor, canteen: CounterCanteen, card, elder: Elder, moment: Moment, **fields
) -> dict:
    """What a dine-in meal served at this counter now (or at an offline scan's moment)
    says of itself, as keyword arguments of a Meal."""
    # The loaded elder itself beside its id: the answer reads it, and a relationship given
    # no object would load it again once the plan's references are gone.
    return dict(
        canteen_id=canteen.id,
        elder_id=elder.id,
        elder=elder,
        card_id=card.id if card else None,
        date=moment.day,
        slot=moment.slot,
        channel="dine_in",
        source=MealSource.CARD if card else MealSource.LOOKUP,
        served_at=moment.at,
        recorded_by=actor.username,
        offline=moment.offline,
        **fields,
    )


def _record(actor, canteen: CounterCanteen, meal: Meal, data: dict) -> Meal:
    """Record a meal served at the counter, collecting what the elder owes there."""
    record_meal(meal, data.get("payment") or {})
    if meal.balance_after_fen is not None:
        balances.record_payment(actor.username, meal, meal.to_collect_fen, meal.balance_after_fen)
    if meal.card_id is None:
        record_access(
            actor,
            canteen,
            [meal.elder_id],
            Access.CARDLESS_SCAN,
            data.get("no_card_reason") or NO_CARD,
        )
        log.info(
            "meal %s served by elder id %s without a card by %s",
            meal.id,
            meal.elder_id,
            actor.username,
        )
    return meal


def _serve_booking(
    actor, canteen: CounterCanteen, card, booking: Order, moment: Moment, data: dict
):
    """The elder booked this meal: the booking's option, seat and price win, and only what
    is still owed is collected. None when the booking was closed meanwhile."""
    holds = consume_booking(booking, moment.at)
    if holds is None:
        return None
    counter = _counter_meal(actor, canteen, card, booking.elder, moment)
    return _record(actor, canteen, Meal.from_order(booking, holds, **counter), data)


def record_meal(meal: Meal, payment: dict | None = None) -> Meal:
    """The one door every meal goes through: a scan, an offline scan, a booking eaten, a
    delivery reported, a volunteer's drop, a drop settled by hand. The month must be open;
    public money goes only to an elder active on the meal's date at a place not
    blacklisted that day, whenever the meal was priced (an order placed before a death or
    a blacklisting): otherwise the meal is priced in full and gives back its subsidized
    place. What was paid ahead stays paid; the rest is to collect, by `payment` at a
    counter (the balance it leaves is `meal.balance_after_fen`, for the answer only)."""
    ensure_month_open(meal.canteen_id, meal.date)
    if meal.subsidy_fen or meal.delivery_subsidy_fen:
        unpaid_reason = None
        if registry.is_blacklisted(meal.canteen_id, meal.date):
            unpaid_reason = "canteen_blacklisted"
        elif not is_active_on(db.session.get(Elder, meal.elder_id), meal.date):
            unpaid_reason = "elder_inactive"
        if unpaid_reason is not None:
            paid_ahead = meal.elder_pays_fen - meal.to_collect_fen
            copy_price(
                meal,
                pricing.full_price(
                    meal.price_fen, unpaid_reason, meal.policy_version, meal.delivery_fee_fen
                ),
            )
            meal.to_collect_fen = meal.elder_pays_fen - paid_ahead
            if meal.holds_subsidy:
                limits.release_subsidized(meal.elder_id, meal.date)
                meal.holds_subsidy = False
    meal.balance_after_fen = None if payment is None else _collect(meal, payment)
    _insert(meal)
    return meal


# A meal's columns but its id, and the INSERT that writes them, built once: every meal
# recorded runs it.
MEAL_COLUMNS = tuple(column for column in Meal.__table__.columns if column.key != "id")
INSERT_MEAL = insert(Meal.__table__)


def _insert(meal: Meal) -> None:
    """Write the meal by one Core INSERT instead of the unit of work, whose bookkeeping
    was an eighth of a scan's time, then put it in the session as if just loaded, every
    column set: whoever reads it next (the answer) costs no query. The database's
    triggers on meals (the audit row, the closed month) fire all the same."""
    values = {}
    given = meal.__dict__
    for column in MEAL_COLUMNS:
        if column.key in given:
            values[column.key] = given[column.key]
            continue
        if column.default is None:
            value = None
        elif column.default.is_callable:
            value = column.default.arg(None)
        else:
            value = column.default.arg
        # Into the object's dict, not through the attribute: the meal is made "as loaded"
        # below, which throws away the history an attribute's setter would record.
        values[column.key] = given[column.key] = value
    # Whatever else the session holds goes first, as the unit of work would have ordered it.
    db.session.flush()
    # On the session's connection: the session's own execute would take an INSERT of a
    # mapped table down the ORM's bulk path, for nothing here.
    meal.id = db.session.connection().execute(INSERT_MEAL, values).inserted_primary_key[0]
    make_transient_to_detached(meal)
    db.session.add(meal)


def _collect(meal: Meal, payment: dict) -> int | None:
    """How the elder pays what they owe; the balance left when it came from the balance.

    A short balance refuses a scan at the counter. A queued offline scan happened anyway:
    its meal becomes a conflict, unsubsidized, with the whole price still to collect."""
    if not meal.to_collect_fen:
        return None
    meal.payment_method = payment.get("method", PaymentMethod.CASH)
    meal.payment_reference = payment.get("reference")
    if meal.payment_method != PaymentMethod.BALANCE:
        return None
    balance_after = balances.take_for_meal(meal.elder_id, meal.to_collect_fen)
    if balance_after is not None:
        return balance_after
    if not meal.offline:
        # The elder is in the session already (the card's judgement loaded it): no query.
        elder_name = db.session.get(Elder, meal.elder_id).name
        raise balances.insufficient_balance(meal.elder_id, meal.to_collect_fen, elder_name)
    paid_ahead = meal.elder_pays_fen - meal.to_collect_fen  # a booking paid for
    if meal.conflict is None:
        if meal.holds_subsidy:
            limits.release_subsidized(meal.elder_id, meal.date)
            meal.holds_subsidy = False
        copy_price(
            meal,
            pricing.full_price(meal.price_fen, "insufficient_balance", meal.policy_version),
        )
        meal.conflict = "insufficient_balance"
    meal.to_collect_fen = meal.elder_pays_fen - paid_ahead
    meal.payment_method = PaymentMethod.CASH
    return None


def _moment_of(
    canteen: CounterCanteen, data: dict, now: datetime, *, vouched: bool = False
) -> Moment:
    scanned_at = data.get("scanned_at")
    if scanned_at is not None:
        if scanned_at > now + CLOCK_SKEW:
            raise ValidationFailed({"scanned_at": ["The scan time lies in the future."]})
        if scanned_at < now - OFFLINE_MAX_AGE and not vouched:
            raise ValidationFailed(
                {"scanned_at": ["Offline scans older than 24 hours are not accepted."]}
            )
    at = scanned_at or now
    local = canteen.local(at)
    hhmm = local.strftime("%H:%M")
    slot = data.get("slot") or slot_at(canteen.slot_windows, hhmm)
    if slot is None and scanned_at is not None:
        # A queued offline scan is a meal already handed out: its hour never refuses it.
        slot = nearest_slot(canteen.slot_windows, hhmm)
    if slot is None:
        raise ValidationFailed(
            {"slot": [f"{local:%H:%M} is outside every meal window; name the slot."]}
        )
    return Moment(at=at, day=local.date(), slot=slot, offline=scanned_at is not None)


def _menu_and_option(
    canteen: Canteen | CounterCanteen, moment: Moment, option_id: int | None
) -> tuple[Menu | None, MenuOption | None]:
    menu = (
        db.session.scalars(
            PUBLISHED_MENU, {"canteen_id": canteen.id, "day": moment.day, "slot": moment.slot}
        )
        .unique()
        .first()
    )
    # An offline scan happened whatever became of the menu since: it is never refused here.
    if menu is None:
        if option_id is not None and not moment.offline:
            raise ValidationFailed({"option_id": ["There is no menu for this meal."]})
        return None, None
    if option_id is None:
        return menu, menu.options[0]
    for option in menu.options:
        if option.id == option_id:
            return menu, option
    if moment.offline:
        return menu, menu.options[0]
    raise ValidationFailed({"option_id": ["The option is not on this meal's menu."]})


def _refusal(code: str, elder: Elder) -> Conflict:
    """A scan refused for the elder: named as a served meal names them, for the cashier."""
    return Conflict(code, REFUSAL_MESSAGES[code], {"elder_id": elder.id, "elder_name": elder.name})


def _already_served(elder: Elder, moment: Moment) -> Conflict:
    """Where and when the elder already had this meal, so the cashier can explain."""
    earlier = db.session.scalar(
        select(Meal)
        .where(
            Meal.elder_id == elder.id,
            Meal.date == moment.day,
            Meal.slot == moment.slot,
            Meal.voided_at.is_(None),
        )
        .order_by(Meal.served_at)
        .limit(1)
    )
    if earlier is None:
        return _refusal("already_served", elder)
    served = earlier.canteen.district.local(earlier.served_at)
    return Conflict(
        "already_served",
        f"The elder already had {moment.slot} at {earlier.canteen.name} at {served:%H:%M}.",
        {
            "elder_id": elder.id,
            "elder_name": elder.name,
            "meal_id": earlier.id,
            "canteen_id": earlier.canteen_id,
            "canteen_name": earlier.canteen.name,
            "served_at": served.isoformat(),
        },
    )


def facts_of_elder(elder: Elder) -> pricing.ElderFacts:
    return pricing.ElderFacts(
        hukou_district=elder.hukou_district,
        birth_date=elder.birth_date,
        categories=frozenset(elder.categories),
    )


def facts_of_meal(
    canteen: Canteen | CounterCanteen,
    elder: Elder,
    moment: Moment,
    price_fen: int,
    daily_limit: int | None,
    *,
    channel: str = "dine_in",
    delivery_fee_fen: int = 0,
    subsidized_today: int | None = None,
) -> pricing.MealFacts:
    """The meal as the pricing function sees it, before any limit is taken.
    `subsidized_today`: the elder's subsidized meals of the day when already read."""
    counted = daily_limit is not None
    if subsidized_today is None and counted:
        subsidized_today = limits.subsidized_count(elder.id, moment.day)
    return pricing.MealFacts(
        canteen_district=canteen.district_code,
        local_date=moment.day,
        slot=moment.slot,
        channel=channel,
        price_fen=price_fen,
        delivery_fee_fen=delivery_fee_fen,
        is_holiday=is_holiday(moment.day),
        subsidized_today=subsidized_today if counted else 0,
        canteen_blacklisted=registry.is_blacklisted(canteen.id, moment.day),
    )


def _live_booking(elder_id):
    """The id of the live dine-in booking of the elder `elder_id` names at the bound
    canteen, day and slot. Its id only: most scans find none, and loading an entity
    through the session costs several times the query."""
    return (
        select(Order.__table__.c.id)
        .where(
            Order.elder_id == elder_id,
            Order.canteen_id == bindparam("canteen_id"),
            Order.date == bindparam("day"),
            Order.slot == bindparam("slot"),
            Order.channel == "dine_in",
            Order.status == OrderStatus.CONFIRMED,
        )
        .order_by(Order.id)
        .limit(1)
    )


# Built once: every scan asks.
LIVE_BOOKING = _live_booking(bindparam("elder_id"))

# A card scanned is judged by the statement that reads what the scan asks of its elder:
# the live booking's id and the day's subsidized meals (two statements fewer a scan).
SCAN_CARD = cards.card_statement(
    _live_booking(Card.elder_id).scalar_subquery(), limits.subsidized_on_day(Card.elder_id)
)


def booking_for(elder_id: int, canteen_id: int, day, slot: str) -> Order | None:
    """The elder's live dine-in booking at this canteen for this meal, if any."""
    booking_id = db.session.connection().scalar(
        LIVE_BOOKING,
        {"elder_id": elder_id, "canteen_id": canteen_id, "day": day, "slot": slot},
    )
    return None if booking_id is None else db.session.get(Order, booking_id)


def consume_booking(booking: Order, now: datetime) -> Holds | None:
    """The elder came: the booking is consumed, and what it held passes to its meal. None
    when the booking was closed meanwhile (a no-show, a cancel)."""
    holds = Holds.of(booking)
    consumed = db.session.execute(
        update(Order)
        .where(Order.id == booking.id, Order.status == OrderStatus.CONFIRMED)
        .values(status=OrderStatus.CONSUMED, status_changed_at=now, **CLEARED)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(booking)  # read afresh when next asked
    return holds if consumed else None


def get_meal(actor, meal_id: int) -> Meal:
    meal = db.session.get(Meal, meal_id)
    if meal is None:
        raise NotFound("meal")
    ensure_canteen_in_scope(actor, meal.canteen, "meal")
    return meal


def get_meal_of_elder(actor, meal_id: int) -> Meal:
    """A meal of an elder linked to a family or elder account."""
    meal = db.session.get(Meal, meal_id)
    if meal is None or meal.elder_id not in linked_elder_ids(actor):
        raise NotFound("meal")
    return meal


def void_meal(actor, meal: Meal, reason: str) -> Meal:
    """Undo a meal recorded by mistake, on its own local day. What it held (its place in
    the slot limit, its seat) passes to another live meal that lacked it, as an offline
    conflict meal or one served beyond the limit does; else it is given back. Its
    subsidized place of the day is given back."""
    ensure_month_open(meal.canteen_id, meal.date)
    if meal.voided_at is None and meal.date != meal.canteen.district.local_today():
        raise Conflict(
            "void_window_passed",
            f"A meal can be voided only on its own day ({meal.date:%Y-%m-%d}).",
            {"date": meal.date.isoformat()},
        )
    held = Holds.of(meal)
    # The condition in the UPDATE makes two managers voiding at once void it once.
    stamped = db.session.execute(
        update(Meal)
        .where(Meal.id == meal.id, Meal.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by=actor.username, void_reason=reason, **CLEARED)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(meal)
    if not stamped:
        raise Conflict(
            "already_voided",
            "The meal is already voided.",
            {"voided_at": meal.voided_at.isoformat(), "voided_by": meal.voided_by},
        )
    # Same order as a scan takes them: slot tally, seat, subsidy tally.
    same_slot = (Meal.elder_id == meal.elder_id, Meal.date == meal.date, Meal.slot == meal.slot)
    if held.slot and not _pass_on(Meal.holds_slot, *same_slot):
        limits.release_slot(meal.elder_id, meal.date, meal.slot)
    if held.seat and not _pass_on(Meal.holds_seat, Meal.menu_id == meal.menu_id):
        release_seat(meal.menu_id)
    if held.subsidy:
        limits.release_subsidized(meal.elder_id, meal.date)
    if meal.payment_method == PaymentMethod.BALANCE and meal.to_collect_fen:
        balances.refund(actor.username, meal, meal.to_collect_fen)
    log.info("meal %s voided by %s", meal.id, actor.username)
    return meal


def _pass_on(hold, *where) -> bool:
    """Give the hold to one live meal matching `where` that lacks it; False if none does."""
    heir = (
        select(Meal.id)
        .where(*where, Meal.voided_at.is_(None), hold.is_(False))
        .order_by(Meal.served_at)
        .limit(1)
        .scalar_subquery()
    )
    return bool(
        db.session.execute(
            update(Meal)
            .where(Meal.id == heir)
            .values({hold: True})
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def canteen_meals_query(canteen: Canteen, day: date | None = None, conflict: bool | None = None):
    query = select(Meal).where(Meal.canteen_id == canteen.id).order_by(Meal.served_at.desc())
    if day is not None:
        query = query.where(Meal.date == day)
    if conflict is not None:
        query = query.where(Meal.conflict.is_not(None) if conflict else Meal.conflict.is_(None))
    return query


def quote(elder: Elder, canteen: Canteen, query: dict) -> pricing.Price:
    """What the elder would pay for a meal now, priced exactly as a scan or order would."""
    day, slot, channel = query["date"], query["slot"], query["channel"]
    moment = Moment(at=utcnow(), day=day, slot=slot, offline=False)
    menu, option = _menu_and_option(canteen, moment, query.get("option_id"))
    if menu is None:
        raise Conflict("no_menu", REFUSAL_MESSAGES["no_menu"], {"date": day.isoformat()})
    return _quotes(elder, canteen, menu, [option], [channel])[option.id][channel]


def quote_menu(elder: Elder, menu: Menu, channels) -> dict[int, dict[str, pricing.Price]]:
    """quote's price of each option of a published menu by each channel, the elder's day
    read once for the menu (the ordering page lists every option both ways)."""
    return _quotes(elder, menu.canteen, menu, menu.options, channels)


def _quotes(elder, canteen, menu, options, channels) -> dict[int, dict[str, pricing.Price]]:
    moment = Moment(at=utcnow(), day=menu.date, slot=menu.slot, offline=False)
    policies = pricing_policies(elder.hukou_district)
    in_force = pricing.policy_in_force(policies, elder.hukou_district, menu.date)
    daily_limit = pricing.limits_of(in_force).subsidized_per_day
    day_facts = replace(
        facts_of_meal(canteen, elder, moment, 0, daily_limit),
        meals_in_slot=limits.slot_count(elder.id, menu.date, menu.slot),
    )
    elder_facts = facts_of_elder(elder)
    return {
        option.id: {
            channel: pricing.price_meal(
                policies,
                elder_facts,
                replace(
                    day_facts,
                    channel=channel,
                    price_fen=option.price_fen,
                    delivery_fee_fen=option.delivery_fee_fen,
                ),
            )
            for channel in channels
        }
        for option in options
    }


def lookup_elders(
    actor, canteen: Canteen, name: str, phone_last4: str, reason: str | None = None
) -> list[Elder]:
    """The counter look-up for an elder without a card: exact name and the phone's last
    four digits, among the elders registered in the canteen's district. Written to the
    personal-data access log, the matches by id and the search itself without the name."""
    found = list(
        db.session.scalars(
            select(Elder)
            .where(
                Elder.hukou_district == canteen.district_code,
                Elder.name == name.strip(),
                Elder.phone_last4 == phone_last4,
            )
            .order_by(Elder.id)
            .limit(10)
        )
    )
    record_access(
        actor, canteen, [elder.id for elder in found], Access.COUNTER_LOOKUP, reason or NO_CARD
    )
    log.info(
        "elder look-up at canteen %s by %s: %d match(es) %s",
        canteen.id,
        actor.username,
        len(found),
        [elder.id for elder in found],
    )
    return found
