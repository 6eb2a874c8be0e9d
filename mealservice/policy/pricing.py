"""The price of one meal under a district's subsidy policy: the only place it is decided.

Scans, orders and quotes all call `price_meal` and store the `Price` it returns as the
meal's snapshot, so a served meal never changes price when the policy changes later. The
function is pure (plain values in, a value out) so that every rule can be tested by a table
and the callers decide nothing about money themselves.

Every figure comes from the `Policy` and its `Tier`s: the policy is data an official sets
per district, never code.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from mealservice.core.idnumber import age_on

SLOTS = ("breakfast", "lunch", "dinner")
CHANNELS = ("dine_in", "delivery")
TIER_CHANNELS = (*CHANNELS, "any")
REASONS = (
    "other_district",
    "no_policy",
    "slot_limit",
    "canteen_blacklisted",
    "holiday",
    "daily_limit",
    "no_tier",
    "tier",
)


@dataclass(frozen=True)
class Tier:
    name: str
    amount_fen: int
    channel: str  # "dine_in" | "delivery" | "any"
    min_age: int | None = None
    categories: frozenset[str] | None = None  # matches when the elder has ANY of them


@dataclass(frozen=True)
class Policy:
    version: int | None  # the stored policy row id, copied into the snapshot
    district_code: str
    effective_from: date
    tiers: tuple[Tier, ...]
    no_subsidy_on_holidays: bool = True
    max_meals_per_slot: int = 1
    max_subsidized_per_day: int | None = None
    refuse_beyond_limit: bool = True
    delivery_subsidy_fen: int = 0


@dataclass(frozen=True)
class Limits:
    """What a policy allows an elder per slot and per day, as the tallies hold it."""

    per_slot: int = 1
    refuse_beyond: bool = True
    subsidized_per_day: int | None = None


def limits_of(policy: Policy | None) -> Limits:
    """The limits of the policy in force; with none in force, one meal a slot, a second
    refused, and no daily cap on subsidized meals (there is no subsidy to cap)."""
    if policy is None:
        return Limits()
    return Limits(
        policy.max_meals_per_slot, policy.refuse_beyond_limit, policy.max_subsidized_per_day
    )


@dataclass(frozen=True)
class ElderFacts:
    hukou_district: str  # the district whose policy pays for this elder
    birth_date: date
    categories: frozenset[str]


@dataclass(frozen=True)
class MealFacts:
    canteen_district: str
    local_date: date  # the meal's date in the canteen district's zone
    slot: str  # breakfast | lunch | dinner
    channel: str  # dine_in | delivery
    price_fen: int
    delivery_fee_fen: int = 0
    is_holiday: bool = False  # the canteen district's statutory holiday calendar
    meals_in_slot: int = 0  # the elder's meals/orders already counted in this slot (all canteens)
    subsidized_today: int = 0  # the elder's subsidized meals already counted this local date
    canteen_blacklisted: bool = False  # the place is on the blacklist (失信黑名单) that day


@dataclass(frozen=True)
class Price:
    price_fen: int
    delivery_fee_fen: int
    subsidy_fen: int
    delivery_subsidy_fen: int
    elder_pays_fen: int  # price + delivery_fee - subsidy - delivery_subsidy
    tier: str | None
    reason: str
    policy_version: int | None
    refusal: str | None = None  # "slot_limit" when the slot limit refuses the meal; None otherwise


def policy_in_force(
    policies: Iterable[Policy], district_code: str, local_date: date
) -> Policy | None:
    """The district's version with the latest `effective_from` on or before `local_date`.

    Two versions starting on the same day happen when an official corrects a version before
    it takes effect; the later-stored one (higher row id, else later in `policies`) wins.
    """
    in_force: Policy | None = None
    for policy in policies:
        if policy.district_code != district_code or policy.effective_from > local_date:
            continue
        if in_force is None or _recency(policy) >= _recency(in_force):
            in_force = policy
    return in_force


def price_meal(policies: Iterable[Policy], elder: ElderFacts, meal: MealFacts) -> Price:
    """Price one meal for one elder; checks run in the order of API.md and the first that
    applies decides: other_district, no_policy, slot_limit, canteen_blacklisted, holiday,
    daily_limit, then tiers.

    Raises ValueError (TypeError for non-integer money) on values no caller may pass: they
    are bugs upstream, and a wrong price silently stored would be worse than a failed scan.
    """
    _check_meal(meal)
    # A dine-in meal has no delivery, whatever fee a caller passed along.
    fee = meal.delivery_fee_fen if meal.channel == "delivery" else 0

    if meal.canteen_district != elder.hukou_district:
        return _full_price(meal, fee, "other_district", None)

    policy = policy_in_force(policies, elder.hukou_district, meal.local_date)
    if policy is None:
        return _full_price(meal, fee, "no_policy", None)
    _check_policy(policy)

    if meal.meals_in_slot >= policy.max_meals_per_slot:
        # Prices are still filled in so a refusing counter can show what the meal costs.
        refusal = "slot_limit" if policy.refuse_beyond_limit else None
        return _full_price(meal, fee, "slot_limit", policy.version, refusal)
    if meal.canteen_blacklisted:
        # A blacklisted place serves at full price: public money does not go there.
        return _full_price(meal, fee, "canteen_blacklisted", policy.version)
    if policy.no_subsidy_on_holidays and meal.is_holiday:
        return _full_price(meal, fee, "holiday", policy.version)
    if (
        policy.max_subsidized_per_day is not None
        and meal.subsidized_today >= policy.max_subsidized_per_day
    ):
        return _full_price(meal, fee, "daily_limit", policy.version)

    tier = _best_tier(policy.tiers, elder, meal)
    if tier is None:
        # Not eligible is not refused: the elder eats at full price.
        return _full_price(meal, fee, "no_tier", policy.version)

    subsidy = min(tier.amount_fen, meal.price_fen)
    delivery_subsidy = min(policy.delivery_subsidy_fen, fee) if meal.channel == "delivery" else 0
    return _price(meal.price_fen, fee, subsidy, delivery_subsidy, tier.name, "tier", policy.version)


def _recency(policy: Policy) -> tuple[date, int]:
    return (policy.effective_from, -1 if policy.version is None else policy.version)


def _best_tier(tiers: Iterable[Tier], elder: ElderFacts, meal: MealFacts) -> Tier | None:
    """The matching tier with the largest amount; on a tie the first in the policy's order.

    Amounts are compared before capping at the price, so the tier named in the snapshot is
    the one the policy ranks highest even when two tiers both cover a cheap meal in full.
    """
    age = age_on(elder.birth_date, meal.local_date)
    best: Tier | None = None
    for tier in tiers:
        if tier.channel not in TIER_CHANNELS:
            raise ValueError(f"Tier {tier.name!r} has an unknown channel {tier.channel!r}.")
        if tier.amount_fen < 0:
            raise ValueError(f"Tier {tier.name!r} has a negative amount.")
        if tier.channel != "any" and tier.channel != meal.channel:
            continue
        if tier.min_age is not None and age < tier.min_age:
            continue
        # An empty category set matches nobody: "any of none" is false, and paying everyone
        # by accident would be the costlier mistake.
        if tier.categories is not None and not (tier.categories & elder.categories):
            continue
        if best is None or tier.amount_fen > best.amount_fen:
            best = tier
    return best


def full_price(
    price_fen: int,
    reason: str,
    version: int | None,
    delivery_fee_fen: int = 0,
    refusal: str | None = None,
) -> Price:
    """A meal priced without any subsidy, for `reason`; also what callers record for a
    meal the counter could not judge (an offline scan's conflict)."""
    return _price(price_fen, delivery_fee_fen, 0, 0, None, reason, version, refusal)


def _full_price(
    meal: MealFacts, fee: int, reason: str, version: int | None, refusal: str | None = None
) -> Price:
    return full_price(meal.price_fen, reason, version, fee, refusal)


def _price(
    price: int,
    fee: int,
    subsidy: int,
    delivery_subsidy: int,
    tier: str | None,
    reason: str,
    version: int | None,
    refusal: str | None = None,
) -> Price:
    return Price(
        price_fen=price,
        delivery_fee_fen=fee,
        subsidy_fen=subsidy,
        delivery_subsidy_fen=delivery_subsidy,
        elder_pays_fen=max(0, price + fee - subsidy - delivery_subsidy),
        tier=tier,
        reason=reason,
        policy_version=version,
        refusal=refusal,
    )


def _check_meal(meal: MealFacts) -> None:
    for field in ("price_fen", "delivery_fee_fen"):
        value = getattr(meal, field)
        # bool is an int subclass; a float would leak into the stored snapshot.
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{field} must be an integer number of fen, not {value!r}.")
        if value < 0:
            raise ValueError(f"{field} must not be negative, got {value}.")
    if meal.channel not in CHANNELS:
        raise ValueError(f"Unknown channel {meal.channel!r}; expected one of {CHANNELS}.")
    if meal.slot not in SLOTS:
        raise ValueError(f"Unknown slot {meal.slot!r}; expected one of {SLOTS}.")


def _check_policy(policy: Policy) -> None:
    if policy.delivery_subsidy_fen < 0:
        raise ValueError(f"Policy {policy.version} has a negative delivery subsidy.")
