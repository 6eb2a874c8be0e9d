"""Orders ahead: delivery and dine-in bookings, priced by the policy function, holding
seats and limits as meals do, cancelled, consumed at the counter, or closed as no-shows."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mealservice.balances.services import balance_of, top_up
from mealservice.elders.services import update_elder
from mealservice.meals.models import Meal, Order, Rating
from mealservice.meals.orders import close_ordering, mark_no_shows, place_order
from mealservice.menus.models import Menu
from mealservice.menus.services import slot_end
from mealservice.places.registry import add_to_blacklist
from tests import factories
from tests.core.test_errors import assert_error
from tests.core.test_pages import log_in
from tests.meals.test_scans import scan


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def tomorrow(district):
    return district.local_today() + timedelta(days=1)


@pytest.fixture
def lunch(canteen, tomorrow):
    """Tomorrow's lunch, so ordering is open whatever the hour the tests run."""
    return factories.create_menu(canteen, tomorrow, "lunch", seats=2)


@pytest.fixture
def family(login_as):
    return login_as("family")


def order(client, elder, menu, channel="delivery", option=0, headers=None, **fields):
    body = {
        "elder_id": elder.id,
        "menu_id": menu.id,
        "option_id": menu.options[option].id,
        "channel": channel,
        **fields,
    }
    return client.post("/api/v1/orders", json=body, headers=headers)


def seats_used(db, menu) -> int:
    db.session.expire(menu)
    return menu.seats_used


def test_a_delivery_order_is_priced_with_the_delivery_subsidy(
    db, login_as, district, canteen, lunch, policy
):
    poor = factories.create_elder(district, canteen.community, categories=["minimum_allowance"])
    response = order(login_as("family", elders=[poor]), poor, lunch)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "confirmed" and body["channel"] == "delivery"
    # 18 yuan and 5 yuan delivery; the hardship tier (any channel) gives 15 yuan and the
    # delivery subsidy of 3 yuan, never more than the fee.
    assert (body["price_fen"], body["delivery_fee_fen"]) == (1800, 500)
    assert (body["subsidy_fen"], body["delivery_subsidy_fen"]) == (1500, 300)
    assert body["elder_pays_fen"] == 1800 + 500 - 1500 - 300
    assert body["address"] == poor.address and body["payment_method"] == "on_delivery"
    assert seats_used(db, lunch) == 0


def test_a_delivery_for_an_elder_without_a_delivery_tier_pays_the_fee(family, elder, lunch, policy):
    # The 70+ tier is for dine-in only: no meal subsidy and no delivery subsidy.
    body = order(family, elder, lunch).get_json()
    assert (body["subsidy_fen"], body["delivery_subsidy_fen"], body["elder_pays_fen"]) == (
        0,
        0,
        2300,
    )


def test_a_dine_in_booking_holds_a_seat_and_gets_the_dine_in_tier(db, family, elder, lunch, policy):
    body = order(family, elder, lunch, "dine_in").get_json()
    assert (body["subsidy_fen"], body["tier"], body["elder_pays_fen"]) == (500, "70岁以上", 1300)
    assert body["payment_method"] == "at_counter"
    assert seats_used(db, lunch) == 1


def test_an_order_at_a_place_blacklisted_that_day_is_priced_in_full(
    db, family, elder, canteen, lunch, policy
):
    add_to_blacklist(None, canteen, "虚报就餐人次", lunch.date)
    db.session.commit()
    body = order(family, elder, lunch, "dine_in").get_json()
    assert (body["subsidy_fen"], body["reason"]) == (0, "canteen_blacklisted")


def test_a_second_order_for_the_same_meal_is_refused(family, elder, lunch, policy):
    order(family, elder, lunch, "dine_in")
    assert_error(order(family, elder, lunch), 409, "already_ordered")


def test_the_last_seat_goes_to_one_booking(db, login_as, district, canteen, lunch, policy):
    others = [factories.create_elder(district, canteen.community) for _ in range(3)]
    family = login_as("family", elders=others)
    statuses = [order(family, elder, lunch, "dine_in").status_code for elder in others]
    assert statuses == [201, 201, 409]
    assert seats_used(db, lunch) == 2


