"""Quotes: what an elder would pay, from the same policy function as scans and orders."""

import pytest

from mealservice.elders.cards import payload_of
from tests import factories
from tests.core.test_errors import assert_error


@pytest.fixture
def today(district):
    return district.local_today()


@pytest.fixture
def lunch(canteen, today):
    return factories.create_menu(canteen, today, "lunch")


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


def quote(client, elder, canteen, day, **query):
    params = {"canteen_id": canteen.id, "date": day.isoformat(), "slot": "lunch", **query}
    return client.get(f"/api/v1/elders/{elder.id}/quote", query_string=params)


def test_a_quote_prices_the_menus_first_option(login_as, elder, canteen, lunch, policy, today):
    response = quote(login_as("cashier"), elder, canteen, today)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "price_fen": 1800,
        "delivery_fee_fen": 0,
        "subsidy_fen": 500,
        "delivery_subsidy_fen": 0,
        "elder_pays_fen": 1300,
        "tier": "70岁以上",
        "reason": "tier",
        "policy_version": policy.id,
        "refusal": None,
    }


def test_a_delivery_quote_adds_the_fee_and_its_subsidy(
    login_as, elder, canteen, lunch, policy, today
):
    body = quote(login_as("family"), elder, canteen, today, channel="delivery").get_json()
    # 70+ is a dine-in tier; delivery gets the 80+ or hardship tiers only — none here.
    assert (body["price_fen"], body["delivery_fee_fen"], body["subsidy_fen"]) == (1800, 500, 0)
    assert (body["delivery_subsidy_fen"], body["elder_pays_fen"]) == (0, 2300)
    assert body["reason"] == "no_tier"


def test_a_hardship_elder_gets_the_delivery_subsidy_too(
    login_as, district, canteen, lunch, policy, today
):
    poor = factories.create_elder(district, canteen.community, categories=["minimum_allowance"])
    body = quote(login_as("admin"), poor, canteen, today, channel="delivery").get_json()
    assert (body["subsidy_fen"], body["delivery_subsidy_fen"], body["elder_pays_fen"]) == (
        1500,
        300,
        500,
    )


def test_a_quote_after_the_meal_shows_the_slot_is_used(
    login_as, elder, canteen, lunch, policy, today
):
    card = factories.create_card(elder)
    cashier = login_as("cashier")
    scanned = cashier.post(
        f"/api/v1/canteens/{canteen.id}/scans",
        json={"qr_payload": payload_of(card), "slot": "lunch"},
    )
    assert scanned.status_code == 201
    body = quote(cashier, elder, canteen, today).get_json()
    assert (body["refusal"], body["reason"], body["subsidy_fen"]) == (
        "already_served",
        "slot_limit",
        0,
    )


def test_a_quote_needs_a_menu(login_as, elder, canteen, policy, today):
    assert_error(quote(login_as("manager"), elder, canteen, today), 409, "no_menu")


@pytest.mark.parametrize("field, value", [("slot", "brunch"), ("channel", "drone"), ("date", "x")])
def test_bad_quote_queries_are_named(login_as, elder, canteen, lunch, today, field, value):
    response = quote(login_as("manager"), elder, canteen, today, **{field: value})
    assert field in assert_error(response, 422, "validation_error")["fields"]


def test_family_quote_only_their_own_elders(login_as, district, canteen, lunch, today):
    stranger = factories.create_elder(district, canteen.community)
    assert_error(quote(login_as("family"), stranger, canteen, today), 404, "not_found")


def test_an_unknown_canteen_is_not_found(login_as, elder, canteen, lunch, today):
    response = login_as("official").get(
        f"/api/v1/elders/{elder.id}/quote",
        query_string={"canteen_id": 999999, "date": today.isoformat(), "slot": "lunch"},
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("served_first", [False, True], ids=["free", "served_this_slot"])
def test_a_menu_priced_together_gives_each_option_its_own_quote(
    db, district, canteen, elder, lunch, policy, today, served_first
):
    from mealservice.meals import services

    hardship = factories.create_elder(district, canteen.community, categories=["minimum_allowance"])
    if served_first:
        factories.create_meal(canteen, elder)
    for someone in (elder, hardship):
        together = services.quote_menu(someone, lunch, ["delivery", "dine_in"])
        assert set(together) == {option.id for option in lunch.options}
        for option in lunch.options:
            for channel in ("delivery", "dine_in"):
                alone = services.quote(
                    someone,
                    canteen,
                    {"date": today, "slot": "lunch", "channel": channel, "option_id": option.id},
                )
                assert together[option.id][channel] == alone, (someone.id, option.name, channel)
    if served_first:
        # The slot's meal is taken: every dine-in price says so, as the page shows it.
        taken = services.quote_menu(elder, lunch, ["dine_in"])
        assert all(prices["dine_in"].refusal for prices in taken.values())
