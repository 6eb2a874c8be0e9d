"""Standing orders: "lunch delivered every weekday", placed by the scheduler's job for each
published menu, skipping held dates and resuming after them, stopped on request."""

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mealservice.meals.models import Order, StandingOrder
from mealservice.meals.orders import cancel_order, place_order
from mealservice.meals.standing import (
    add_hold,
    create_standing_order,
    place_standing_orders,
    stop_standing_order,
)
from tests import factories
from tests.core.test_errors import assert_error

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 8) -> datetime:
    """A moment of the test district's local day (its zone is the default, Shanghai)."""
    return datetime.combine(day, time(hour), SHANGHAI)


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def monday(district) -> date:
    """A Monday at least a week ahead, so the whole week is still to come."""
    ahead = district.local_today() + timedelta(days=7)
    return ahead - timedelta(days=ahead.weekday())


@pytest.fixture
def week(canteen, monday, policy):
    """A published lunch menu on every day from Monday to Sunday."""
    return [factories.create_menu(canteen, monday + timedelta(days=n)) for n in range(7)]


def make_standing_order(elder, canteen, **fields):
    data = {
        "elder_id": elder.id,
        "canteen_id": canteen.id,
        "slot": "lunch",
        "channel": "delivery",
        "weekdays": "1111100",
        **fields,
    }
    return factories._committed(create_standing_order(None, data))


def ordered_dates(db, standing_order) -> list[date]:
    return list(
        db.session.scalars(
            select(Order.date)
            .where(Order.standing_order_id == standing_order.id, Order.status == "confirmed")
            .order_by(Order.date)
        )
    )


def run_job(db, now: datetime) -> int:
    placed = place_standing_orders(now=now)
    db.session.commit()
    return placed


def test_a_week_orders_on_weekdays_skips_the_hold_and_resumes_after_it(
    db, elder, canteen, monday, week
):
    standing_order = make_standing_order(elder, canteen)
    wednesday, thursday, friday = (monday + timedelta(days=n) for n in (2, 3, 4))
    factories._committed(add_hold(None, standing_order, wednesday, thursday, "住院"))

    placed = [run_job(db, at(monday + timedelta(days=n))) for n in range(7)]

    # Monday places Monday and Tuesday (Wednesday is held); Wednesday reaches Friday; the
    # weekend is not in the mask.
    assert placed == [2, 0, 1, 0, 0, 0, 0]
    assert ordered_dates(db, standing_order) == [monday, monday + timedelta(days=1), friday]


def test_running_the_job_again_places_nothing_more(db, elder, canteen, monday, week):
    standing_order = make_standing_order(elder, canteen)
    assert run_job(db, at(monday)) == 3
    assert run_job(db, at(monday)) == 0
    assert run_job(db, at(monday, 9)) == 0
    assert len(ordered_dates(db, standing_order)) == 3


def test_a_stopped_standing_order_places_nothing(db, elder, canteen, monday, week):
    standing_order = make_standing_order(elder, canteen)
    factories._committed(stop_standing_order(None, standing_order))
    assert run_job(db, at(monday)) == 0
    assert ordered_dates(db, standing_order) == []


def test_only_today_and_the_next_two_days_are_ordered(db, elder, canteen, monday, week):
    standing_order = make_standing_order(elder, canteen, weekdays="1111111")
    assert run_job(db, at(monday)) == 3
    assert ordered_dates(db, standing_order) == [monday + timedelta(days=n) for n in range(3)]


def test_a_menu_whose_cutoff_passed_is_not_ordered(db, elder, canteen, monday, week):
    standing_order = make_standing_order(elder, canteen)
    # Lunch closes at 13:30 and its ordering an hour before.
    assert run_job(db, at(monday, 13)) == 2
    assert monday not in ordered_dates(db, standing_order)


def test_draft_menus_are_not_ordered(db, elder, canteen, monday, policy):
    standing_order = make_standing_order(elder, canteen)
    factories.create_menu(canteen, monday, status="draft")
    assert run_job(db, at(monday)) == 0
    assert ordered_dates(db, standing_order) == []


def test_each_order_is_placed_as_the_standing_order_says(db, elder, canteen, monday, week):
    standing_order = make_standing_order(
        elder, canteen, preferred_tag="soft", address="西湖区测试路9号"
    )
    run_job(db, at(monday))
    order = db.session.scalar(select(Order).where(Order.date == monday))
    assert order.standing_order_id == standing_order.id
    assert order.option.name == "软食套餐"
    assert order.address == "西湖区测试路9号"
    assert order.channel == "delivery" and order.payment_method == "on_delivery"
    assert order.placed_by == "scheduler"