def test_delivery_capacity_is_held(canteen, tomorrow, login_as, district, policy):
    menu = factories.create_menu(canteen, tomorrow, "dinner", delivery_capacity=1)
    elders = [factories.create_elder(district, canteen.community) for _ in range(2)]
    family = login_as("family", elders=elders)
    assert order(family, elders[0], menu).status_code == 201
    assert_error(order(family, elders[1], menu), 409, "capacity_full")


def test_a_canteen_that_does_not_deliver_refuses_delivery(db, district, login_as, elder, tomorrow):
    eat_in_only = factories.create_canteen(district, functions=["cooking", "dine_in"])
    menu = factories.create_menu(eat_in_only, tomorrow, "lunch")
    assert_error(order(login_as("family"), elder, menu), 409, "no_delivery")


def test_ordering_closes_at_the_cutoff(db, family, elder, canteen, district, policy):
    today = district.local_today()
    closed = factories.create_menu(
        canteen, today, "breakfast", order_cutoff=slot_end(canteen, today, "breakfast")
        - timedelta(days=1),
    )  # fmt: skip
    assert_error(order(family, elder, closed), 409, "cutoff_passed")


def test_a_draft_menu_takes_no_orders(family, elder, canteen, tomorrow):
    draft = factories.create_menu(canteen, tomorrow, "dinner", status="draft")
    assert_error(order(family, elder, draft), 409, "no_menu")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "takeaway"}, "channel"),
        ({"option_id": 999999}, "option_id"),
        ({"menu_id": 999999}, "menu_id"),
        ({"payment": {"method": "cash"}}, "payment.method"),
        # Each channel is paid from the balance or in cash when the meal arrives.
        ({"payment": {"method": "at_counter"}}, "payment.method"),
        ({"channel": "dine_in", "payment": {"method": "on_delivery"}}, "payment.method"),
    ],
)
def test_bad_input_names_the_field_and_orders_nothing(db, family, elder, lunch, fields, field):
    response = order(family, elder, lunch, **fields)
    assert_error(response, 422, "validation_error")
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_family_orders_only_for_its_own_elders(login_as, district, canteen, lunch, policy):
    stranger = factories.create_elder(district, canteen.community)
    response = order(login_as("family"), stranger, lunch)
    assert_error(response, 422, "validation_error")
    assert "elder_id" in response.get_json()["error"]["fields"]


