"""The eight anomaly checks of a monthly claim, as set-based SQL over the stored meals.

Each check compares a meal's stored snapshot with today's facts (the menu's seats, the
holiday calendar, the card's revocation, the elder's status, the order's delivery, the
policy's limits), whatever path wrote the meal. They run for one canteen or for every
canteen of a month at once (the scheduler, the benchmark), in two passes over the month
and a few look-ups that start from the rare side:

1. one GROUP BY canteen and menu gives the claim's totals and, against the menus' seats,
   the menus served beyond capacity (over_capacity);
2. one GROUP BY date and elder over a partial covering index finds the elder-days that
   may hold two meals in one slot or meals at two places; only those days' meals are
   read back, and judged against the policy's slot limit (duplicate_in_slot) and the
   60-minute window (two_places);
3. look-ups from the rare facts: meals with a conflict (offline_conflict), meals with a
   delivery subsidy whose order is not delivered (delivery_unconfirmed), the meals of
   revoked or superseded cards (card_not_valid), of elders no longer active
   (elder_inactive), and subsidized meals on the month's holidays (holiday_subsidy), each
   through its own index.

Only flagged meals come back to Python, where they are grouped into anomalies: one per
elder and date (per elder where the cause lasts, per menu for over_capacity)."""

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    and_,
    case,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased

from mealservice.claims.models import AnomalyCode
from mealservice.core.db import among, db
from mealservice.elders.models import Card, Elder, ElderStatus
from mealservice.meals.models import Meal, Order, OrderStatus
from mealservice.menus.models import Menu
from mealservice.policy import pricing
from mealservice.policy.models import Holiday, SubsidyPolicy
from mealservice.policy.services import pricing_policies

# Two meals of one elder closer than this at two places cannot both be real.
TWO_PLACES_WINDOW_MIN = 60
# Up to this many canteens, the passes read only theirs; beyond, every canteen's month.
FEW_CANTEENS = 20
# Elder-days read back per query in pass 2.
CHUNK = 500

# The aggregates group a month's meals by menu and by elder-day: at 150,000 meals the
# elder-days outgrow PostgreSQL's default 4 MB of work memory and spill to disk, which
# made the pass eight times the floor. Enough for some 10 million meals a month.
AGGREGATE_WORK_MEM = "256MB"


@dataclass
class Anomaly:
    code: str
    canteen_id: int
    elder_id: int | None
    meal_ids: list[int] = field(default_factory=list)
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "elder_id": self.elder_id,
            "meal_ids": sorted(self.meal_ids),
            "detail": self.detail,
        }


@dataclass
class MonthCheck:
    """What the passes found: each canteen's totals and its anomalies."""

    totals: dict[int, dict]
    anomalies: dict[int, list[Anomaly]]


def check_month(first: date, last: date, canteen_ids: list[int] | None) -> MonthCheck:
    """Totals and every anomaly among the meals from `first` to `last` (local dates) of
    the canteens named (None: all), by canteen."""
    # Many canteens are read as all of them, by the passes and the look-ups alike: a long
    # IN list costs more to send, parse and plan than the few rows it would spare; what
    # they find is kept for the canteens named.
    scope = canteen_ids if canteen_ids is not None and len(canteen_ids) <= FEW_CANTEENS else None
    totals, found = _menu_pass(first, last, scope)
    if canteen_ids is not None:
        totals = {
            canteen_id: totals[canteen_id] for canteen_id in canteen_ids if canteen_id in totals
        }
    found += _crowded_days(first, last, scope)
    found += _conflicts(first, last, scope)
    found += _undelivered(first, last, scope)
    found += _invalid_cards(first, last, scope)
    found += _inactive_elders(first, last, scope)
    found += _holiday_subsidies(first, last, scope)
    named = None if canteen_ids is None else set(canteen_ids)
    by_canteen: dict[int, list[Anomaly]] = defaultdict(list)
    for anomaly in found:
        if named is None or anomaly.canteen_id in named:
            by_canteen[anomaly.canteen_id].append(anomaly)
    return MonthCheck(totals, by_canteen)


def find_anomalies(first: date, last: date, canteen_ids: list[int] | None) -> dict[int, list]:
    return check_month(first, last, canteen_ids).anomalies


def claimed_meals(first: date, last: date, canteen_ids: list[int] | None, meal=Meal) -> list:
    """The conditions of the meals a claim pays for: the month's, not voided."""
    conditions = [meal.date.between(first, last), meal.voided_at.is_(None)]
    if canteen_ids is not None:
        conditions.append(meal.canteen_id.in_(canteen_ids))
    return conditions


