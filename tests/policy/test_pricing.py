"""Every pricing rule of API.md, one table each, with figures from real districts (DOMAIN.md).

Expected amounts are spelled out as literals rather than recomputed, so a wrong formula in
the code cannot hide behind the same wrong formula in the test.
"""

from dataclasses import replace
from datetime import date

import pytest

from mealservice.policy.pricing import (
    ElderFacts,
    Limits,
    MealFacts,
    Policy,
    Price,
    Tier,
    limits_of,
    policy_in_force,
    price_meal,
)

FUTIAN = "440304"  # Shenzhen Futian
LUYANG = "340103"  # Hefei Luyang
LIXIA = "370102"  # Jinan Lixia

HARDSHIP = frozenset({"extreme_poverty", "minimum_allowance", "living_alone"})

# Futian: 15 yuan for extreme-poverty, minimum-allowance and lone elders, 5 yuan for all 70+.
# The 3-yuan delivery subsidy is illustrative; DOMAIN.md names no figure for it.
FUTIAN_POLICY = Policy(
    version=11,
    district_code=FUTIAN,
    effective_from=date(2024, 1, 1),
    tiers=(
        Tier("hardship", 1500, "any", categories=HARDSHIP),
        Tier("age_70", 500, "any", min_age=70),
    ),
    no_subsidy_on_holidays=True,
    delivery_subsidy_fen=300,
)

# Hefei: 5 yuan a meal, 8 for diabetes or hypertension. API.md's categories have no chronic
# illness, so "disabled" stands in for it.
HEFEI_POLICY = Policy(
    version=21,
    district_code=LUYANG,
    effective_from=date(2024, 1, 1),
    tiers=(
        Tier("everyone_60", 500, "any", min_age=60),
        Tier("chronic_illness", 800, "any", min_age=60, categories=frozenset({"disabled"})),
    ),
    no_subsidy_on_holidays=False,
)

# Jinan: 2 yuan off the set meal for every 60+ elder, once a day.
JINAN_POLICY = Policy(
    version=31,
    district_code=LIXIA,
    effective_from=date(2024, 1, 1),
    tiers=(Tier("everyone_60", 200, "any", min_age=60),),
    max_subsidized_per_day=1,
)

POLICIES = (FUTIAN_POLICY, HEFEI_POLICY, JINAN_POLICY)

WEDNESDAY = date(2024, 6, 12)
DRAGON_BOAT = date(2024, 6, 10)  # 端午节, a statutory holiday


def elder(born: date, *categories: str, hukou: str = FUTIAN) -> ElderFacts:
    return ElderFacts(hukou_district=hukou, birth_date=born, categories=frozenset(categories))


def meal(**changes) -> MealFacts:
    """A 20-yuan dine-in lunch at a Futian canteen on an ordinary Wednesday, then `changes`."""
    base = MealFacts(
        canteen_district=FUTIAN,
        local_date=WEDNESDAY,
        slot="lunch",
        channel="dine_in",
        price_fen=2000,
    )
    return replace(base, **changes)


LONE_75 = elder(date(1949, 3, 1), "living_alone")
POOR_65 = elder(date(1959, 5, 5), "extreme_poverty")
PLAIN_72 = elder(date(1952, 1, 20))
PLAIN_65 = elder(date(1959, 5, 5))
EMPTY_NEST_65 = elder(date(1959, 5, 5), "empty_nest")


def priced(policies, who: ElderFacts, what: MealFacts) -> Price:
    """price_meal, plus the arithmetic every Price must satisfy whatever the rule."""
    price = price_meal(policies, who, what)
    assert price.elder_pays_fen == (
        price.price_fen + price.delivery_fee_fen - price.subsidy_fen - price.delivery_subsidy_fen
    )
    assert price.elder_pays_fen >= 0
    assert 0 <= price.subsidy_fen <= price.price_fen
    assert 0 <= price.delivery_subsidy_fen <= price.delivery_fee_fen
    return price


def fields(price: Price, expected: dict) -> dict:
    return {name: getattr(price, name) for name in expected}


# --- which policy -----------------------------------------------------------------------

FUTIAN_JULY = replace(
    FUTIAN_POLICY,
    version=12,
    effective_from=date(2024, 7, 1),
    tiers=(
        Tier("hardship", 1800, "any", categories=HARDSHIP),
        Tier("age_70", 600, "any", min_age=70),
    ),
)