def test_a_double_tap_orders_once(db, family, elder, lunch, policy):
    headers = {"Idempotency-Key": "tap-1"}
    first = order(family, elder, lunch, headers=headers)
    second = order(family, elder, lunch, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_cancelling_frees_the_seat_and_the_limit(db, family, elder, lunch, policy):
    booked = order(family, elder, lunch, "dine_in").get_json()
    response = family.post(f"/api/v1/orders/{booked['id']}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert seats_used(db, lunch) == 0
    assert order(family, elder, lunch, "dine_in").status_code == 201
    assert_error(family.post(f"/api/v1/orders/{booked['id']}/cancel"), 409, "order_closed")


def test_after_the_cutoff_an_order_cannot_be_cancelled(db, family, elder, lunch, policy):
    booked = order(family, elder, lunch, "dine_in").get_json()
    lunch.order_cutoff = lunch.order_cutoff.replace(year=2020)
    db.session.commit()
    assert_error(family.post(f"/api/v1/orders/{booked['id']}/cancel"), 409, "cutoff_passed")


def test_a_prepaid_order_is_paid_from_the_balance_and_refunded_when_cancelled(
    db, login_as, family, canteen, elder, lunch, policy
):
    top_up(login_as("cashier").user, canteen, elder, 2000, "cash")
    db.session.commit()
    body = order(family, elder, lunch, "dine_in", payment={"method": "balance"}).get_json()
    assert (body["payment_method"], body["paid_fen"]) == ("balance", 1300)
    assert balance_of(elder.id) == 700
    family.post(f"/api/v1/orders/{body['id']}/cancel")
    assert balance_of(elder.id) == 2000


def test_a_short_balance_refuses_the_order_and_holds_nothing(db, family, elder, lunch, policy):
    response = order(family, elder, lunch, "dine_in", payment={"method": "balance"})
    assert_error(response, 409, "insufficient_balance")
    assert seats_used(db, lunch) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_blacklisting_cancels_the_places_orders_from_its_first_day_and_refunds(
    app, db, login_as, family, canteen, elder, lunch, policy
):
    top_up(login_as("cashier").user, canteen, elder, 2000, "cash")
    db.session.commit()
    prepaid = order(family, elder, lunch, "dine_in", payment={"method": "balance"}).get_json()
    assert balance_of(elder.id) == 700
    add_to_blacklist(None, canteen, "虚报就餐人次", lunch.date)
    db.session.commit()
    cancelled = db.session.get(Order, prepaid["id"])
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "canteen_blacklisted")
    assert balance_of(elder.id) == 2000
    assert seats_used(db, lunch) == 0
    relative = factories.create_user("family", elders=[elder], password="rice-porridge-42")
    browser = app.test_client()
    log_in(browser, relative.username, "rice-porridge-42")
    page = browser.get(f"/orders/{cancelled.id}").get_data(as_text=True)
    assert 'data-testid="cancel-reason"' in page and "失信黑名单" in page


def test_a_blacklisting_from_a_later_day_leaves_earlier_orders_alone(
    db, family, canteen, elder, lunch, policy
):
    booked = order(family, elder, lunch, "dine_in").get_json()
    add_to_blacklist(None, canteen, "虚报就餐人次", lunch.date + timedelta(days=1))
    db.session.commit()
    assert db.session.get(Order, booked["id"]).status == "confirmed"


def test_an_elder_who_died_has_their_orders_cancelled_refunded_and_standing_orders_stopped(
    db, login_as, family, canteen, elder, lunch, policy
):
    top_up(login_as("cashier").user, canteen, elder, 2000, "cash")
    standing = factories.create_standing_order(canteen, elder)
    prepaid = order(family, elder, lunch, "dine_in", payment={"method": "balance"}).get_json()
    update_elder(elder, {"status": "deceased", "status_since": lunch.date})
    db.session.commit()
    cancelled = db.session.get(Order, prepaid["id"])
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "elder_inactive")
    assert balance_of(elder.id) == 2000
    db.session.refresh(standing)
    assert standing.stopped_at is not None


def test_family_see_their_elders_orders_only(login_as, family, district, canteen, elder, lunch):
    order(family, elder, lunch)
    other_elder = factories.create_elder(district, canteen.community)
    order(login_as("family", elders=[other_elder]), other_elder, lunch)
    listed = family.get("/api/v1/orders").get_json()["items"]
    assert [item["elder_id"] for item in listed] == [elder.id]
    manager_sees = login_as("manager").get("/api/v1/orders").get_json()["items"]
    assert len(manager_sees) == 2


# The booking at the counter


def test_a_scan_consumes_the_booking_with_its_price_and_seat(
    db, login_as, family, canteen, elder, district, policy
):
    today = district.local_today()
    menu = factories.create_menu(
        canteen, today, "lunch", seats=5,
        order_cutoff=slot_end(canteen, today, "lunch") + timedelta(minutes=0)
        - timedelta(minutes=1),
    )  # fmt: skip
    booked = place_order(family.user, {
        "elder_id": elder.id, "menu_id": menu.id, "option_id": menu.options[1].id,
        "channel": "dine_in"}, now=menu.order_cutoff - timedelta(hours=5))  # fmt: skip
    db.session.commit()
    # The soft option was booked at 12 yuan; the card's scan takes no second seat.
    response = scan(login_as("cashier"), canteen, factories.create_card(elder))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["booking_id"] == booked.id and body["option_name"] == "软食套餐"
    assert (body["price_fen"], body["elder_pays_fen"], body["to_collect_fen"]) == (1200, 700, 700)
    assert seats_used(db, menu) == 1
    db.session.refresh(booked)
    assert booked.status == "consumed"
    meal = db.session.get(Meal, body["meal_id"])
    assert (meal.holds_seat, meal.holds_slot, meal.order_id) == (True, True, booked.id)