def test_without_the_preferred_tag_on_the_menu_the_first_option_is_ordered(
    db, elder, canteen, monday, week
):
    make_standing_order(elder, canteen, preferred_tag="low_salt")
    run_job(db, at(monday))
    assert db.session.scalar(select(Order).where(Order.date == monday)).option.name == "A套餐"


def test_a_dine_in_standing_order_books_a_seat(db, elder, canteen, monday, week):
    make_standing_order(elder, canteen, channel="dine_in")
    run_job(db, at(monday))
    db.session.expire(week[0])
    assert week[0].seats_used == 1
    order = db.session.scalar(select(Order).where(Order.date == monday))
    assert order.address is None and order.payment_method == "at_counter"


def test_a_refused_date_is_skipped_and_logged_by_ids_only(db, elder, canteen, monday, week, caplog):
    standing_order = make_standing_order(elder, canteen)
    tuesday = week[1]
    # The family already ordered Tuesday's lunch by hand: the slot limit refuses a second.
    body = {"elder_id": elder.id, "menu_id": tuesday.id, "option_id": tuesday.options[0].id}
    factories._committed(place_order(None, {**body, "channel": "delivery"}, now=at(monday, 7)))

    with caplog.at_level(logging.INFO, logger="mealservice.meals.standing"):
        assert run_job(db, at(monday)) == 2

    assert ordered_dates(db, standing_order) == [monday, monday + timedelta(days=2)]
    refusals = [r.getMessage() for r in caplog.records if "already_ordered" in r.getMessage()]
    assert refusals == [
        f"standing order {standing_order.id}: no order for menu {tuesday.id} (already_ordered)"
    ]
    assert elder.name not in caplog.text and elder.address not in caplog.text


def test_an_inactive_elder_gets_no_orders(db, elder, canteen, monday, week):
    standing_order = make_standing_order(elder, canteen)
    elder.status, elder.status_since = "deceased", monday
    db.session.commit()
    assert run_job(db, at(monday)) == 0
    assert ordered_dates(db, standing_order) == []


def test_a_hold_added_later_cancels_the_orders_already_placed_for_its_dates(
    db, elder, canteen, monday, week
):
    standing_order = make_standing_order(elder, canteen)
    run_job(db, at(monday))
    tuesday = monday + timedelta(days=1)

    hold = add_hold(None, standing_order, tuesday, tuesday, "家人来访", now=at(monday))
    db.session.commit()

    assert len(hold.cancelled_order_ids) == 1
    assert ordered_dates(db, standing_order) == [monday, monday + timedelta(days=2)]
    # The held day is not ordered again; the days after it are, as before.
    assert run_job(db, at(tuesday)) == 1
    assert tuesday not in ordered_dates(db, standing_order)
    assert monday + timedelta(days=3) in ordered_dates(db, standing_order)


def test_an_order_cancelled_by_hand_is_not_placed_again(db, elder, canteen, monday, week):
    standing_order = make_standing_order(elder, canteen)
    run_job(db, at(monday))
    order = db.session.scalar(select(Order).where(Order.date == monday + timedelta(days=1)))
    factories._committed(cancel_order(None, order, now=at(monday)))

    assert run_job(db, at(monday, 9)) == 0
    assert ordered_dates(db, standing_order) == [monday, monday + timedelta(days=2)]


def test_stopping_cancels_the_orders_whose_cutoff_is_still_ahead(db, elder, canteen, monday, week):
    standing_order = make_standing_order(elder, canteen)
    run_job(db, at(monday))

    stop_standing_order(None, standing_order, now=at(monday, 13))
    db.session.commit()

    # Monday's ordering closed at 12:30: that order stays, the kitchen has it.
    assert ordered_dates(db, standing_order) == [monday]
    assert len(standing_order.cancelled_order_ids) == 2


# The API.


def standing_body(elder, canteen, **fields) -> dict:
    return {
        "elder_id": elder.id,
        "canteen_id": canteen.id,
        "slot": "lunch",
        "channel": "delivery",
        "weekdays": "1111100",
        **fields,
    }


URL = "/api/v1/standing-orders"