@pytest.mark.parametrize(
    ("policies", "district", "on", "expected"),
    [
        pytest.param(POLICIES, FUTIAN, date(2023, 12, 31), None, id="before_the_first_version"),
        pytest.param(POLICIES, FUTIAN, date(2024, 1, 1), FUTIAN_POLICY, id="on_its_first_day"),
        pytest.param(
            (FUTIAN_JULY, FUTIAN_POLICY),
            FUTIAN,
            date(2024, 6, 30),
            FUTIAN_POLICY,
            id="a_later_version_not_yet_started_is_ignored",
        ),
        pytest.param(
            (FUTIAN_POLICY, FUTIAN_JULY),
            FUTIAN,
            date(2024, 7, 1),
            FUTIAN_JULY,
            id="the_new_version_on_its_first_day",
        ),
        pytest.param(
            (FUTIAN_JULY, FUTIAN_POLICY),
            FUTIAN,
            date(2025, 3, 1),
            FUTIAN_JULY,
            id="the_latest_started_whatever_the_order_given",
        ),
        pytest.param(
            (FUTIAN_POLICY, replace(FUTIAN_POLICY, version=13)),
            FUTIAN,
            WEDNESDAY,
            replace(FUTIAN_POLICY, version=13),
            id="a_same_day_correction_wins_by_row_id",
        ),
        pytest.param(
            (replace(FUTIAN_POLICY, version=13), FUTIAN_POLICY),
            FUTIAN,
            WEDNESDAY,
            replace(FUTIAN_POLICY, version=13),
            id="row_id_beats_order_given_on_the_same_day",
        ),
        pytest.param(POLICIES, LUYANG, WEDNESDAY, HEFEI_POLICY, id="only_the_asked_district"),
        pytest.param(POLICIES, "110105", WEDNESDAY, None, id="a_district_without_policy"),
        pytest.param(iter(POLICIES), LIXIA, WEDNESDAY, JINAN_POLICY, id="a_one_pass_iterable"),
    ],
)
def test_the_policy_in_force_is_the_districts_latest_started_version(
    policies, district, on, expected
):
    assert policy_in_force(policies, district, on) == expected


@pytest.mark.parametrize(
    ("who", "on", "expected"),
    [
        pytest.param(PLAIN_72, date(2024, 6, 30), (500, "age_70", 11), id="70plus_day_before"),
        pytest.param(PLAIN_72, date(2024, 7, 1), (600, "age_70", 12), id="70plus_day_of"),
        pytest.param(LONE_75, date(2024, 6, 30), (1500, "hardship", 11), id="hardship_day_before"),
        pytest.param(LONE_75, date(2024, 7, 1), (1800, "hardship", 12), id="hardship_day_of"),
    ],
)
def test_a_policy_change_takes_effect_at_midnight_of_its_effective_date(who, on, expected):
    price = priced((FUTIAN_POLICY, FUTIAN_JULY), who, meal(local_date=on))
    assert (price.subsidy_fen, price.tier, price.policy_version) == expected


@pytest.mark.parametrize(
    ("who", "what", "expected"),
    [
        pytest.param(
            LONE_75,
            meal(canteen_district=LUYANG),
            {"subsidy_fen": 0, "elder_pays_fen": 2000, "tier": None, "policy_version": None},
            id="futian_elder_in_hefei_pays_full_price",
        ),
        pytest.param(
            elder(date(1950, 1, 1), "disabled", hukou=LUYANG),
            meal(),
            {"subsidy_fen": 0, "elder_pays_fen": 2000, "tier": None, "policy_version": None},
            id="hefei_elder_in_futian_pays_full_price",
        ),
        pytest.param(
            LONE_75,
            meal(canteen_district=LUYANG, channel="delivery", delivery_fee_fen=500),
            {"delivery_subsidy_fen": 0, "elder_pays_fen": 2500, "refusal": None},
            id="no_delivery_subsidy_either",
        ),
        pytest.param(
            LONE_75,
            meal(canteen_district="110105"),
            {"elder_pays_fen": 2000, "policy_version": None},
            id="even_where_the_canteen_district_has_no_policy",
        ),
    ],
)
def test_a_meal_in_another_district_than_the_hukou_is_full_price(who, what, expected):
    price = priced(POLICIES, who, what)
    assert price.reason == "other_district"
    assert fields(price, expected) == expected


