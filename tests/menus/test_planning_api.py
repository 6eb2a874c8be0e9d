"""The planning endpoints: change, publish, copy a week."""

from datetime import timedelta

import pytest

from mealservice.menus.services import week_start
from tests import factories
from tests.core.test_errors import assert_error
from tests.menus.helpers import add_order


@pytest.fixture
def day(district):
    return district.local_today() + timedelta(days=2)


@pytest.fixture
def menu(canteen, day):
    return factories.create_menu(canteen, day, delivery_capacity=10, status="draft")


def menu_url(menu) -> str:
    return f"/api/v1/menus/{menu.id}"


def test_a_manager_changes_seats_cutoff_and_options(login_as, menu, day):
    first, second = menu.options
    response = login_as("manager").patch(
        menu_url(menu),
        json={
            "seats": 40,
            "order_cutoff": f"{day}T08:30:00+08:00",
            "delivery_capacity": 12,
            "options": [
                {"id": second.id, "price_fen": 1300, "tags": ["soft", "low_sugar"]},
                {
                    "name": "少盐套餐",
                    "price_fen": 1600,
                    "dishes": ["清蒸鲈鱼"],
                    "tags": ["low_salt"],
                },
            ],
        },
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["seats"], body["delivery_capacity"]) == (40, 12)
    assert body["order_cutoff"] == f"{day}T00:30:00+00:00"
    assert [(o["id"], o["name"], o["price_fen"], o["tags"]) for o in body["options"]][0] == (
        second.id,
        "软食套餐",
        1300,
        ["soft", "low_sugar"],
    )
    assert body["options"][1]["name"] == "少盐套餐" and body["options"][1]["delivery_fee_fen"] == 0


def test_an_empty_change_changes_nothing(login_as, menu):
    response = login_as("manager").patch(menu_url(menu), json={})
    assert response.status_code == 200
    assert response.get_json()["seats"] == 50


def test_refusals_of_a_change_carry_their_codes(login_as, menu, elder):
    add_order(menu, menu.options[1], elder)
    manager = login_as("manager")
    error = assert_error(
        manager.patch(menu_url(menu), json={"seats": 0}), 409, "seats_below_booked"
    )
    assert error["detail"] == {"seats_used": 1}
    error = assert_error(
        manager.patch(menu_url(menu), json={"options": [{"id": menu.options[0].id}]}),
        409,
        "option_in_use",
    )
    assert error["detail"]["option_id"] == menu.options[1].id


def test_a_past_menu_is_refused(login_as, canteen, district):
    past = factories.create_menu(canteen, district.local_today() - timedelta(days=3))
    manager = login_as("manager")
    assert_error(manager.patch(menu_url(past), json={"seats": 10}), 409, "menu_in_past")
    assert_error(manager.post(f"{menu_url(past)}/publish"), 409, "menu_in_past")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seats": 81}, "seats"),
        ({"seats": "many"}, "seats"),
        ({"options": []}, "options"),
        ({"options": [{"price_fen": 100}]}, "options.0.name"),
        ({"options": [{"name": "x", "price_fen": 12.5}]}, "options.0.price_fen"),
        ({"options": [{"id": 999999}]}, "options.0.id"),
        ({"order_cutoff": "2026-01-01T09:00:00"}, "order_cutoff"),
        ({"slot": "dinner"}, "slot"),
        ({"color": "red"}, "color"),
    ],
)
def test_bad_changes_are_named(login_as, menu, change, field):
    error = assert_error(
        login_as("manager").patch(menu_url(menu), json=change), 422, "validation_error"
    )
    assert field in error["fields"], error["fields"]


def test_publishing_a_draft(login_as, menu):
    response = login_as("manager").post(f"{menu_url(menu)}/publish")
    assert response.status_code == 200
    assert response.get_json()["status"] == "published"


@pytest.mark.parametrize("role", ["cashier", "official"])
def test_staff_who_only_read_menus_may_not_change_them(login_as, menu, role):
    client = login_as(role)
    assert_error(client.patch(menu_url(menu), json={"seats": 10}), 403, "forbidden")
    assert_error(client.post(f"{menu_url(menu)}/publish"), 403, "forbidden")
    assert_error(
        client.post(
            f"/api/v1/canteens/{menu.canteen_id}/menus/copy-week",
            json={"from_week": "2026-11-02", "to_week": "2026-11-09"},
        ),
        403,
        "forbidden",
    )


def test_a_manager_of_another_canteen_finds_no_menu(login_as, district, menu):
    other = factories.create_canteen(district)
    manager = login_as("manager", canteen=other)
    assert_error(manager.patch(menu_url(menu), json={"seats": 10}), 404, "not_found")
    assert_error(manager.post(f"{menu_url(menu)}/publish"), 404, "not_found")
    assert_error(manager.get(menu_url(menu)), 404, "not_found")
    assert_error(
        manager.post(
            f"/api/v1/canteens/{menu.canteen_id}/menus/copy-week",
            json={"from_week": "2026-11-02", "to_week": "2026-11-09"},
        ),
        404,
        "not_found",
    )


def test_a_draft_is_not_shown_to_families(login_as, menu):
    assert_error(login_as("family").get(menu_url(menu)), 404, "not_found")
    assert login_as("cashier").get(menu_url(menu)).status_code == 200


def test_copying_a_week(login_as, canteen, district):
    next_week = week_start(district.local_today()) + timedelta(days=7)
    source = factories.create_menu(canteen, next_week, "dinner")
    response = login_as("manager").post(
        f"/api/v1/canteens/{canteen.id}/menus/copy-week",
        json={
            "from_week": next_week.isoformat(),
            "to_week": (next_week + timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [(m["date"], m["slot"], m["status"]) for m in body["items"]] == [
        ((next_week + timedelta(days=7)).isoformat(), "dinner", "draft")
    ]
    assert body["items"][0]["id"] != source.id
    assert body["skipped"] == []


def test_weeks_are_named_by_mondays(login_as, canteen, district):
    monday = week_start(district.local_today())
    error = assert_error(
        login_as("manager").post(
            f"/api/v1/canteens/{canteen.id}/menus/copy-week",
            json={"from_week": (monday + timedelta(days=1)).isoformat(), "to_week": "x"},
        ),
        422,
        "validation_error",
    )
    assert "to_week" in error["fields"]