def test_a_family_sets_up_lunch_delivered_every_weekday(login_as, elder, canteen):
    response = login_as("family").post(URL, json=standing_body(elder, canteen))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["elder_id"] == elder.id and body["canteen_id"] == canteen.id
    assert body["weekdays"] == "1111100" and body["active"] is True
    # Delivered to the registered address, paid at the door, unless told otherwise.
    assert body["address"] == elder.address and body["payment_method"] == "on_delivery"
    assert body["holds"] == [] and body["stopped_at"] is None


def test_standing_orders_are_listed_and_read_within_scope(login_as, district, elder, canteen):
    family = login_as("family")
    created = family.post(URL, json=standing_body(elder, canteen)).get_json()
    listed = family.get(f"{URL}?elder_id={elder.id}").get_json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert listed["next"] is None
    assert family.get(f"{URL}/{created['id']}").get_json()["id"] == created["id"]
    # The canteen's manager and the district's official see it; another canteen's not.
    assert login_as("manager").get(f"{URL}/{created['id']}").status_code == 200
    assert login_as("official").get(f"{URL}?canteen_id={canteen.id}").get_json()["items"]
    other = factories.create_canteen(district)
    stranger = login_as("manager", canteen=other)
    assert_error(stranger.get(f"{URL}/{created['id']}"), 404, "not_found")
    assert stranger.get(URL).get_json()["items"] == []


def test_a_family_cannot_touch_another_elders_standing_order(login_as, district, elder, canteen):
    other_elder = factories.create_elder(district, canteen.community)
    theirs = login_as("family", elders=[other_elder])
    created = theirs.post(URL, json=standing_body(other_elder, canteen)).get_json()
    family = login_as("family")

    error = assert_error(
        family.post(URL, json=standing_body(other_elder, canteen)), 422, "validation_error"
    )
    assert "elder_id" in error["fields"]
    assert_error(family.get(f"{URL}/{created['id']}"), 404, "not_found")
    assert_error(family.post(f"{URL}/{created['id']}/stop"), 404, "not_found")
    hold = {"starts_on": "2030-01-01", "ends_on": "2030-01-02", "reason": "x"}
    assert_error(family.post(f"{URL}/{created['id']}/holds", json=hold), 404, "not_found")
    assert family.get(URL).get_json()["items"] == []


def test_a_standing_order_is_stopped(login_as, elder, canteen):
    family = login_as("family")
    created = family.post(URL, json=standing_body(elder, canteen)).get_json()
    response = family.post(f"{URL}/{created['id']}/stop")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["active"] is False and body["stopped_by"] == family.user.username
    assert body["cancelled_order_ids"] == []
    # Stopping again changes nothing.
    again = family.post(f"{URL}/{created['id']}/stop").get_json()
    assert again["stopped_at"] == body["stopped_at"]


def test_a_hold_is_added_and_removed(login_as, district, elder, canteen):
    family = login_as("family")
    created = family.post(URL, json=standing_body(elder, canteen)).get_json()
    start = district.local_today() + timedelta(days=10)
    hold_body = {
        "starts_on": start.isoformat(),
        "ends_on": (start + timedelta(days=6)).isoformat(),
        "reason": "住院",
    }
    response = family.post(f"{URL}/{created['id']}/holds", json=hold_body)
    assert response.status_code == 201, response.get_json()
    hold = response.get_json()
    assert hold["standing_order_id"] == created["id"] and hold["reason"] == "住院"
    assert (hold["starts_on"], hold["ends_on"]) == (hold_body["starts_on"], hold_body["ends_on"])
    assert [h["id"] for h in family.get(f"{URL}/{created['id']}").get_json()["holds"]] == [
        hold["id"]
    ]

    response = family.delete(f"{URL}/{created['id']}/holds/{hold['id']}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["holds"] == []
    assert_error(family.delete(f"{URL}/{created['id']}/holds/{hold['id']}"), 404, "not_found")


def test_a_manager_sets_one_up_at_their_own_canteen_only(login_as, district, elder, canteen):
    manager = login_as("manager")
    response = manager.post(URL, json=standing_body(elder, canteen, channel="dine_in"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["payment_method"] == "at_counter"
    other = factories.create_canteen(district)
    error = assert_error(
        manager.post(URL, json=standing_body(elder, other, slot="dinner")), 422, "validation_error"
    )
    assert "canteen_id" in error["fields"]


def test_roles_without_the_permission_are_forbidden(login_as, elder, canteen):
    assert_error(
        login_as("cashier").post(URL, json=standing_body(elder, canteen)), 403, "forbidden"
    )
    assert_error(
        login_as("official").post(URL, json=standing_body(elder, canteen)), 403, "forbidden"
    )
    assert_error(login_as("cashier").get(URL), 403, "forbidden")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"weekdays": "11111"}, "weekdays"),
        ({"weekdays": "1111102"}, "weekdays"),
        ({"weekdays": "0000000"}, "weekdays"),
        ({"slot": "brunch"}, "slot"),
        ({"channel": "takeaway"}, "channel"),
        ({"payment_method": "cash"}, "payment_method"),
        ({"channel": "dine_in", "payment_method": "on_delivery"}, "payment_method"),
        ({"channel": "dine_in", "address": "某路1号"}, "address"),
        ({"elder_id": "x"}, "elder_id"),
        ({"canteen_id": 999999}, "canteen_id"),
        ({"preferred_tag": "t" * 21}, "preferred_tag"),
    ],
)
def test_bad_input_is_refused_naming_the_field(login_as, elder, canteen, fields, field):
    response = login_as("family").post(URL, json=standing_body(elder, canteen, **fields))
    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"], error