def _group(rows, code: str, detail_of, per_day: bool = True) -> list[Anomaly]:
    """Flagged meals grouped one anomaly per canteen, elder and date (or per canteen and
    elder, where the cause lasts: a status, a card)."""
    groups: dict[tuple, Anomaly] = {}
    for row in rows:
        key = (row.canteen_id, row.elder_id, row.date if per_day else None)
        anomaly = groups.get(key)
        if anomaly is None:
            anomaly = groups[key] = Anomaly(
                code, row.canteen_id, row.elder_id, detail={"date": row.date.isoformat()}
            )
        anomaly.meal_ids.append(row.id)
        anomaly.detail.update(detail_of(row))
    return list(groups.values())


# Pass 1: totals and over_capacity.


def _room_to_aggregate() -> None:
    """Let this transaction's aggregates hash in memory on PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL work_mem = '{AGGREGATE_WORK_MEM}'"))


def _menu_pass(first: date, last: date, canteen_ids) -> tuple[dict[int, dict], list[Anomaly]]:
    _room_to_aggregate()
    subsidized = or_(Meal.subsidy_fen > 0, Meal.delivery_subsidy_fen > 0)
    # Grouped once by menu (MATERIALIZED: SQLite too computes it once), then read back as
    # each canteen's totals and the few menus served beyond their seats: a few hundred rows
    # to Python, not one per menu, whose objects alone set off a full garbage collection.
    per_menu = (
        select(
            Meal.canteen_id,
            Meal.menu_id,
            func.count().label("meals"),
            func.sum(case((subsidized, 1), else_=0)).label("subsidized_meals"),
            func.sum(Meal.subsidy_fen).label("subsidy"),
            func.sum(Meal.delivery_subsidy_fen).label("delivery"),
            func.sum(case((Meal.channel == "dine_in", 1), else_=0)).label("dine_in"),
        )
        .where(*claimed_meals(first, last, canteen_ids))
        .group_by(Meal.canteen_id, Meal.menu_id)
        .cte("per_menu")
        .prefix_with("MATERIALIZED")
    )
    canteen_totals = select(
        per_menu.c.canteen_id,
        null().label("menu_id"),
        func.sum(per_menu.c.meals),
        func.sum(per_menu.c.subsidized_meals),
        func.sum(per_menu.c.subsidy),
        func.sum(per_menu.c.delivery),
        null().label("dine_in"),
        null().label("seats"),
    ).group_by(per_menu.c.canteen_id)
    full_menus = select(
        per_menu.c.canteen_id,
        per_menu.c.menu_id,
        per_menu.c.meals,
        per_menu.c.subsidized_meals,
        per_menu.c.subsidy,
        per_menu.c.delivery,
        per_menu.c.dine_in,
        Menu.seats,
    ).join(Menu, and_(Menu.id == per_menu.c.menu_id, per_menu.c.dine_in > Menu.seats))
    totals: dict[int, dict] = {}
    full: dict[int, tuple[int, int]] = {}
    for row in db.session.execute(union_all(canteen_totals, full_menus)):
        canteen_id, menu_id, meals, subsidized_meals, subsidy, delivery, dine_in, seats = row
        if menu_id is not None:
            full[menu_id] = (seats, int(dine_in))
            continue
        totals[canteen_id] = {
            "meals": int(meals),
            "subsidized_meals": int(subsidized_meals),
            "meal_subsidy_fen": int(subsidy),
            "delivery_subsidy_fen": int(delivery),
        }
    return totals, _over_capacity(full)


def _over_capacity(full: dict[int, tuple[int, int]]) -> list[Anomaly]:
    """Dine-in meals of a menu beyond its seats as they stand today (`full`: the seats and
    the dine-in meals of each menu served beyond them); the meals served after the last
    seat was taken are the ones listed."""
    if not full:
        return []
    ranked = (
        select(
            Meal.id,
            Meal.canteen_id,
            Meal.menu_id,
            Meal.date,
            Meal.slot,
            func.row_number()
            .over(partition_by=Meal.menu_id, order_by=(Meal.served_at, Meal.id))
            .label("place"),
        )
        .where(among(Meal.menu_id, full), Meal.voided_at.is_(None), Meal.channel == "dine_in")
        .subquery()
    )
    rows = db.session.execute(
        select(ranked)
        .join(Menu, Menu.id == ranked.c.menu_id)
        .where(ranked.c.place > Menu.seats)
        .order_by(ranked.c.menu_id, ranked.c.place)
    ).all()
    found: dict[int, Anomaly] = {}
    for row in rows:
        anomaly = found.get(row.menu_id)
        if anomaly is None:
            anomaly = found[row.menu_id] = Anomaly(
                AnomalyCode.OVER_CAPACITY,
                row.canteen_id,
                None,
                detail={
                    "date": row.date.isoformat(),
                    "slot": row.slot,
                    "menu_id": row.menu_id,
                    "seats": full[row.menu_id][0],
                    "served": full[row.menu_id][1],
                },
            )
        anomaly.meal_ids.append(row.id)
    return list(found.values())


# Pass 2: duplicate_in_slot and two_places.


@contextmanager
def _grouped_in_index_order():
    """On PostgreSQL, group the month's elder-days as ix_meals_day_elder hands them over,
    in order, one group at a time. The planner, which guesses a few thousand elder-days
    where a month holds one per meal, prefers hashing them all: at 150,000 meals that
    hashing took 0.3 s against 0.13 s for the index-only scan grouped as it streams."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    # Put back as it was after, whatever the server's own setting is.
    was = db.session.scalar(text("SELECT current_setting('enable_hashagg')"))
    db.session.execute(text("SET LOCAL enable_hashagg = off"))
    try:
        yield
    finally:
        db.session.execute(text("SELECT set_config('enable_hashagg', :was, true)"), {"was": was})


