"""The capacity report: seats against bookings, dine-in meals and deliveries per menu, as
a service, through the API and on its page."""

import re
from datetime import timedelta

import pytest

from mealservice.claims.capacity import capacity_report, report_range, slot_totals
from mealservice.core.db import db
from mealservice.core.errors import ValidationFailed
from mealservice.meals.models import Meal
from mealservice.menus.models import MenuStatus
from mealservice.menus.services import slot_end
from tests import factories
from tests.core.test_errors import assert_error
from tests.core.test_pages import page_token
from tests.menus.helpers import add_order

PASSWORD = "green-tea-42"


def add_meal(menu, elder, channel: str = "dine_in", voided: bool = False, canteen_id=None):
    """A meal straight in the table, as the counter (or a delivery) leaves it."""
    served_at = slot_end(menu.canteen, menu.date, menu.slot)
    meal = Meal(
        canteen_id=canteen_id or menu.canteen_id,
        elder_id=elder.id,
        menu_id=menu.id,
        date=menu.date,
        slot=menu.slot,
        channel=channel,
        source="card" if channel == "dine_in" else "order",
        served_at=served_at,
        recorded_by="test",
        reason="no_tier",
        price_fen=1800,
        subsidy_fen=0,
        elder_pays_fen=1800,
        to_collect_fen=0,
    )
    if voided:
        meal.voided_at, meal.voided_by, meal.void_reason = served_at, "test", "wrong elder"
    db.session.add(meal)
    db.session.commit()
    return meal


@pytest.fixture
def today(district):
    return district.local_today()


@pytest.fixture
def elders(district, canteen):
    return [factories.create_elder(district, canteen.community) for _ in range(3)]


@pytest.fixture
def planted(canteen, district, today, elder, elders):
    """Three days back: lunch and breakfast of one day, a lunch with no seats, a draft
    dinner, and another canteen's lunch on the same day."""
    day = today - timedelta(days=3)
    lunch = factories.create_menu(canteen, day, "lunch", seats=10)
    breakfast = factories.create_menu(canteen, day, "breakfast", seats=4)
    empty = factories.create_menu(canteen, day - timedelta(days=1), "lunch", seats=0)
    draft = factories.create_menu(canteen, day, "dinner", seats=20, status=MenuStatus.DRAFT)
    other = factories.create_menu(factories.create_canteen(district), day, "lunch", seats=10)
    option = lunch.options[0]
    add_order(lunch, option, elders[0], "dine_in")
    add_order(lunch, option, elders[1], "dine_in", status="consumed")
    add_order(lunch, option, elders[2], "dine_in", status="no_show")
    add_order(lunch, option, elder, "dine_in", status="cancelled")
    add_order(lunch, option, elders[0], "delivery", status="delivered")
    add_order(lunch, option, elders[1], "delivery", status="delivered")
    add_order(lunch, option, elders[2], "delivery", status="failed")
    add_order(lunch, option, elder, "delivery", status="dispatched")
    add_meal(lunch, elders[1])  # the consumed booking
    add_meal(lunch, elder)  # a walk-in
    add_meal(lunch, elders[2])
    add_meal(lunch, elders[0], voided=True)
    add_meal(lunch, elders[0], channel="delivery")
    add_meal(breakfast, elder)
    add_meal(other, elder)
    add_order(draft, draft.options[0], elder, "dine_in")
    add_meal(draft, elder)
    return {"day": day, "lunch": lunch, "breakfast": breakfast, "empty": empty}


# The service


def test_each_published_menu_counts_seats_bookings_meals_and_deliveries(canteen, planted):
    day = planted["day"]
    items = capacity_report(canteen, day - timedelta(days=1), day)
    assert items == [
        {
            "date": day - timedelta(days=1),
            "slot": "lunch",
            "seats": 0,
            "booked": 0,
            "served": 0,
            "delivered": 0,
            "utilisation": 0.0,
        },
        {
            "date": day,
            "slot": "breakfast",
            "seats": 4,
            "booked": 0,
            "served": 1,
            "delivered": 0,
            "utilisation": 0.25,
        },
        {
            "date": day,
            "slot": "lunch",
            "seats": 10,
            # confirmed, consumed and no-show; not the cancelled one
            "booked": 3,
            # not the voided meal, not the delivered one, not the other canteen's
            "served": 3,
            # not the failed nor the dispatched delivery
            "delivered": 2,
            "utilisation": 0.3,
        },
    ]


