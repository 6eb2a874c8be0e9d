"""The eight anomaly checks of a monthly claim, as set-based SQL over the stored meals.

Each check compares a meal's stored snapshot with today's facts (the holiday calendar,
the card's revocation, the elder's status, the order's delivery, the menu's seats, the
policy's limits), whatever path wrote the meal. They run in four passes, for one canteen
or for every canteen of a month at once (the scheduler, the benchmark):

1. one pass over the month's meals joined to today's facts finds holiday_subsidy,
   delivery_unconfirmed, card_not_valid, elder_inactive and offline_conflict;
2. a GROUP BY elder, date and slot finds duplicate_in_slot;
3. a self-join on elder and date finds two_places;
4. a GROUP BY menu finds over_capacity.

Only the meals a pass flags come back to Python, where they are grouped into anomalies:
one per elder and date (per menu for over_capacity)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import aliased

from mealservice.claims.models import AnomalyCode
from mealservice.elders.models import Card, Elder, ElderStatus
from mealservice.extensions import db
from mealservice.meals.models import Meal, Order, OrderStatus
from mealservice.menus.models import Menu
from mealservice.policy import pricing
from mealservice.policy.models import Holiday, SubsidyPolicy
from mealservice.policy.services import pricing_policies

# Two meals of one elder closer than this at two places cannot both be real.
TWO_PLACES_WINDOW_MIN = 60


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


def find_anomalies(first: date, last: date, canteen_ids: list[int] | None) -> dict[int, list]:
    """Every anomaly among the meals from `first` to `last` (local dates) of the canteens
    named (None: all), by canteen."""
    found: list[Anomaly] = []
    found += _per_meal_checks(first, last, canteen_ids)
    found += _duplicates_in_slot(first, last, canteen_ids)
    found += _two_places(first, last, canteen_ids)
    found += _over_capacity(first, last, canteen_ids)
    by_canteen: dict[int, list[Anomaly]] = defaultdict(list)
    for anomaly in found:
        by_canteen[anomaly.canteen_id].append(anomaly)
    return by_canteen


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


def _per_meal_checks(first: date, last: date, canteen_ids) -> list[Anomaly]:
    newer = aliased(Card)
    superseded = (
        select(Card.id.label("card_id"), func.min(newer.issued_at).label("superseded_at"))
        .join(newer, and_(newer.elder_id == Card.elder_id, newer.generation > Card.generation))
        .group_by(Card.id)
        .subquery()
    )
    subsidized = or_(Meal.subsidy_fen > 0, Meal.delivery_subsidy_fen > 0)
    holiday_pairs = _unsubsidized_holidays(first, last)
    on_holiday = (
        and_(
            subsidized,
            or_(
                *(
                    and_(Elder.hukou_district == district, Meal.date == day)
                    for district, day in holiday_pairs
                )
            ),
        )
        if holiday_pairs
        else false()
    )
    unconfirmed = and_(
        Meal.delivery_subsidy_fen > 0,
        or_(Order.id.is_(None), Order.status != OrderStatus.DELIVERED),
    )
    card_invalid = and_(
        Meal.card_id.is_not(None),
        or_(Card.revoked_at <= Meal.served_at, superseded.c.superseded_at <= Meal.served_at),
    )
    inactive = and_(Elder.status != ElderStatus.ACTIVE, Meal.date >= Elder.status_since)
    conflict = Meal.conflict.is_not(None)
    rows = db.session.execute(
        select(
            Meal.id,
            Meal.canteen_id,
            Meal.elder_id,
            Meal.date,
            Meal.card_id,
            Meal.conflict,
            Meal.order_id,
            Order.status.label("order_status"),
            Card.revoked_at,
            superseded.c.superseded_at,
            Elder.status.label("elder_status"),
            Elder.status_since,
            on_holiday.label("on_holiday"),
            unconfirmed.label("unconfirmed"),
            card_invalid.label("card_invalid"),
            inactive.label("inactive"),
        )
        .join(Elder, Elder.id == Meal.elder_id)
        .outerjoin(Order, Order.id == Meal.order_id)
        .outerjoin(Card, Card.id == Meal.card_id)
        .outerjoin(superseded, superseded.c.card_id == Meal.card_id)
        .where(
            *claimed_meals(first, last, canteen_ids),
            or_(on_holiday, unconfirmed, card_invalid, inactive, conflict),
        )
        .order_by(Meal.served_at)
    ).all()

    holidays = {
        day: name
        for day, name in db.session.execute(
            select(Holiday.day, Holiday.name).where(Holiday.day.between(first, last))
        )
    }
    found: list[Anomaly] = []
    found += _group(
        [r for r in rows if r.on_holiday],
        AnomalyCode.HOLIDAY_SUBSIDY,
        lambda r: {"holiday": holidays.get(r.date)},
    )
    found += _group(
        [r for r in rows if r.unconfirmed],
        AnomalyCode.DELIVERY_UNCONFIRMED,
        lambda r: {"order_id": r.order_id, "order_status": r.order_status},
    )
    found += _group(
        [r for r in rows if r.card_invalid],
        AnomalyCode.CARD_NOT_VALID,
        lambda r: {
            "card_id": r.card_id,
            "revoked_at": _iso(r.revoked_at),
            "superseded_at": _iso(r.superseded_at),
        },
        per_day=False,
    )
    found += _group(
        [r for r in rows if r.inactive],
        AnomalyCode.ELDER_INACTIVE,
        lambda r: {"status": r.elder_status, "status_since": r.status_since.isoformat()},
        per_day=False,
    )
    found += _group(
        [r for r in rows if r.conflict],
        AnomalyCode.OFFLINE_CONFLICT,
        lambda r: {"conflict": r.conflict},
    )
    return found


def _iso(moment) -> str | None:
    if moment is None:
        return None
    # SQLite hands back a subquery's timestamp as text; the ORM's columns come typed.
    return moment if isinstance(moment, str) else moment.isoformat()


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _unsubsidized_holidays(first: date, last: date) -> list[tuple[str, date]]:
    """(district, date) pairs where today's calendar has a holiday and the policy in force
    for that date pays no subsidy on holidays: a handful a month, not one per meal."""
    days = db.session.scalars(select(Holiday.day).where(Holiday.day.between(first, last))).all()
    if not days:
        return []
    pairs = []
    for district in _policy_districts():
        policies = pricing_policies(district)
        for day in days:
            in_force = pricing.policy_in_force(policies, district, day)
            if in_force is not None and in_force.no_subsidy_on_holidays:
                pairs.append((district, day))
    return pairs


def _policy_districts() -> list[str]:
    """The districts that have a policy: a subsidy can only have come from one of them."""
    return db.session.scalars(select(SubsidyPolicy.district_code).distinct()).all()


def _slot_limits(pairs) -> dict[tuple[str, date], int]:
    """The policy's meals-per-slot limit for each (district, date) asked about."""
    limits = {}
    policies_by_district = {}
    for district, day in pairs:
        if district not in policies_by_district:
            policies_by_district[district] = pricing_policies(district)
        in_force = pricing.policy_in_force(policies_by_district[district], district, day)
        limits[(district, day)] = in_force.max_meals_per_slot if in_force else 1
    return limits


