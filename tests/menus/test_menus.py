from datetime import date, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from mealservice.core.clock import utcnow
from mealservice.menus.models import Menu
from mealservice.menus.services import release_seat, take_seat
from tests import factories
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.now("2026-11-25T10:00:00+08:00")
# Two days on: a menu still open for orders.
TOMORROW = date(2026, 11, 27)


def menu_body(**fields) -> dict:
    return {
        "date": TOMORROW.isoformat(),
        "slot": "lunch",
        "seats": 60,
        "order_cutoff": f"{TOMORROW.isoformat()}T09:00:00+08:00",
        "delivery_capacity": 20,
        "options": [
            {
                "name": "A套餐",
                "price_fen": 1800,
                "delivery_fee_fen": 500,
                "dishes": ["红烧鱼块", "清炒时蔬", "冬瓜汤", "米饭"],
                "tags": ["low_salt"],
            },
            {
                "name": "软食套餐",
                "price_fen": 1500,
                "dishes": ["肉末蒸蛋", "南瓜粥"],
                "tags": ["soft"],
            },
        ],
        **fields,
    }


def menus_url(canteen) -> str:
    return f"/api/v1/canteens/{canteen.id}/menus"


def test_a_manager_publishes_a_menu_with_its_seats(login_as, canteen):
    response = login_as("manager").post(menus_url(canteen), json=menu_body())
    assert response.status_code == 201, response.get_json()
    menu = response.get_json()
    assert (menu["seats"], menu["seats_used"], menu["seats_left"]) == (60, 0, 60)
    assert menu["status"] == "published"
    assert menu["order_cutoff"] == f"{TOMORROW.isoformat()}T01:00:00+00:00"
    assert [o["name"] for o in menu["options"]] == ["A套餐", "软食套餐"]
    assert all(isinstance(o["id"], int) for o in menu["options"])
    assert menu["options"][1]["delivery_fee_fen"] == 0


def test_one_menu_per_canteen_date_and_slot(login_as, canteen):
    manager = login_as("manager")
    first = manager.post(menus_url(canteen), json=menu_body()).get_json()
    error = assert_error(manager.post(menus_url(canteen), json=menu_body()), 409, "menu_exists")
    assert error["detail"] == {
        "date": TOMORROW.isoformat(),
        "slot": "lunch",
        "menu_id": first["id"],
    }
    assert (
        manager.post(
            menus_url(canteen),
            json=menu_body(slot="dinner", order_cutoff=f"{TOMORROW}T15:00:00+08:00"),
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seats": 81}, "seats"),
        ({"order_cutoff": f"{TOMORROW.isoformat()}T14:00:00+08:00"}, "order_cutoff"),
        ({"order_cutoff": f"{TOMORROW.isoformat()}T09:00:00"}, "order_cutoff"),
        ({"slot": "supper"}, "slot"),
        ({"options": []}, "options"),
        ({"options": [{"name": "x", "price_fen": 12.5}]}, "options.0.price_fen"),
        ({"options": [{"name": "x", "price_fen": -1}]}, "options.0.price_fen"),
        ({"options": [{"price_fen": 100}]}, "options.0.name"),
        ({"seats": -1}, "seats"),
        ({"date": "2026-02-30"}, "date"),
        ({"status": "secret"}, "status"),
    ],
)
def test_bad_menu_fields_are_named(login_as, canteen, change, field):
    error = assert_error(
        login_as("manager").post(menus_url(canteen), json=menu_body(**change)),
        422,
        "validation_error",
    )
    assert field in error["fields"], error["fields"]


def test_a_place_that_does_not_deliver_takes_no_delivery_capacity(login_as, district):
    point = factories.create_canteen(
        district, kind="meal_point", seats_per_meal=20, dining_area_m2=30, functions=["dine_in"]
    )
    manager = login_as("manager", canteen=point)
    error = assert_error(
        manager.post(menus_url(point), json=menu_body(seats=20)), 422, "validation_error"
    )
    assert error["fields"] == {"delivery_capacity": ["The canteen does not deliver."]}