def _crowded_days(first: date, last: date, canteen_ids) -> list[Anomaly]:
    """Elder-days with more meals than slots (two in one slot) or at more than one place;
    a limit is never below one, so no other day can hold either anomaly."""
    _room_to_aggregate()
    conditions = claimed_meals(first, last, None)
    if canteen_ids is not None:
        claimed_elders = select(Meal.elder_id).where(*claimed_meals(first, last, canteen_ids))
        conditions.append(Meal.elder_id.in_(claimed_elders))
    # Cheap aggregates only (a DISTINCT count sorts every group): two meals in one slot, or
    # at two places, or three and more; lunch and dinner at one place, the usual day of two
    # meals, is left out here. Python then judges the few days found exactly.
    count = func.count()
    slot = Meal.slot
    if db.session.get_bind().dialect.name == "postgresql":
        # Slots told apart by their length in bytes, an integer: the min and max of the
        # text itself, compared under the collation for every one of a month's meals,
        # were a third of the pass. Two slots of one length would only send their days
        # to Python as well, which judges every day found exactly.
        slot = func.octet_length(Meal.slot)
    with _grouped_in_index_order():
        days = db.session.execute(
            select(Meal.date, Meal.elder_id)
            .where(*conditions)
            .group_by(Meal.date, Meal.elder_id)
            .having(
                count > 1,
                or_(
                    count > 2,
                    func.min(slot) == func.max(slot),
                    func.min(Meal.canteen_id) != func.max(Meal.canteen_id),
                ),
            )
        ).all()
    meals = []
    for start in range(0, len(days), CHUNK):
        chunk = [(elder_id, day) for day, elder_id in days[start : start + CHUNK]]
        meals += db.session.execute(
            select(
                Meal.id,
                Meal.canteen_id,
                Meal.elder_id,
                Meal.date,
                Meal.slot,
                Meal.channel,
                Meal.served_at,
                Elder.hukou_district,
            )
            .join(Elder, Elder.id == Meal.elder_id)
            .where(Meal.voided_at.is_(None), tuple_(Meal.elder_id, Meal.date).in_(chunk))
            .order_by(Meal.served_at, Meal.id)
        ).all()
    return _duplicates_in_slot(meals) + _two_places(meals)


def _duplicates_in_slot(meals) -> list[Anomaly]:
    """More meals in one slot than the policy allows one elder, counted at every canteen."""
    by_slot: dict[tuple, list] = defaultdict(list)
    for meal in meals:
        by_slot[(meal.elder_id, meal.date, meal.slot)].append(meal)
    limits = _slot_limits({(meal.hukou_district, meal.date) for meal in meals})
    found = []
    for (elder_id, day, slot), together in by_slot.items():
        limit = limits[(together[0].hukou_district, day)]
        if len(together) <= limit:
            continue
        by_canteen: dict[int, list[int]] = defaultdict(list)
        for meal in together:
            by_canteen[meal.canteen_id].append(meal.id)
        detail = {"date": day.isoformat(), "slot": slot, "meals": len(together), "limit": limit}
        found += [
            Anomaly(AnomalyCode.DUPLICATE_IN_SLOT, canteen_id, elder_id, ids, dict(detail))
            for canteen_id, ids in by_canteen.items()
        ]
    return found