def test_menus_outside_the_range_are_left_out(canteen, planted):
    day = planted["day"]
    assert [i["slot"] for i in capacity_report(canteen, day, day)] == ["breakfast", "lunch"]
    assert capacity_report(canteen, day + timedelta(days=1), day + timedelta(days=5)) == []


def test_utilisation_is_rounded_to_four_places(canteen, today, elder):
    lunch = factories.create_menu(canteen, today, "lunch", seats=3)
    add_meal(lunch, elder)
    [item] = capacity_report(canteen, today, today)
    assert item["utilisation"] == 0.3333


def test_slots_are_ordered_breakfast_lunch_dinner_whatever_their_names_sort_to(canteen, today):
    for slot in ("lunch", "dinner", "breakfast"):
        factories.create_menu(canteen, today, slot, seats=10)
    assert [i["slot"] for i in capacity_report(canteen, today, today)] == [
        "breakfast",
        "lunch",
        "dinner",
    ]


def test_slot_totals_add_up_the_items_of_each_slot(canteen, planted):
    day = planted["day"]
    totals = slot_totals(capacity_report(canteen, day - timedelta(days=1), day))
    assert totals == [
        {
            "slot": "breakfast",
            "menus": 1,
            "seats": 4,
            "booked": 0,
            "served": 1,
            "delivered": 0,
            "utilisation": 0.25,
        },
        {
            "slot": "lunch",
            "menus": 2,
            "seats": 10,
            "booked": 3,
            "served": 3,
            "delivered": 2,
            "utilisation": 0.3,
        },
    ]


def test_the_range_defaults_to_the_week_ending_today(canteen, today):
    assert report_range(canteen, None, None) == (today - timedelta(days=6), today)
    end = today - timedelta(days=30)
    assert report_range(canteen, None, end) == (end - timedelta(days=6), end)


def test_a_range_of_92_days_is_accepted_and_93_refused(canteen, today):
    start = today - timedelta(days=91)
    assert report_range(canteen, start, today) == (start, today)
    with pytest.raises(ValidationFailed) as caught:
        report_range(canteen, start - timedelta(days=1), today)
    assert set(caught.value.fields) == {"to"}


# The API


def capacity_url(canteen, **query) -> str:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/api/v1/canteens/{canteen.id}/capacity" + (f"?{params}" if params else "")


@pytest.mark.parametrize("role", ["admin", "official", "manager"])
def test_staff_read_the_capacity_report(login_as, canteen, planted, role):
    day = planted["day"]
    response = login_as(role).get(capacity_url(canteen, **{"from": day, "to": day}))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "items": [
            {
                "date": day.isoformat(),
                "slot": "breakfast",
                "seats": 4,
                "booked": 0,
                "served": 1,
                "delivered": 0,
                "utilisation": 0.25,
            },
            {
                "date": day.isoformat(),
                "slot": "lunch",
                "seats": 10,
                "booked": 3,
                "served": 3,
                "delivered": 2,
                "utilisation": 0.3,
            },
        ]
    }


def test_the_report_defaults_to_the_seven_days_ending_today(login_as, canteen, today):
    for days_back in (0, 6, 7):
        factories.create_menu(canteen, today - timedelta(days=days_back), "lunch")
    factories.create_menu(canteen, today + timedelta(days=1), "lunch")
    body = login_as("manager").get(capacity_url(canteen)).get_json()
    assert [item["date"] for item in body["items"]] == [
        (today - timedelta(days=6)).isoformat(),
        today.isoformat(),
    ]


def test_an_end_before_the_start_is_refused_naming_to(login_as, canteen, today):
    response = login_as("manager").get(
        capacity_url(canteen, **{"from": today, "to": today - timedelta(days=1)})
    )
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"to"}


def test_a_range_longer_than_92_days_is_refused_naming_to(login_as, canteen, today):
    response = login_as("manager").get(
        capacity_url(canteen, **{"from": today - timedelta(days=92), "to": today})
    )
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"to"}