def test_nothing_of_a_refused_menu_is_written(login_as, canteen, db):
    from sqlalchemy import func, select

    login_as("manager").post(menus_url(canteen), json=menu_body(seats=500))
    assert db.session.scalar(select(func.count()).select_from(Menu)) == 0


@pytest.mark.parametrize("role", ["official", "cashier", "family"])
def test_only_managers_and_admins_write_menus(login_as, canteen, role):
    assert_error(login_as(role).post(menus_url(canteen), json=menu_body()), 403, "forbidden")


def test_a_manager_cannot_write_another_canteens_menu(login_as, district):
    other = factories.create_canteen(district)
    assert_error(login_as("manager").post(menus_url(other), json=menu_body()), 404, "not_found")


def test_menus_are_listed_by_date_and_drafts_stay_in_the_kitchen(login_as, canteen):
    manager = login_as("manager")
    manager.post(menus_url(canteen), json=menu_body())
    manager.post(
        menus_url(canteen),
        json=menu_body(slot="dinner", status="draft", order_cutoff=f"{TOMORROW}T15:00:00+08:00"),
    )
    mine = manager.get(f"{menus_url(canteen)}?date={TOMORROW}").get_json()["items"]
    assert [m["slot"] for m in mine] == ["dinner", "lunch"]
    public = login_as("family").get(f"{menus_url(canteen)}?date={TOMORROW}").get_json()["items"]
    assert [m["slot"] for m in public] == ["lunch"]
    assert (
        manager.get(f"{menus_url(canteen)}?date={TOMORROW + timedelta(days=1)}").get_json()["items"]
        == []
    )


def test_open_menus_leave_out_closed_full_and_draft_ones_nearest_first(
    login_as, district, canteen, db
):
    far_place = factories.create_canteen(district, location={"lat": 30.30, "lng": 120.1551})
    manager = login_as("manager")
    manager.post(menus_url(canteen), json=menu_body())
    manager.post(
        menus_url(canteen),
        json=menu_body(slot="dinner", status="draft", order_cutoff=f"{TOMORROW}T15:00:00+08:00"),
    )
    far_manager = login_as("manager", canteen=far_place)
    far_manager.post(menus_url(far_place), json=menu_body())
    closed = far_manager.post(
        menus_url(far_place),
        json=menu_body(
            slot="breakfast",
            order_cutoff=(utcnow() - timedelta(minutes=1)).isoformat(),
            date=TOMORROW.isoformat(),
        ),
    ).get_json()
    full = far_manager.post(
        menus_url(far_place),
        json=menu_body(slot="dinner", seats=0, order_cutoff=f"{TOMORROW}T15:00:00+08:00"),
    ).get_json()
    family = login_as("family")
    items = family.get(f"/api/v1/menus?date={TOMORROW}&near=30.2741,120.1551").get_json()["items"]
    assert [(m["canteen_id"], m["slot"]) for m in items] == [
        (canteen.id, "lunch"),
        (far_place.id, "lunch"),
    ]
    assert items[0]["distance_m"] == 0 and items[1]["distance_m"] > 2500
    assert closed["id"] not in {m["id"] for m in items} and full["id"] not in {
        m["id"] for m in items
    }
    within = family.get(
        f"/api/v1/menus?date={TOMORROW}&near=30.2741,120.1551&radius_m=1000"
    ).get_json()["items"]
    assert [m["canteen_id"] for m in within] == [canteen.id]


def test_the_last_seat_is_taken_once(login_as, canteen, db):
    menu_id = login_as("manager").post(menus_url(canteen), json=menu_body(seats=1)).get_json()["id"]
    assert take_seat(menu_id) is True
    assert take_seat(menu_id) is False
    release_seat(menu_id)
    assert take_seat(menu_id) is True
    db.session.expire_all()
    assert db.session.get(Menu, menu_id).seats_left == 0


def test_the_database_refuses_more_seats_used_than_seats(login_as, canteen, db):
    menu_id = login_as("manager").post(menus_url(canteen), json=menu_body(seats=2)).get_json()["id"]
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(update(Menu).where(Menu.id == menu_id).values(seats_used=3))