def _two_places(meals) -> list[Anomaly]:
    """Dine-in meals of one elder at two places within the window (a delivered meal is
    eaten at home, whichever canteen cooked it)."""
    by_day: dict[tuple, list] = defaultdict(list)
    for meal in meals:
        if meal.channel == "dine_in":
            by_day[(meal.elder_id, meal.date)].append(meal)
    window = timedelta(minutes=TWO_PLACES_WINDOW_MIN)
    found: dict[tuple, Anomaly] = {}
    for (elder_id, day), together in by_day.items():
        for meal in together:
            others = [
                other
                for other in together
                if other.canteen_id != meal.canteen_id
                and abs(other.served_at - meal.served_at) < window
            ]
            if not others:
                continue
            key = (meal.canteen_id, elder_id, day)
            anomaly = found.get(key)
            if anomaly is None:
                anomaly = found[key] = Anomaly(
                    AnomalyCode.TWO_PLACES,
                    meal.canteen_id,
                    elder_id,
                    detail={"date": day.isoformat(), "other_meal_ids": [],
                            "other_canteen_ids": []},
                )  # fmt: skip
            anomaly.meal_ids.append(meal.id)
            for other in others:
                if other.id not in anomaly.detail["other_meal_ids"]:
                    anomaly.detail["other_meal_ids"].append(other.id)
                if other.canteen_id not in anomaly.detail["other_canteen_ids"]:
                    anomaly.detail["other_canteen_ids"].append(other.canteen_id)
    return list(found.values())


def _slot_limits(pairs) -> dict[tuple[str, date], int]:
    """The policy's meals-per-slot limit for each (district, date) asked about."""
    limits = {}
    policies_by_district = {}
    for district, day in pairs:
        if district not in policies_by_district:
            policies_by_district[district] = pricing_policies(district)
        in_force = pricing.policy_in_force(policies_by_district[district], district, day)
        limits[(district, day)] = pricing.limits_of(in_force).per_slot
    return limits


# Pass 3: look-ups from the rare facts.


def _conflicts(first: date, last: date, canteen_ids) -> list[Anomaly]:
    rows = db.session.execute(
        select(Meal.id, Meal.canteen_id, Meal.elder_id, Meal.date, Meal.conflict)
        .where(*claimed_meals(first, last, canteen_ids), Meal.conflict.is_not(None))
        .order_by(Meal.served_at)
    ).all()
    return _group(rows, AnomalyCode.OFFLINE_CONFLICT, lambda r: {"conflict": r.conflict})


def _undelivered(first: date, last: date, canteen_ids) -> list[Anomaly]:
    """A delivery subsidy paid on a meal whose order is not (or no longer) delivered: found
    from the month's orders that are not delivered (few), and from the subsidized meals
    without an order at all (none, unless something went wrong)."""
    columns = (Meal.id, Meal.canteen_id, Meal.elder_id, Meal.date, Meal.order_id)
    subsidized = (
        Meal.date.between(first, last),
        Meal.voided_at.is_(None),
        # A literal, so the planner sees the partial index ix_meals_delivery_subsidized.
        Meal.delivery_subsidy_fen > literal_column("0"),
    )
    rows = db.session.execute(
        select(*columns, Order.status.label("order_status"))
        .join(Order, Order.id == Meal.order_id)
        .where(
            Order.date.between(first, last),
            Order.status != OrderStatus.DELIVERED,
            *subsidized,
        )
        .order_by(Meal.served_at)
    ).all()
    rows += db.session.execute(
        select(*columns, literal_column("NULL").label("order_status"))
        .where(Meal.order_id.is_(None), *subsidized)
        .order_by(Meal.served_at)
    ).all()
    return _group(
        _of_canteens(rows, canteen_ids),
        AnomalyCode.DELIVERY_UNCONFIRMED,
        lambda r: {"order_id": r.order_id, "order_status": r.order_status},
    )


def _of_canteens(rows, canteen_ids) -> list:
    """The rare rows a look-up found at every canteen, kept for the canteens claimed: the
    planner then takes the look-up's own index, not the canteens'."""
    return rows if canteen_ids is None else [row for row in rows if row.canteen_id in canteen_ids]