def test_a_malformed_date_is_refused_by_its_name(login_as, canteen):
    error = assert_error(
        login_as("manager").get(capacity_url(canteen, **{"from": "2026-02-30"})),
        422,
        "validation_error",
    )
    assert "from" in error["fields"]


@pytest.mark.parametrize("role", ["cashier", "family"])
def test_others_do_not_read_the_capacity_report(login_as, canteen, role):
    assert_error(login_as(role).get(capacity_url(canteen)), 403, "forbidden")


def test_a_canteen_of_another_district_is_not_found(login_as, canteen):
    other = factories.create_district()
    assert_error(login_as("official", district=other).get(capacity_url(canteen)), 404, "not_found")


def test_another_canteens_report_is_not_found_to_a_manager(login_as, district, canteen):
    other = factories.create_canteen(district)
    assert_error(login_as("manager", canteen=other).get(capacity_url(canteen)), 404, "not_found")


# The page


@pytest.fixture
def log_in_as(client, district, canteen):
    def log_in(role: str, **placement):
        placement = {"district": district, "canteen": canteen, **placement}
        user = factories.create_user(role, password=PASSWORD, **placement)
        response = client.post(
            "/login",
            data={
                "username": user.username,
                "password": PASSWORD,
                "csrf_token": page_token(client),
            },
        )
        assert response.status_code == 302
        return user

    return log_in


def page_url(canteen, **query) -> str:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/canteens/{canteen.id}/capacity" + (f"?{params}" if params else "")


def test_the_page_shows_the_figures_the_totals_and_the_chart(client, log_in_as, canteen, planted):
    log_in_as("manager")
    day = planted["day"]
    response = client.get(page_url(canteen, **{"from": day, "to": day}))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = re.findall(r'<tr data-testid="capacity-item">(.*?)</tr>', html, re.S)
    cells = [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in rows]
    assert cells == [
        [day.isoformat(), "早餐", "4", "0", "1", "0", "25.0%"],
        [day.isoformat(), "午餐", "10", "3", "3", "2", "30.0%"],
    ]
    assert 'data-testid="capacity-total-lunch"' in html
    chart = re.search(r'<img src="([^"]+)"[^>]*data-testid="capacity-chart"[^>]*alt="[^"]+"', html)
    assert chart is not None
    assert chart.group(1) == (
        f"/canteens/{canteen.id}/capacity.svg?from={day.isoformat()}&amp;to={day.isoformat()}"
    )
    # Chinese by default: the column of seats is 座位数.
    assert "座位数" in html
    assert not re.search(r"<script(?![^>]*src=)", html)


def test_the_chart_is_an_svg_image(client, log_in_as, canteen, planted):
    log_in_as("official")
    day = planted["day"]
    response = client.get(f"/canteens/{canteen.id}/capacity.svg?from={day}&to={day}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert day.strftime("%m-%d") in svg


def test_the_page_speaks_english_on_request(client, log_in_as, canteen, planted):
    log_in_as("manager")
    client.get("/lang/en")
    day = planted["day"]
    html = client.get(page_url(canteen, **{"from": day, "to": day})).get_data(as_text=True)
    assert "Capacity report" in html and "Lunch" in html and "座位数" not in html


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13-01"},
        {"to": "yesterday"},
        {"from": "2026-03-10", "to": "2026-03-01"},
        {"from": "2025-01-01", "to": "2026-01-01"},
    ],
)
def test_bad_dates_are_a_message_on_the_page(client, log_in_as, canteen, today, query):
    log_in_as("manager")
    response = client.get(page_url(canteen, **query))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="flash error" role="alert"' in html
    # The default week is shown instead.
    assert f'value="{today.isoformat()}"' in html


def test_a_cashier_may_not_see_the_page(client, log_in_as, canteen):
    log_in_as("cashier")
    assert client.get(page_url(canteen)).status_code == 403
    assert client.get(f"/canteens/{canteen.id}/capacity.svg").status_code == 403


def test_the_page_asks_for_a_login(client, canteen):
    response = client.get(page_url(canteen))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