@pytest.mark.parametrize(
    ("policies", "who", "what"),
    [
        pytest.param((), LONE_75, meal(), id="no_policies_at_all"),
        pytest.param(
            (HEFEI_POLICY, JINAN_POLICY), LONE_75, meal(), id="only_other_districts_policies"
        ),
        pytest.param(
            (FUTIAN_JULY,),
            LONE_75,
            meal(local_date=date(2024, 6, 30)),
            id="the_only_version_starts_tomorrow",
        ),
    ],
)
def test_without_a_policy_in_force_the_meal_is_full_price(policies, who, what):
    price = priced(policies, who, what)
    assert (price.reason, price.subsidy_fen, price.tier, price.policy_version) == (
        "no_policy",
        0,
        None,
        None,
    )
    assert price.elder_pays_fen == 2000


# --- limits and holidays ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "what", "expected"),
    [
        pytest.param(
            FUTIAN_POLICY,
            meal(meals_in_slot=1),
            {
                "reason": "slot_limit",
                "refusal": "slot_limit",
                "subsidy_fen": 0,
                "elder_pays_fen": 2000,
                "policy_version": 11,
            },
            id="second_lunch_refused_with_prices_shown",
        ),
        pytest.param(
            replace(FUTIAN_POLICY, refuse_beyond_limit=False),
            meal(meals_in_slot=1),
            {"reason": "slot_limit", "refusal": None, "subsidy_fen": 0, "elder_pays_fen": 2000},
            id="second_lunch_served_at_full_price",
        ),
        pytest.param(
            FUTIAN_POLICY,
            meal(meals_in_slot=1, channel="delivery", delivery_fee_fen=500),
            {"refusal": "slot_limit", "delivery_subsidy_fen": 0, "elder_pays_fen": 2500},
            id="refused_delivery_shows_the_full_fee",
        ),
        pytest.param(
            replace(FUTIAN_POLICY, max_meals_per_slot=2),
            meal(meals_in_slot=1),
            {"reason": "tier", "refusal": None, "subsidy_fen": 1500},
            id="second_of_two_allowed_is_subsidized",
        ),
        pytest.param(
            replace(FUTIAN_POLICY, max_meals_per_slot=2),
            meal(meals_in_slot=2),
            {"reason": "slot_limit", "refusal": "slot_limit"},
            id="third_of_two_allowed_is_refused",
        ),
        pytest.param(
            FUTIAN_POLICY,
            meal(meals_in_slot=0),
            {"reason": "tier", "refusal": None, "subsidy_fen": 1500},
            id="first_in_slot_is_subsidized",
        ),
    ],
)
def test_the_slot_limit_refuses_or_charges_full_price_as_the_policy_says(policy, what, expected):
    assert fields(priced((policy,), LONE_75, what), expected) == expected


@pytest.mark.parametrize(
    ("policy", "what", "expected"),
    [
        pytest.param(
            FUTIAN_POLICY,
            meal(local_date=DRAGON_BOAT, is_holiday=True),
            {
                "reason": "holiday",
                "subsidy_fen": 0,
                "tier": None,
                "elder_pays_fen": 2000,
                "refusal": None,
                "policy_version": 11,
            },
            id="futian_pays_nothing_on_dragon_boat_day",
        ),
        pytest.param(
            FUTIAN_POLICY,
            meal(local_date=DRAGON_BOAT, is_holiday=True, channel="delivery", delivery_fee_fen=500),
            {"reason": "holiday", "delivery_subsidy_fen": 0, "elder_pays_fen": 2500},
            id="nor_a_delivery_subsidy",
        ),
        pytest.param(
            replace(FUTIAN_POLICY, no_subsidy_on_holidays=False),
            meal(local_date=DRAGON_BOAT, is_holiday=True),
            {"reason": "tier", "subsidy_fen": 1500, "tier": "hardship"},
            id="a_policy_that_pays_on_holidays",
        ),
        pytest.param(
            FUTIAN_POLICY,
            meal(local_date=date(2024, 6, 8), is_holiday=False),
            {"reason": "tier", "subsidy_fen": 1500},
            id="a_weekend_is_not_a_holiday_unless_the_calendar_says_so",
        ),
    ],
)
def test_holidays_are_unsubsidized_only_where_the_policy_says_so(policy, what, expected):
    assert fields(priced((policy,), LONE_75, what), expected) == expected