@pytest.mark.parametrize("missing", ["elder_id", "canteen_id", "slot", "channel", "weekdays"])
def test_each_required_field_is_named_when_missing(login_as, elder, canteen, missing):
    body = standing_body(elder, canteen)
    del body[missing]
    error = assert_error(login_as("family").post(URL, json=body), 422, "validation_error")
    assert missing in error["fields"]


def test_a_hold_ending_before_it_starts_or_in_the_past_is_refused(
    login_as, district, elder, canteen
):
    family = login_as("family")
    created = family.post(URL, json=standing_body(elder, canteen)).get_json()
    today = district.local_today()
    backwards = {"starts_on": str(today + timedelta(days=3)), "ends_on": str(today), "reason": "x"}
    past = {
        "starts_on": str(today - timedelta(days=5)),
        "ends_on": str(today - timedelta(days=1)),
        "reason": "x",
    }
    for body in (backwards, past):
        error = assert_error(
            family.post(f"{URL}/{created['id']}/holds", json=body), 422, "validation_error"
        )
        assert "ends_on" in error["fields"]
    error = assert_error(
        family.post(f"{URL}/{created['id']}/holds", json={"starts_on": "soon"}),
        422,
        "validation_error",
    )
    assert {"starts_on", "ends_on", "reason"} <= set(error["fields"])


def test_a_stopped_standing_order_takes_no_hold(login_as, district, elder, canteen):
    family = login_as("family")
    created = family.post(URL, json=standing_body(elder, canteen)).get_json()
    family.post(f"{URL}/{created['id']}/stop")
    today = str(district.local_today())
    body = {"starts_on": today, "ends_on": today, "reason": "x"}
    assert_error(
        family.post(f"{URL}/{created['id']}/holds", json=body), 409, "standing_order_stopped"
    )


def test_a_second_standing_order_for_the_same_meal_and_weekday_is_refused(login_as, elder, canteen):
    family = login_as("family")
    first = family.post(URL, json=standing_body(elder, canteen, weekdays="1110000")).get_json()
    error = assert_error(
        family.post(URL, json=standing_body(elder, canteen, weekdays="0010011")),
        409,
        "standing_order_exists",
    )
    assert error["detail"] == {"standing_order_id": first["id"]}
    # Other weekdays, or another slot, are fine; so is the same once the first is stopped.
    assert (
        family.post(URL, json=standing_body(elder, canteen, weekdays="0001111")).status_code == 201
    )
    assert family.post(URL, json=standing_body(elder, canteen, slot="dinner")).status_code == 201
    family.post(f"{URL}/{first['id']}/stop")
    assert (
        family.post(URL, json=standing_body(elder, canteen, weekdays="1110000")).status_code == 201
    )


def test_a_canteen_that_does_not_deliver_takes_no_delivery_standing_order(
    login_as, district, elder
):
    counter_only = factories.create_canteen(district, functions=["cooking", "dine_in"])
    response = login_as("family").post(URL, json=standing_body(elder, counter_only))
    assert_error(response, 409, "no_delivery")


def test_an_inactive_elder_takes_no_standing_order(db, login_as, district, elder, canteen):
    elder.status, elder.status_since = "moved", district.local_today()
    db.session.commit()
    response = login_as("family").post(URL, json=standing_body(elder, canteen))
    assert_error(response, 409, "elder_inactive")
    assert db.session.scalar(select(StandingOrder.id)) is None