def test_a_prepaid_booking_leaves_nothing_to_collect(
    db, login_as, family, canteen, elder, district, policy
):
    today = district.local_today()
    menu = factories.create_menu(canteen, today, "lunch")
    top_up(login_as("cashier").user, canteen, elder, 5000, "cash")
    place_order(family.user, {
        "elder_id": elder.id, "menu_id": menu.id, "option_id": menu.options[0].id,
        "channel": "dine_in", "payment": {"method": "balance"}},
        now=menu.order_cutoff - timedelta(hours=5))  # fmt: skip
    db.session.commit()
    body = scan(login_as("cashier"), canteen, factories.create_card(elder)).get_json()
    assert (body["elder_pays_fen"], body["to_collect_fen"], body["payment_method"]) == (
        1300,
        0,
        None,
    )
    assert balance_of(elder.id) == 5000 - 1300


# The scheduler's jobs


def test_a_booking_nobody_came_for_becomes_a_no_show_after_its_slot(
    db, login_as, family, canteen, elder, lunch, policy
):
    top_up(login_as("cashier").user, canteen, elder, 2000, "cash")
    db.session.commit()
    booked = order(family, elder, lunch, "dine_in", payment={"method": "balance"}).get_json()
    delivery = order(
        login_as("family", elders=[other := factories.create_elder(
            lunch.canteen.district, canteen.community)]), other, lunch
    ).get_json()  # fmt: skip
    end = slot_end(canteen, lunch.date, "lunch")
    assert mark_no_shows(end - timedelta(minutes=1)) == 0
    assert mark_no_shows(end) == 1
    assert mark_no_shows(end + timedelta(hours=1)) == 0, "a second run changes nothing"
    assert db.session.get(Order, booked["id"]).status == "no_show"
    assert db.session.get(Order, delivery["id"]).status == "confirmed"
    assert seats_used(db, lunch) == 0
    assert balance_of(elder.id) == 2000


def test_closing_ordering_stamps_the_menus_past_their_cutoff_once(db, lunch):
    assert close_ordering(lunch.order_cutoff - timedelta(seconds=1)) == 0
    assert close_ordering(lunch.order_cutoff) == 1
    assert close_ordering(lunch.order_cutoff + timedelta(hours=1)) == 0
    db.session.expire_all()
    assert db.session.get(Menu, lunch.id).ordering_closed_at is not None


# Ratings


def test_a_relative_rates_a_meal_once_and_the_manager_reads_it(
    db, login_as, family, canteen, elder, district, policy
):
    factories.create_menu(canteen, district.local_today(), "lunch")
    meal = factories.create_meal(canteen, elder)
    response = family.post(f"/api/v1/meals/{meal.id}/rating", json={"score": 2, "comment": "太咸"})
    assert response.status_code == 201, response.get_json()
    assert_error(family.post(f"/api/v1/meals/{meal.id}/rating", json={"score": 5}), 409,
                 "already_rated")  # fmt: skip
    ratings = login_as("manager").get(f"/api/v1/canteens/{canteen.id}/ratings").get_json()
    assert [(r["score"], r["comment"]) for r in ratings] == [(2, "太咸")]
    bad = family.post(f"/api/v1/meals/{meal.id}/rating", json={"score": 6})
    assert_error(bad, 422, "validation_error")
    assert db.session.scalar(select(func.count()).select_from(Rating)) == 1


def test_nobody_rates_another_elders_meal(db, login_as, canteen, district, policy):
    factories.create_menu(canteen, district.local_today(), "lunch")
    stranger = factories.create_elder(district, canteen.community)
    meal = factories.create_meal(canteen, stranger)
    response = login_as("family").post(f"/api/v1/meals/{meal.id}/rating", json={"score": 5})
    assert_error(response, 404, "not_found")
