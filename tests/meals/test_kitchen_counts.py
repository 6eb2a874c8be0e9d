"""What the kitchen cooks: per option, dine-in and delivery apart, walk-ins apart."""

from datetime import timedelta

import pytest

from mealservice.core.db import db
from mealservice.core.errors import Conflict
from mealservice.meals.kitchen import kitchen_counts
from mealservice.menus.models import Menu
from tests import factories
from tests.core.test_errors import assert_error
from tests.menus.helpers import add_order

OPTIONS = [
    {"name": "A套餐", "price_fen": 1800, "delivery_fee_fen": 500, "tags": ["low_salt"]},
    {"name": "软食套餐", "price_fen": 1200, "tags": ["soft", "low_sugar"]},
]


@pytest.fixture
def lunch(canteen, district):
    return factories.create_menu(
        canteen, district.local_today(), "lunch", seats=10, delivery_capacity=5, options=OPTIONS
    )


@pytest.fixture
def elders(district, canteen):
    return [factories.create_elder(district, canteen.community) for _ in range(3)]


def test_counts_split_options_by_channel_with_walk_ins_and_tags_apart(
    canteen, lunch, elder, elders
):
    plain, soft = lunch.options
    add_order(lunch, plain, elders[0], "dine_in")
    add_order(lunch, soft, elders[1], "dine_in", status="consumed")
    add_order(lunch, soft, elders[1], "delivery")
    add_order(lunch, soft, elders[2], "delivery", status="dispatched")
    add_order(lunch, plain, elders[2], "delivery", status="delivered")
    # Cancelled, no-show and failed orders are not cooked.
    add_order(lunch, plain, elders[0], "dine_in", status="cancelled")
    add_order(lunch, plain, elders[0], "dine_in", status="no_show")
    add_order(lunch, soft, elders[0], "delivery", status="failed")
    factories.create_meal(canteen, elder, "lunch", option_id=soft.id)
    voided = factories.create_meal(canteen, elders[0], "lunch", option_id=plain.id)
    voided.voided_at, voided.voided_by, voided.void_reason = voided.served_at, "t", "wrong elder"
    db.session.commit()

    counts = kitchen_counts(canteen, lunch.date, "lunch")

    by_name = {row["name"]: row for row in counts["options"]}
    assert {k: by_name["A套餐"][k] for k in ("dine_in", "delivery", "walk_in", "total")} == {
        "dine_in": 1,
        "delivery": 1,
        "walk_in": 0,
        "total": 2,
    }
    assert {k: by_name["软食套餐"][k] for k in ("dine_in", "delivery", "walk_in", "total")} == {
        "dine_in": 1,
        "delivery": 2,
        "walk_in": 1,
        "total": 4,
    }
    assert counts["totals"] == {
        "dine_in": 2,
        "delivery": 3,
        "walk_in": 1,
        "ordered": 5,
        "total": 6,
    }
    assert counts["tags"]["soft"]["total"] == 4
    assert counts["tags"]["low_sugar"]["total"] == 4
    assert counts["tags"]["low_salt"] == {
        "dine_in": 1,
        "delivery": 1,
        "walk_in": 0,
        "ordered": 2,
        "total": 2,
    }
    db.session.expire_all()
    lunch = db.session.get(Menu, lunch.id)
    assert counts["seats_free_for_walk_ins"] == lunch.seats - lunch.seats_used
    assert counts["delivery_used"] == 2


def test_counts_of_a_meal_without_a_menu_are_refused(canteen, district):
    with pytest.raises(Conflict) as caught:
        kitchen_counts(canteen, district.local_today(), "dinner")
    assert caught.value.code == "no_menu"


def test_an_empty_menu_counts_zero_of_each_option(canteen, lunch):
    counts = kitchen_counts(canteen, lunch.date, "lunch")
    assert [(r["name"], r["total"]) for r in counts["options"]] == [("A套餐", 0), ("软食套餐", 0)]
    assert counts["seats_free_for_walk_ins"] == 10


# The API


def counts_url(canteen, day, slot="lunch") -> str:
    return f"/api/v1/canteens/{canteen.id}/kitchen-counts?date={day}&slot={slot}"


@pytest.mark.parametrize("role", ["admin", "official", "manager", "cashier"])
def test_staff_read_the_kitchen_counts(login_as, canteen, lunch, elder, role):
    add_order(lunch, lunch.options[1], elder, "delivery")
    response = login_as(role).get(counts_url(canteen, lunch.date))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["menu_id"] == lunch.id and body["date"] == lunch.date.isoformat()
    assert body["options"][1]["delivery"] == 1
    assert body["tags"]["soft"]["delivery"] == 1
    assert body["seats_free_for_walk_ins"] == 10


def test_the_date_defaults_to_today(login_as, canteen, lunch):
    body = (
        login_as("manager")
        .get(f"/api/v1/canteens/{canteen.id}/kitchen-counts?slot=lunch")
        .get_json()
    )
    assert body["menu_id"] == lunch.id


@pytest.mark.parametrize("role", ["family", "elder", "volunteer"])
def test_others_do_not_read_kitchen_counts(login_as, canteen, lunch, role):
    assert_error(login_as(role).get(counts_url(canteen, lunch.date)), 403, "forbidden")


def test_another_canteens_kitchen_is_not_found(login_as, district, lunch):
    other = factories.create_canteen(district)
    assert_error(
        login_as("manager", canteen=other).get(counts_url(lunch.canteen, lunch.date)),
        404,
        "not_found",
    )


def test_kitchen_counts_name_a_bad_slot_or_date(login_as, canteen, lunch):
    manager = login_as("manager")
    error = assert_error(
        manager.get(counts_url(canteen, lunch.date, "supper")), 422, "validation_error"
    )
    assert "slot" in error["fields"]
    error = assert_error(manager.get(counts_url(canteen, "2026-02-30")), 422, "validation_error")
    assert "date" in error["fields"]
    assert_error(manager.get(counts_url(canteen, lunch.date + timedelta(days=1))), 409, "no_menu")