def test_hefei_which_pays_on_holidays_subsidizes_a_holiday_meal():
    hefei_elder = elder(date(1950, 1, 1), hukou=LUYANG)
    what = meal(canteen_district=LUYANG, local_date=DRAGON_BOAT, is_holiday=True)
    price = priced(POLICIES, hefei_elder, what)
    assert (price.reason, price.subsidy_fen, price.elder_pays_fen) == ("tier", 500, 1500)


JINAN_ELDER = elder(date(1958, 8, 8), hukou=LIXIA)


@pytest.mark.parametrize(
    ("policy", "what", "expected"),
    [
        pytest.param(
            JINAN_POLICY,
            meal(canteen_district=LIXIA, price_fen=1000, subsidized_today=0),
            {"reason": "tier", "subsidy_fen": 200, "elder_pays_fen": 800},
            id="jinan_first_meal_of_the_day_is_subsidized",
        ),
        pytest.param(
            JINAN_POLICY,
            meal(canteen_district=LIXIA, slot="dinner", price_fen=1000, subsidized_today=1),
            {
                "reason": "daily_limit",
                "subsidy_fen": 0,
                "tier": None,
                "elder_pays_fen": 1000,
                "refusal": None,
                "policy_version": 31,
            },
            id="jinan_second_subsidized_meal_of_the_day_is_full_price",
        ),
        pytest.param(
            replace(JINAN_POLICY, max_subsidized_per_day=2),
            meal(canteen_district=LIXIA, slot="dinner", price_fen=1000, subsidized_today=1),
            {"reason": "tier", "subsidy_fen": 200},
            id="a_limit_of_two_allows_a_second",
        ),
        pytest.param(
            replace(JINAN_POLICY, max_subsidized_per_day=None),
            meal(canteen_district=LIXIA, slot="dinner", price_fen=1000, subsidized_today=5),
            {"reason": "tier", "subsidy_fen": 200},
            id="no_daily_limit_set",
        ),
    ],
)
def test_beyond_the_daily_limit_the_meal_is_full_price(policy, what, expected):
    assert fields(priced((policy,), JINAN_ELDER, what), expected) == expected


# --- tiers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "who", "what", "expected"),
    [
        pytest.param(
            FUTIAN_POLICY,
            LONE_75,
            meal(),
            (1500, "hardship"),
            id="futian_lone_75_gets_15_not_5",
        ),
        pytest.param(
            FUTIAN_POLICY,
            POOR_65,
            meal(),
            (1500, "hardship"),
            id="futian_hardship_has_no_age_floor",
        ),
        pytest.param(
            FUTIAN_POLICY,
            PLAIN_72,
            meal(),
            (500, "age_70"),
            id="futian_plain_72_gets_5",
        ),
        pytest.param(
            HEFEI_POLICY,
            elder(date(1950, 1, 1), "disabled", hukou=LUYANG),
            meal(canteen_district=LUYANG),
            (800, "chronic_illness"),
            id="hefei_the_larger_tier_listed_second_still_wins",
        ),
        pytest.param(
            HEFEI_POLICY,
            elder(date(1950, 1, 1), hukou=LUYANG),
            meal(canteen_district=LUYANG),
            (500, "everyone_60"),
            id="hefei_everyone_else_gets_5",
        ),
        pytest.param(
            replace(
                FUTIAN_POLICY,
                tiers=(
                    Tier("age_70", 500, "any", min_age=70),
                    Tier("living_alone", 500, "any", categories=frozenset({"living_alone"})),
                ),
            ),
            LONE_75,
            meal(),
            (500, "age_70"),
            id="a_tie_goes_to_the_first_listed",
        ),
        pytest.param(
            replace(
                FUTIAN_POLICY,
                tiers=(
                    Tier("age_70", 1200, "any", min_age=70),
                    Tier("hardship", 1500, "any", categories=HARDSHIP),
                ),
            ),
            LONE_75,
            meal(price_fen=1000),
            (1000, "hardship"),
            id="capped_amounts_tie_so_the_larger_amount_names_the_tier",
        ),
    ],
)
def test_the_largest_matching_tier_wins(policy, who, what, expected):
    price = priced((policy,), who, what)
    assert (price.subsidy_fen, price.tier, price.reason) == (*expected, "tier")


