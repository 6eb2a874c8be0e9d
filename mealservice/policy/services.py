"""Subsidy policy versions and the holiday calendar, turned into the plain values the
pricing function takes."""

from datetime import date

from sqlalchemy import Date, bindparam, select

from mealservice.core.db import db
from mealservice.core.errors import NotFound, ValidationFailed
from mealservice.core.stamps import StampedCache, fresh_stamp_of, stamp_of
from mealservice.places.models import District
from mealservice.policy import pricing
from mealservice.policy.models import Holiday, PolicyTier, SubsidyPolicy
from mealservice.policy.signals import holiday_changed, policy_version_starting

VERSION_IN_FORCE = (
    select(SubsidyPolicy.id)
    .where(
        SubsidyPolicy.district_code == bindparam("district_code"),
        SubsidyPolicy.effective_from <= bindparam("day", type_=Date),
    )
    .order_by(SubsidyPolicy.effective_from.desc(), SubsidyPolicy.id.desc())
    .limit(1)
)


def create_policy(actor_name: str, district: District, data: dict) -> SubsidyPolicy:
    taken = db.session.scalar(
        select(SubsidyPolicy.id).where(
            SubsidyPolicy.district_code == district.code,
            SubsidyPolicy.effective_from == data["effective_from"],
        )
    )
    if taken is not None:
        raise ValidationFailed(
            {"effective_from": ["A version of this district's policy already starts that day."]}
        )
    # A veto: meals listen, and refuse a version that would reprice a served meal.
    policy_version_starting.send(district, effective_from=data["effective_from"])
    policy = SubsidyPolicy(
        district_code=district.code,
        effective_from=data["effective_from"],
        no_subsidy_on_holidays=data["no_subsidy_on_holidays"],
        max_meals_per_slot=data["max_meals_per_slot"],
        max_subsidized_per_day=data.get("max_subsidized_per_day"),
        refuse_beyond_limit=data["refuse_beyond_limit"],
        delivery_subsidy_fen=data["delivery_subsidy_fen"],
        created_by=actor_name,
        tiers=[
            PolicyTier(
                position=position,
                name=tier["name"],
                min_age=tier.get("min_age"),
                categories=sorted(tier["categories"]) if tier.get("categories") else None,
                channel=tier["channel"],
                amount_fen=tier["amount_fen"],
            )
            for position, tier in enumerate(data["tiers"])
        ],
    )
    db.session.add(policy)
    db.session.flush()
    return policy


def policies_query(district: District):
    return (
        select(SubsidyPolicy)
        .where(SubsidyPolicy.district_code == district.code)
        .order_by(SubsidyPolicy.effective_from.desc())
    )


def current_version(district_code: str, day: date) -> int | None:
    """The id of the version in force on a local date, as `pricing.policy_in_force` picks it."""
    # Every scan asks (see meals.services.scan): built once, plain Core on the connection.
    return db.session.connection().scalar(
        VERSION_IN_FORCE, {"district_code": district_code, "day": day}
    )


# Every scan, order and quote asks for the policies and whether a day is a holiday; they
# change a few times a year (core.stamps).
_POLICIES = StampedCache("policy")
_HOLIDAYS = StampedCache("holidays")


def policy_stamp() -> int | None:
    """The policy stamp this transaction reads `pricing_policies` under (core.stamps)."""
    return stamp_of(_POLICIES.name)


def still_in_force(district_code: str, day: date, version: int | None, stamp: int | None) -> bool:
    """Whether `version`, found in force on `day` under the policy stamp `stamp`, still is.
    The stamp read afresh answers without a query when no policy was written since (a
    scan's write phase reads the stamps anyway, for the closed months); else the versions
    are asked."""
    if stamp is not None and fresh_stamp_of(_POLICIES.name) == stamp:
        return True
    return current_version(district_code, day) == version


def pricing_policies(district_code: str) -> tuple[pricing.Policy, ...]:
    """Every version of a district's policy as the pricing function takes them."""
    return _POLICIES.get(district_code, lambda: _read_pricing_policies(district_code))


def _read_pricing_policies(district_code: str) -> tuple[pricing.Policy, ...]:
    """Read as plain rows, versions joined to their tiers: the pricing function wants
    values, not ORM objects, and the cache keeps them beyond the session."""
    versions = SubsidyPolicy.__table__.c
    tiers = PolicyTier.__table__.c
    rows = db.session.connection().execute(
        select(
            versions, tiers.name, tiers.amount_fen, tiers.channel, tiers.min_age, tiers.categories
        )
        .select_from(SubsidyPolicy.__table__.outerjoin(PolicyTier.__table__))
        .where(versions.district_code == district_code)
        .order_by(versions.id, tiers.position)
    )
    found: dict[int, tuple] = {}
    for row in rows:
        version, tier_list = found.setdefault(row.id, (row, []))
        if row.name is not None:
            tier_list.append(
                pricing.Tier(
                    name=row.name,
                    amount_fen=row.amount_fen,
                    channel=row.channel,
                    min_age=row.min_age,
                    categories=frozenset(row.categories) if row.categories else None,
                )
            )
    return tuple(_policy_of(version, tier_list) for version, tier_list in found.values())


def _policy_of(row, tiers: list[pricing.Tier]) -> pricing.Policy:
    return pricing.Policy(
        version=row.id,
        district_code=row.district_code,
        effective_from=row.effective_from,
        no_subsidy_on_holidays=row.no_subsidy_on_holidays,
        max_meals_per_slot=row.max_meals_per_slot,
        max_subsidized_per_day=row.max_subsidized_per_day,
        refuse_beyond_limit=row.refuse_beyond_limit,
        delivery_subsidy_fen=row.delivery_subsidy_fen,
        tiers=tuple(tiers),
    )


def set_holiday(day: date, name: str) -> Holiday:
    holiday = db.session.get(Holiday, day)
    if holiday is None:
        holiday = Holiday(day=day, name=name)
        db.session.add(holiday)
    else:
        holiday.name = name
    db.session.flush()
    holiday_changed.send(holiday, day=day)
    return holiday


def remove_holiday(day: date) -> Holiday:
    holiday = db.session.get(Holiday, day)
    if holiday is None:
        raise NotFound("holiday")
    db.session.delete(holiday)
    db.session.flush()
    holiday_changed.send(holiday, day=day)
    return holiday


def holidays_query(year: int | None = None):
    query = select(Holiday).order_by(Holiday.day)
    if year is not None:
        query = query.where(Holiday.day.between(date(year, 1, 1), date(year, 12, 31)))
    return query


HOLIDAY_ON = select(Holiday.day).where(Holiday.day == bindparam("day"))


def is_holiday(day: date) -> bool:
    return _HOLIDAYS.get(
        day, lambda: db.session.connection().scalar(HOLIDAY_ON, {"day": day}) is not None
    )