def _invalid_cards(first: date, last: date, canteen_ids) -> list[Anomaly]:
    """Meals on a card revoked, or superseded by a newer one, before the meal: the cards
    that stopped working are few, and their meals are found through ix_meals_card_date."""
    newer = aliased(Card)
    superseded = (
        select(Card.id.label("card_id"), func.min(newer.issued_at).label("superseded_at"))
        .join(newer, and_(newer.elder_id == Card.elder_id, newer.generation > Card.generation))
        .group_by(Card.id)
        .subquery()
    )
    details = {
        card_id: {
            "card_id": card_id,
            "revoked_at": _iso(revoked_at),
            "superseded_at": _iso(superseded_at),
        }
        for card_id, revoked_at, superseded_at in db.session.execute(
            select(Card.id, Card.revoked_at, superseded.c.superseded_at)
            .outerjoin(superseded, superseded.c.card_id == Card.id)
            .where(or_(Card.revoked_at.is_not(None), superseded.c.superseded_at.is_not(None)))
        )
    }
    # Whether the card had stopped when the meal was served is judged in the query, on
    # the card's row and its elder's newer cards: of a month's meals on those cards (some
    # thousands) only the few served after come back to Python.
    stopped_when_served = or_(
        Card.revoked_at <= Meal.served_at,
        exists().where(
            newer.elder_id == Card.elder_id,
            newer.generation > Card.generation,
            newer.issued_at <= Meal.served_at,
        ),
    )
    keys = list(details)
    rows = []
    for start in range(0, len(keys), CHUNK):
        rows += db.session.execute(
            select(Meal.id, Meal.canteen_id, Meal.elder_id, Meal.date, Meal.card_id)
            .join(Card, Card.id == Meal.card_id)
            .where(
                among(Meal.card_id, keys[start : start + CHUNK]),
                *claimed_meals(first, last, None),
                stopped_when_served,
            )
            .order_by(Meal.served_at)
        ).all()
    return _group(
        _of_canteens(rows, canteen_ids),
        AnomalyCode.CARD_NOT_VALID,
        lambda r: details[r.card_id],
        per_day=False,
    )


def _utc(moment) -> datetime:
    # SQLite hands back a subquery's timestamp as naive text; the ORM's columns come typed.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment) -> str | None:
    return None if moment is None else _utc(moment).isoformat()


def _inactive_elders(first: date, last: date, canteen_ids) -> list[Anomaly]:
    """Meals from the date an elder died or moved away: such elders are few, and their
    meals are found through the elder's index, from that date on."""
    rows = db.session.execute(
        select(Meal.id, Meal.canteen_id, Meal.elder_id, Meal.date, Elder.status,
               Elder.status_since)
        .join(Elder, Elder.id == Meal.elder_id)
        .where(
            Elder.status != ElderStatus.ACTIVE,
            Elder.status_since <= last,
            Meal.date >= Elder.status_since,
            *claimed_meals(first, last, None),
        )
        .order_by(Meal.served_at)
    ).all()  # fmt: skip
    return _group(
        _of_canteens(rows, canteen_ids),
        AnomalyCode.ELDER_INACTIVE,
        lambda r: {"status": r.status, "status_since": r.status_since.isoformat()},
        per_day=False,
    )


def _holiday_subsidies(first: date, last: date, canteen_ids) -> list[Anomaly]:
    holidays = dict(
        db.session.execute(
            select(Holiday.day, Holiday.name).where(Holiday.day.between(first, last))
        ).all()
    )
    pairs = _unsubsidized_holidays(list(holidays))
    if not pairs:
        return []
    rows = db.session.execute(
        select(Meal.id, Meal.canteen_id, Meal.elder_id, Meal.date)
        .join(Elder, Elder.id == Meal.elder_id)
        .where(
            *claimed_meals(first, last, canteen_ids),
            Meal.date.in_({day for _, day in pairs}),
            or_(Meal.subsidy_fen > 0, Meal.delivery_subsidy_fen > 0),
            tuple_(Elder.hukou_district, Meal.date).in_(pairs),
        )
        .order_by(Meal.served_at)
    ).all()
    return _group(rows, AnomalyCode.HOLIDAY_SUBSIDY, lambda r: {"holiday": holidays.get(r.date)})


def _unsubsidized_holidays(days: list[date]) -> list[tuple[str, date]]:
    """(district, date) pairs where today's calendar has a holiday and the policy in force
    for that date pays no subsidy on holidays: a handful a month, not one per meal."""
    pairs = []
    if not days:
        return pairs
    for district in db.session.scalars(select(SubsidyPolicy.district_code).distinct()).all():
        policies = pricing_policies(district)
        for day in days:
            in_force = pricing.policy_in_force(policies, district, day)
            if in_force is not None and in_force.no_subsidy_on_holidays:
                pairs.append((district, day))
    return pairs