@pytest.mark.parametrize(
    ("price_fen", "expected_subsidy", "expected_pays"),
    [
        pytest.param(2000, 1500, 500, id="dearer_than_the_tier"),
        pytest.param(1500, 1500, 0, id="exactly_the_tier"),
        pytest.param(1200, 1200, 0, id="cheaper_than_the_tier_is_free_not_negative"),
        pytest.param(0, 0, 0, id="a_free_meal"),
    ],
)
def test_the_subsidy_never_exceeds_the_price(price_fen, expected_subsidy, expected_pays):
    price = priced(POLICIES, LONE_75, meal(price_fen=price_fen))
    assert (price.subsidy_fen, price.elder_pays_fen) == (expected_subsidy, expected_pays)
    assert price.tier == "hardship"


CHANNEL_POLICY = replace(
    FUTIAN_POLICY,
    tiers=(
        Tier("dine_in_70", 500, "dine_in", min_age=70),
        Tier("delivery_hardship", 1500, "delivery", categories=HARDSHIP),
        Tier("any_80", 300, "any", min_age=80),
    ),
)


@pytest.mark.parametrize(
    ("who", "channel", "expected"),
    [
        pytest.param(LONE_75, "dine_in", (500, "dine_in_70"), id="dine_in_tier_at_the_counter"),
        pytest.param(
            LONE_75, "delivery", (1500, "delivery_hardship"), id="delivery_tier_at_the_door"
        ),
        pytest.param(POOR_65, "dine_in", (0, None), id="a_delivery_tier_does_not_pay_dine_in"),
        pytest.param(PLAIN_72, "delivery", (0, None), id="a_dine_in_tier_does_not_pay_delivery"),
        pytest.param(
            elder(date(1940, 1, 1)), "delivery", (300, "any_80"), id="an_any_tier_pays_delivery"
        ),
        pytest.param(
            elder(date(1940, 1, 1)),
            "dine_in",
            (500, "dine_in_70"),
            id="an_any_tier_competes_with_the_channel_tier",
        ),
    ],
)
def test_a_tier_pays_only_on_its_channel(who, channel, expected):
    price = priced((CHANNEL_POLICY,), who, meal(channel=channel))
    assert (price.subsidy_fen, price.tier) == expected


@pytest.mark.parametrize(
    ("born", "on", "expected_tier"),
    [
        pytest.param(date(1954, 6, 12), date(2024, 6, 11), None, id="69_the_day_before"),
        pytest.param(date(1954, 6, 12), date(2024, 6, 12), "age_70", id="70_on_the_birthday"),
        pytest.param(date(1956, 2, 29), date(2026, 2, 28), None, id="leap_day_born_still_69"),
        pytest.param(date(1956, 2, 29), date(2026, 3, 1), "age_70", id="leap_day_born_70_on_1_mar"),
    ],
)
def test_an_age_tier_starts_on_the_birthday(born, on, expected_tier):
    price = priced(POLICIES, elder(born), meal(local_date=on))
    assert price.tier == expected_tier
    assert price.reason == ("tier" if expected_tier else "no_tier")


@pytest.mark.parametrize(
    ("categories", "expected_tier"),
    [
        pytest.param(("minimum_allowance",), "hardship", id="one_of_them"),
        pytest.param(("extreme_poverty", "living_alone"), "hardship", id="several_of_them"),
        pytest.param(("empty_nest", "living_alone"), "hardship", id="one_among_others"),
        pytest.param(("empty_nest", "low_income"), None, id="none_of_them"),
        pytest.param((), None, id="no_categories"),
    ],
)
def test_a_category_tier_matches_an_elder_with_any_of_its_categories(categories, expected_tier):
    price = priced(POLICIES, elder(date(1964, 1, 1), *categories), meal())
    assert price.tier == expected_tier


def test_a_tier_with_an_empty_category_set_matches_nobody():
    policy = replace(FUTIAN_POLICY, tiers=(Tier("nobody", 900, "any", categories=frozenset()),))
    assert priced((policy,), LONE_75, meal()).reason == "no_tier"