def _duplicates_in_slot(first: date, last: date, canteen_ids) -> list[Anomaly]:
    """More meals in one slot than the policy allows one elder, counted at every canteen:
    a limit is never below one, so only slots with two or more meals are looked at."""
    every = aliased(Meal)
    conditions = claimed_meals(first, last, None, every)
    if canteen_ids is not None:
        conditions.append(
            every.elder_id.in_(
                select(Meal.elder_id).where(*claimed_meals(first, last, canteen_ids))
            )
        )
    crowded = (
        select(every.elder_id, every.date, every.slot, func.count().label("meals"))
        .where(*conditions)
        .group_by(every.elder_id, every.date, every.slot)
        .having(func.count() > 1)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Meal.id,
            Meal.canteen_id,
            Meal.elder_id,
            Meal.date,
            Meal.slot,
            crowded.c.meals,
            Elder.hukou_district,
        )
        .join(
            crowded,
            and_(
                crowded.c.elder_id == Meal.elder_id,
                crowded.c.date == Meal.date,
                crowded.c.slot == Meal.slot,
            ),
        )
        .join(Elder, Elder.id == Meal.elder_id)
        .where(*claimed_meals(first, last, canteen_ids))
        .order_by(Meal.served_at)
    ).all()
    limits = _slot_limits({(row.hukou_district, row.date) for row in rows})
    groups: dict[tuple, Anomaly] = {}
    for row in rows:
        limit = limits[(row.hukou_district, row.date)]
        if row.meals <= limit:
            continue
        key = (row.canteen_id, row.elder_id, row.date, row.slot)
        if key not in groups:
            groups[key] = Anomaly(
                AnomalyCode.DUPLICATE_IN_SLOT,
                row.canteen_id,
                row.elder_id,
                detail={
                    "date": row.date.isoformat(),
                    "slot": row.slot,
                    "meals": row.meals,
                    "limit": limit,
                },
            )
        groups[key].meal_ids.append(row.id)
    return list(groups.values())


