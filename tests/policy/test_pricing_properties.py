"""Properties of `price_meal` over generated policies, elders and meals: the money always
adds up in whole fen, a subsidy is never negative nor above the price, and being older,
in more of the hardship categories or under a more generous policy never costs an elder
more (DOMAIN.md: tiers by age band and category; a meal gets the largest matching tier)."""

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mealservice.elders.models import Category
from mealservice.policy.pricing import (
    REASONS,
    SLOTS,
    TIER_CHANNELS,
    ElderFacts,
    MealFacts,
    Policy,
    Tier,
    policy_in_force,
    price_meal,
)

HOME = "440304"  # Shenzhen Futian, whose tiers are 15 yuan for hardship and 5 yuan at 70+
ELSEWHERE = "340103"
bounded = settings(derandomize=True, max_examples=200, deadline=None, database=None)

# Skewed towards the ordinary case (a first meal on a working day) so most examples
# reach the tiers rather than an earlier rule.
rarely_true = st.sampled_from([False, False, False, True])
mostly_none = st.sampled_from([0, 0, 0, 1, 2])
categories = st.frozensets(st.sampled_from([c.value for c in Category]))
fen = st.integers(min_value=0, max_value=20_000)
tiers = st.builds(
    Tier,
    name=st.text(min_size=1, max_size=8),
    amount_fen=st.integers(min_value=0, max_value=3_000),
    channel=st.sampled_from(TIER_CHANNELS),
    min_age=st.none() | st.sampled_from([60, 65, 70, 75, 80, 90, 100]),
    categories=st.none() | categories.filter(bool),
)
policies = st.builds(
    Policy,
    version=st.integers(min_value=1, max_value=10_000),
    district_code=st.sampled_from([HOME] * 4 + [ELSEWHERE]),
    effective_from=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
    tiers=st.lists(tiers, min_size=1, max_size=5).map(tuple),
    no_subsidy_on_holidays=st.booleans(),
    max_meals_per_slot=st.integers(min_value=1, max_value=3),
    max_subsidized_per_day=st.none() | st.integers(min_value=1, max_value=3),
    refuse_beyond_limit=st.booleans(),
    delivery_subsidy_fen=st.integers(min_value=0, max_value=1_000),
)
elders = st.builds(
    ElderFacts,
    hukou_district=st.sampled_from([HOME] * 4 + [ELSEWHERE]),
    birth_date=st.dates(min_value=date(1920, 1, 1), max_value=date(1975, 12, 31)),
    categories=categories,
)
meals = st.builds(
    MealFacts,
    canteen_district=st.sampled_from([HOME] * 4 + [ELSEWHERE]),
    local_date=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    slot=st.sampled_from(SLOTS),
    channel=st.sampled_from(["dine_in", "delivery"]),
    price_fen=fen,
    delivery_fee_fen=st.integers(min_value=0, max_value=1_500),
    is_holiday=rarely_true,
    meals_in_slot=mostly_none,
    subsidized_today=mostly_none,
)
policy_lists = st.lists(policies, min_size=1, max_size=3)


def is_fen(value) -> bool:
    return type(value) is int


@bounded
@given(policy_lists, elders, meals)
def test_the_money_always_adds_up_in_whole_fen(policies, elder, meal):
    price = price_meal(policies, elder, meal)
    amounts = (
        price.price_fen,
        price.delivery_fee_fen,
        price.subsidy_fen,
        price.delivery_subsidy_fen,
        price.elder_pays_fen,
    )
    assert all(is_fen(amount) for amount in amounts)
    assert price.price_fen == meal.price_fen
    assert 0 <= price.subsidy_fen <= price.price_fen
    assert 0 <= price.delivery_subsidy_fen <= price.delivery_fee_fen
    assert price.delivery_fee_fen == (meal.delivery_fee_fen if meal.channel == "delivery" else 0)
    assert price.elder_pays_fen == (
        price.price_fen + price.delivery_fee_fen - price.subsidy_fen - price.delivery_subsidy_fen
    )
    assert price.elder_pays_fen >= 0


@bounded
@given(policy_lists, elders, meals)
def test_only_a_tier_pays_and_never_more_than_it_says(policies, elder, meal):
    price = price_meal(policies, elder, meal)
    assert price.reason in REASONS
    if price.reason != "tier":
        assert (price.tier, price.subsidy_fen, price.delivery_subsidy_fen) == (None, 0, 0)
        return
    policy = policy_in_force(policies, elder.hukou_district, meal.local_date)
    named = [tier for tier in policy.tiers if tier.name == price.tier]
    assert named, "the snapshot names a tier of the policy in force"
    assert price.subsidy_fen <= max(tier.amount_fen for tier in named)
    assert price.policy_version == policy.version
    assert price.delivery_subsidy_fen <= policy.delivery_subsidy_fen


@bounded
@given(policy_lists, elders, meals, st.integers(min_value=1, max_value=40 * 365))
def test_an_older_elder_never_gets_less(policies, elder, meal, days_older):
    older = replace(elder, birth_date=elder.birth_date - timedelta(days=days_older))
    younger_price = price_meal(policies, elder, meal)
    older_price = price_meal(policies, older, meal)
    assert older_price.subsidy_fen >= younger_price.subsidy_fen
    assert older_price.elder_pays_fen <= younger_price.elder_pays_fen


@bounded
@given(policy_lists, elders, meals, categories)
def test_more_categories_never_get_less(policies, elder, meal, more):
    wider = replace(elder, categories=elder.categories | more)
    assert price_meal(policies, wider, meal).subsidy_fen >= (
        price_meal(policies, elder, meal).subsidy_fen
    )


@bounded
@given(policies, tiers, elders, meals)
def test_another_tier_never_lowers_a_subsidy(policy, extra, elder, meal):
    richer = replace(policy, tiers=(*policy.tiers, extra))
    assert price_meal([richer], elder, meal).subsidy_fen >= (
        price_meal([policy], elder, meal).subsidy_fen
    )


@bounded
@given(policies, elders, meals, st.integers(min_value=1, max_value=2_000))
def test_a_larger_amount_never_lowers_a_subsidy(policy, elder, meal, raise_by):
    raised = replace(
        policy, tiers=tuple(replace(t, amount_fen=t.amount_fen + raise_by) for t in policy.tiers)
    )
    assert price_meal([raised], elder, meal).subsidy_fen >= (
        price_meal([policy], elder, meal).subsidy_fen
    )


@bounded
@given(policy_lists, elders, meals, st.integers(min_value=1, max_value=5_000))
def test_a_dearer_meal_never_costs_the_elder_less(policies, elder, meal, dearer_by):
    dearer = replace(meal, price_fen=meal.price_fen + dearer_by)
    cheap, dear = price_meal(policies, elder, meal), price_meal(policies, elder, dearer)
    assert dear.subsidy_fen >= cheap.subsidy_fen
    assert dear.elder_pays_fen >= cheap.elder_pays_fen


@bounded
@given(policy_lists, elders, meals)
def test_no_subsidy_at_another_districts_canteen_nor_on_a_holiday_without_one(
    policies, elder, meal
):
    away = price_meal(policies, replace(elder, hukou_district=ELSEWHERE), meal)
    if meal.canteen_district == HOME:
        assert (away.reason, away.subsidy_fen) == ("other_district", 0)
    holiday = replace(meal, is_holiday=True)
    policy = policy_in_force(policies, elder.hukou_district, meal.local_date)
    if policy is not None and policy.no_subsidy_on_holidays:
        assert price_meal(policies, elder, holiday).subsidy_fen == 0