@pytest.mark.parametrize(
    ("who", "what"),
    [
        pytest.param(PLAIN_65, meal(), id="too_young_for_futians_age_tier"),
        pytest.param(EMPTY_NEST_65, meal(), id="a_category_futian_does_not_pay_for"),
        pytest.param(
            elder(date(1970, 1, 1), hukou=LIXIA),
            meal(canteen_district=LIXIA),
            id="registered_at_54_in_jinan",
        ),
    ],
)
def test_an_elder_matching_no_tier_pays_full_price_and_is_not_refused(who, what):
    price = priced(POLICIES, who, what)
    assert (price.reason, price.subsidy_fen, price.tier, price.refusal) == (
        "no_tier",
        0,
        None,
        None,
    )
    assert price.elder_pays_fen == 2000
    assert price.policy_version is not None


# --- delivery and arithmetic --------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "what", "expected"),
    [
        pytest.param(
            LONE_75,
            meal(channel="delivery", delivery_fee_fen=500),
            {"delivery_fee_fen": 500, "delivery_subsidy_fen": 300, "elder_pays_fen": 700},
            id="subsidy_below_the_fee",
        ),
        pytest.param(
            LONE_75,
            meal(channel="delivery", delivery_fee_fen=200),
            {"delivery_fee_fen": 200, "delivery_subsidy_fen": 200, "elder_pays_fen": 500},
            id="capped_by_a_smaller_fee",
        ),
        pytest.param(
            LONE_75,
            meal(channel="delivery", delivery_fee_fen=0),
            {"delivery_fee_fen": 0, "delivery_subsidy_fen": 0, "elder_pays_fen": 500},
            id="no_fee_no_delivery_subsidy",
        ),
        pytest.param(
            LONE_75,
            meal(channel="dine_in", delivery_fee_fen=500),
            {"delivery_fee_fen": 0, "delivery_subsidy_fen": 0, "elder_pays_fen": 500},
            id="dine_in_ignores_a_stray_fee",
        ),
        pytest.param(
            PLAIN_65,
            meal(channel="delivery", delivery_fee_fen=500),
            {"subsidy_fen": 0, "delivery_subsidy_fen": 0, "elder_pays_fen": 2500},
            id="absent_when_no_tier_matched",
        ),
        pytest.param(
            LONE_75,
            meal(channel="delivery", delivery_fee_fen=500, subsidized_today=1),
            {"reason": "tier", "delivery_subsidy_fen": 300},
            id="no_daily_limit_in_futian",
        ),
    ],
)
def test_the_delivery_subsidy_is_capped_by_the_fee_and_rides_on_a_meal_subsidy(who, what, expected):
    assert fields(priced(POLICIES, who, what), expected) == expected


def test_no_delivery_subsidy_beyond_the_daily_limit():
    policy = replace(FUTIAN_POLICY, max_subsidized_per_day=1)
    what = meal(channel="delivery", delivery_fee_fen=500, subsidized_today=1)
    price = priced((policy,), LONE_75, what)
    assert (price.reason, price.delivery_subsidy_fen, price.elder_pays_fen) == (
        "daily_limit",
        0,
        2500,
    )


@pytest.mark.parametrize(
    ("who", "what", "expected"),
    [
        pytest.param(
            LONE_75,
            meal(channel="delivery", price_fen=2200, delivery_fee_fen=600),
            Price(2200, 600, 1500, 300, 1000, "hardship", "tier", 11),
            id="2200+600-1500-300",
        ),
        pytest.param(
            PLAIN_72,
            meal(channel="delivery", price_fen=1800, delivery_fee_fen=400),
            Price(1800, 400, 500, 300, 1400, "age_70", "tier", 11),
            id="1800+400-500-300",
        ),
        pytest.param(
            LONE_75,
            meal(channel="delivery", price_fen=1000, delivery_fee_fen=250),
            Price(1000, 250, 1000, 250, 0, "hardship", "tier", 11),
            id="both_capped_to_nothing_left",
        ),
        pytest.param(
            PLAIN_72,
            meal(price_fen=1999),
            Price(1999, 0, 500, 0, 1499, "age_70", "tier", 11),
            id="1999-500_dine_in",
        ),
        pytest.param(
            PLAIN_65,
            meal(channel="delivery", price_fen=1800, delivery_fee_fen=400),
            Price(1800, 400, 0, 0, 2200, None, "no_tier", 11),
            id="unsubsidized_pays_price_plus_fee",
        ),
    ],
)
def test_the_elder_pays_price_plus_fee_minus_both_subsidies(who, what, expected):
    assert priced(POLICIES, who, what) == expected