def _minutes_apart(one, other):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.abs(func.extract("epoch", one - other)) / 60
    return func.abs(func.julianday(one) - func.julianday(other)) * 1440


def _two_places(first: date, last: date, canteen_ids) -> list[Anomaly]:
    other = aliased(Meal)
    rows = db.session.execute(
        select(
            Meal.id,
            Meal.canteen_id,
            Meal.elder_id,
            Meal.date,
            other.id.label("other_id"),
            other.canteen_id.label("other_canteen_id"),
        )
        .join(
            other,
            and_(
                other.elder_id == Meal.elder_id,
                other.date == Meal.date,
                other.canteen_id != Meal.canteen_id,
                other.voided_at.is_(None),
            ),
        )
        .where(
            *claimed_meals(first, last, canteen_ids),
            # A delivered meal is eaten at home whatever the canteen that cooked it.
            Meal.channel == "dine_in",
            other.channel == "dine_in",
            _minutes_apart(Meal.served_at, other.served_at) < TWO_PLACES_WINDOW_MIN,
        )
        .order_by(Meal.served_at)
    ).all()
    groups: dict[tuple, Anomaly] = {}
    for row in rows:
        key = (row.canteen_id, row.elder_id, row.date)
        if key not in groups:
            groups[key] = Anomaly(
                AnomalyCode.TWO_PLACES,
                row.canteen_id,
                row.elder_id,
                detail={
                    "date": row.date.isoformat(),
                    "other_meal_ids": [],
                    "other_canteen_ids": [],
                },
            )
        anomaly = groups[key]
        if row.id not in anomaly.meal_ids:
            anomaly.meal_ids.append(row.id)
        if row.other_id not in anomaly.detail["other_meal_ids"]:
            anomaly.detail["other_meal_ids"].append(row.other_id)
        if row.other_canteen_id not in anomaly.detail["other_canteen_ids"]:
            anomaly.detail["other_canteen_ids"].append(row.other_canteen_id)
    return list(groups.values())


def _over_capacity(first: date, last: date, canteen_ids) -> list[Anomaly]:
    """Dine-in meals of a menu beyond its seats as they stand today; the meals served
    after the last seat was taken are the ones listed."""
    full = (
        select(Meal.menu_id, func.count().label("served"))
        .join(Menu, Menu.id == Meal.menu_id)
        .where(*claimed_meals(first, last, canteen_ids), Meal.channel == "dine_in")
        .group_by(Meal.menu_id, Menu.seats)
        .having(func.count() > Menu.seats)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Meal.id,
            Meal.canteen_id,
            Meal.menu_id,
            Meal.date,
            Meal.slot,
            Menu.seats,
            full.c.served,
        )
        .join(full, full.c.menu_id == Meal.menu_id)
        .join(Menu, Menu.id == Meal.menu_id)
        .where(*claimed_meals(first, last, canteen_ids), Meal.channel == "dine_in")
        .order_by(Meal.menu_id, Meal.served_at, Meal.id)
    ).all()
    by_menu: dict[int, list] = defaultdict(list)
    for row in rows:
        by_menu[row.menu_id].append(row)
    found = []
    for menu_rows in by_menu.values():
        head = menu_rows[0]
        found.append(
            Anomaly(
                AnomalyCode.OVER_CAPACITY,
                head.canteen_id,
                None,
                meal_ids=[row.id for row in menu_rows[head.seats :]],
                detail={
                    "date": head.date.isoformat(),
                    "slot": head.slot,
                    "menu_id": head.menu_id,
                    "seats": head.seats,
                    "served": head.served,
                },
            )
        )
    return found