# --- order of the checks ------------------------------------------------------------------

STRICT_FUTIAN = replace(FUTIAN_POLICY, max_subsidized_per_day=1, refuse_beyond_limit=False)
EVERY_LIMIT = {"is_holiday": True, "meals_in_slot": 1, "subsidized_today": 1}


@pytest.mark.parametrize(
    ("policies", "who", "what", "expected_reason"),
    [
        pytest.param(
            (),
            LONE_75,
            meal(canteen_district=LUYANG, **EVERY_LIMIT),
            "other_district",
            id="other_district_before_no_policy",
        ),
        pytest.param((), LONE_75, meal(**EVERY_LIMIT), "no_policy", id="no_policy_before_limits"),
        pytest.param(
            (STRICT_FUTIAN,),
            LONE_75,
            meal(**EVERY_LIMIT),
            "slot_limit",
            id="slot_limit_before_holiday",
        ),
        pytest.param(
            (STRICT_FUTIAN,),
            LONE_75,
            meal(is_holiday=True, subsidized_today=1),
            "holiday",
            id="holiday_before_daily_limit",
        ),
        pytest.param(
            (STRICT_FUTIAN,),
            PLAIN_65,
            meal(subsidized_today=1),
            "daily_limit",
            id="daily_limit_before_tiers",
        ),
        pytest.param(
            (STRICT_FUTIAN,),
            PLAIN_65,
            meal(is_holiday=True),
            "holiday",
            id="holiday_even_for_an_elder_with_no_tier",
        ),
    ],
)
def test_the_first_applicable_check_in_api_order_decides(policies, who, what, expected_reason):
    assert priced(policies, who, what).reason == expected_reason


# --- programming errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "what", "error"),
    [
        pytest.param(FUTIAN_POLICY, meal(price_fen=-1), ValueError, id="negative_price"),
        pytest.param(
            FUTIAN_POLICY,
            meal(channel="delivery", delivery_fee_fen=-100),
            ValueError,
            id="negative_delivery_fee",
        ),
        pytest.param(FUTIAN_POLICY, meal(price_fen=20.0), TypeError, id="price_as_a_float"),
        pytest.param(FUTIAN_POLICY, meal(channel="takeaway"), ValueError, id="unknown_channel"),
        pytest.param(FUTIAN_POLICY, meal(slot="supper"), ValueError, id="unknown_slot"),
        pytest.param(
            replace(FUTIAN_POLICY, tiers=(Tier("bad", -500, "any"),)),
            meal(),
            ValueError,
            id="negative_tier_amount",
        ),
        pytest.param(
            replace(FUTIAN_POLICY, delivery_subsidy_fen=-1),
            meal(),
            ValueError,
            id="negative_delivery_subsidy",
        ),
    ],
)
def test_impossible_inputs_are_programming_errors(policy, what, error):
    with pytest.raises(error):
        price_meal((policy,), LONE_75, what)


def test_a_negative_price_raises_even_for_another_districts_elder():
    with pytest.raises(ValueError, match="price_fen"):
        price_meal(POLICIES, elder(date(1950, 1, 1), hukou=LUYANG), meal(price_fen=-1))


def test_the_limits_are_the_policys_and_without_one_a_meal_a_slot_and_no_daily_cap():
    assert limits_of(None) == Limits(per_slot=1, refuse_beyond=True, subsidized_per_day=None)
    loose = replace(FUTIAN_POLICY, max_meals_per_slot=2, refuse_beyond_limit=False)
    assert limits_of(replace(loose, max_subsidized_per_day=1)) == Limits(2, False, 1)


def test_a_meal_at_a_blacklisted_place_is_full_price_after_the_slot_limit_is_counted():
    who = elder(date(1940, 1, 1))
    assert priced([FUTIAN_POLICY], who, meal(canteen_blacklisted=True)).reason == (
        "canteen_blacklisted"
    )
    assert priced([FUTIAN_POLICY], who, meal(canteen_blacklisted=True, meals_in_slot=1)).reason == (
        "slot_limit"
    )
