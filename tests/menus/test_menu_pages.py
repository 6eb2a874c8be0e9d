"""The menu pages through the test client: the week plan, copying, editing, publishing,
and the kitchen's printable counts."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mealservice.core.db import db
from mealservice.core.forms import yuan_to_fen
from mealservice.menus.models import Menu
from mealservice.menus.services import week_start
from tests import factories
from tests.core.test_pages import page_token
from tests.menus.helpers import add_order

PASSWORD = "green-tea-42"


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


@pytest.fixture
def next_monday(district):
    return week_start(district.local_today()) + timedelta(days=7)


def plan_url(canteen, week) -> str:
    return f"/canteens/{canteen.id}/menus/plan?week={week}"


def test_yuan_become_fen_without_floats():
    assert yuan_to_fen("12") == 1200
    assert yuan_to_fen("12.5") == 1250
    assert yuan_to_fen(" ¥0.07 ") == 7
    assert yuan_to_fen("19.99") == 1999
    for bad in ("12.345", "-1", "1e3", "abc", "", "12."):
        with pytest.raises(ValueError):
            yuan_to_fen(bad)


def test_the_plan_shows_a_week_of_menus_and_add_links(client, log_in_as, canteen, next_monday):
    factories.create_menu(
        canteen,
        next_monday,
        "lunch",
        seats=40,
        options=[
            {
                "name": "软食套餐",
                "price_fen": 1250,
                "dishes": ["肉末蒸蛋", "南瓜粥"],
                "tags": ["soft", "low_sugar"],
            }
        ],
    )
    log_in_as("manager")
    response = client.get(plan_url(canteen, next_monday + timedelta(days=3)))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"{next_monday}" in html  # any day of the week shows its Monday's week
    cell = re.search(rf'data-testid="cell-{next_monday}-lunch">(.*?)</td>', html, re.S).group(1)
    assert "软食套餐" in cell and "¥12.50" in cell and "肉末蒸蛋、南瓜粥" in cell
    assert "软烂" in cell and "少糖" in cell and "已发布" in cell
    assert "0/40" in cell
    assert f'data-testid="add-{next_monday + timedelta(days=1)}-lunch"' in html
    for slot in ("breakfast", "dinner"):
        assert f'data-testid="cell-{next_monday}-{slot}"' in html
    assert f"week={next_monday - timedelta(days=7)}" in html
    assert f"week={next_monday + timedelta(days=7)}" in html
    assert 'data-testid="nav-menus"' in html


def test_copy_last_week_makes_drafts(client, log_in_as, canteen, next_monday):
    factories.create_menu(canteen, next_monday - timedelta(days=7), "lunch")
    factories.create_menu(canteen, next_monday - timedelta(days=5), "dinner")
    log_in_as("manager")
    response = client.post(
        f"/canteens/{canteen.id}/menus/copy-week",
        data={
            "week": next_monday.isoformat(),
            "csrf_token": page_token(client, plan_url(canteen, next_monday)),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(plan_url(canteen, next_monday))
    copies = db.session.scalars(
        select(Menu).where(Menu.date >= next_monday).order_by(Menu.date)
    ).all()
    assert [(m.date, m.slot, m.status) for m in copies] == [
        (next_monday, "lunch", "draft"),
        (next_monday + timedelta(days=2), "dinner", "draft"),
    ]
    html = client.get(plan_url(canteen, next_monday)).get_data(as_text=True)
    assert "草稿" in html and 'data-testid="publish-week"' in html


def test_a_page_form_without_its_csrf_token_is_refused(client, log_in_as, canteen, next_monday):
    log_in_as("manager")
    response = client.post(
        f"/canteens/{canteen.id}/menus/copy-week", data={"week": next_monday.isoformat()}
    )
    assert response.status_code in (400, 403)


def menu_form(menu_or_none=None, **fields) -> dict:
    data = {
        "seats": "30",
        "order_cutoff": "",
        "delivery_capacity": "",
        "options-0-name": "A套餐",
        "options-0-dishes": "红烧鱼块，清炒时蔬, 米饭",
        "options-0-price": "18.5",
        "options-0-delivery_fee": "5",
        "options-0-low_salt": "y",
    }
    data.update(fields)
    return data


def test_adding_a_menu_from_an_add_link(client, log_in_as, canteen, next_monday):
    log_in_as("manager")
    url = f"/canteens/{canteen.id}/menus/new?date={next_monday}&slot=lunch"
    html = client.get(url).get_data(as_text=True)
    assert f'value="{next_monday}T09:30"' in html  # an hour before lunch begins
    response = client.post(
        url,
        data=menu_form(order_cutoff=f"{next_monday}T09:00", csrf_token=page_token(client, url)),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    menu = db.session.scalar(select(Menu).where(Menu.date == next_monday))
    assert (menu.seats, menu.status, menu.delivery_capacity) == (30, "draft", None)
    assert menu.order_cutoff.isoformat() == f"{next_monday}T01:00:00+00:00"
    option = menu.options[0]
    assert (option.price_fen, option.delivery_fee_fen) == (1850, 500)
    assert option.dishes == ["红烧鱼块", "清炒时蔬", "米饭"]
    assert option.tags == ["low_salt"]


def test_editing_with_a_bad_price_shows_the_error_on_the_page(
    client, log_in_as, canteen, next_monday
):
    menu = factories.create_menu(canteen, next_monday)
    log_in_as("manager")
    url = f"/canteens/{canteen.id}/menus/{menu.id}/edit"
    html = client.get(url).get_data(as_text=True)
    assert 'value="18.00"' in html and 'value="12.00"' in html
    response = client.post(
        url,
        data={
            **menu_form(order_cutoff=f"{next_monday}T09:00", csrf_token=page_token(client, url)),
            "options-0-id": str(menu.options[0].id),
            "options-0-price": "12.345",
            "options-1-id": str(menu.options[1].id),
            "options-1-name": "软食套餐",
            "options-1-price": "12",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'class="field-error"[^>]*>价格（元）: [^<]*元', html), html
    assert 'value="12.345"' in html  # what was typed stays to be corrected
    db.session.expire_all()
    assert db.session.get(Menu, menu.id).seats == 50


def test_editing_saves_prices_in_fen_and_keeps_option_ids(client, log_in_as, canteen, next_monday):
    menu = factories.create_menu(canteen, next_monday)
    first, second = menu.options
    log_in_as("manager")
    url = f"/canteens/{canteen.id}/menus/{menu.id}/edit"
    response = client.post(
        url,
        data={
            **menu_form(order_cutoff=f"{next_monday}T10:00", csrf_token=page_token(client, url)),
            "options-0-id": str(first.id),
            "options-0-price": "19.90",
            "options-1-id": str(second.id),
            "options-1-name": "",
            "options-1-price": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    menu = db.session.get(Menu, menu.id)
    assert [(o.id, o.price_fen) for o in menu.options] == [(first.id, 1990)]


def test_seats_below_those_booked_are_refused_next_to_the_field(
    client, log_in_as, canteen, next_monday, elder
):
    menu = factories.create_menu(canteen, next_monday)
    add_order(menu, menu.options[0], elder)
    add_order(menu, menu.options[1], elder)
    log_in_as("manager")
    url = f"/canteens/{canteen.id}/menus/{menu.id}/edit"
    response = client.post(
        url,
        data={
            **menu_form(
                seats="1", order_cutoff=f"{next_monday}T09:00", csrf_token=page_token(client, url)
            ),
            "options-0-id": str(menu.options[0].id),
            "options-1-id": str(menu.options[1].id),
            "options-1-name": "软食套餐",
            "options-1-price": "12",
        },
    )
    html = response.get_data(as_text=True)
    assert re.search(r'class="field-error"[^>]*>座位数: [^<]*2', html), html


def test_publishing_one_menu_and_the_whole_week(client, log_in_as, canteen, next_monday):
    first = factories.create_menu(canteen, next_monday, status="draft")
    second = factories.create_menu(canteen, next_monday + timedelta(days=1), status="draft")
    third = factories.create_menu(canteen, next_monday + timedelta(days=2), status="draft")
    log_in_as("manager")
    token = page_token(client, plan_url(canteen, next_monday))
    response = client.post(
        f"/canteens/{canteen.id}/menus/{first.id}/publish", data={"csrf_token": token}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert [db.session.get(Menu, m.id).status for m in (first, second, third)] == [
        "published",
        "draft",
        "draft",
    ]
    client.post(
        f"/canteens/{canteen.id}/menus/publish-week",
        data={"csrf_token": token, "week": next_monday.isoformat()},
    )
    db.session.expire_all()
    assert {db.session.get(Menu, m.id).status for m in (first, second, third)} == {"published"}


@pytest.mark.parametrize("role", ["cashier", "official"])
def test_only_menu_writers_get_the_plan(client, log_in_as, canteen, role):
    log_in_as(role)
    assert client.get(f"/canteens/{canteen.id}/menus/plan").status_code == 403


def test_a_manager_of_another_canteen_gets_no_plan(client, log_in_as, district, canteen):
    log_in_as("manager", canteen=factories.create_canteen(district))
    assert client.get(f"/canteens/{canteen.id}/menus/plan").status_code == 404


def test_the_kitchen_page_prints_the_counts(client, log_in_as, canteen, district, elder):
    menu = factories.create_menu(canteen, district.local_today())
    add_order(menu, menu.options[1], elder, "delivery")
    add_order(menu, menu.options[1], elder, "dine_in")
    log_in_as("cashier")
    html = client.get(f"/canteens/{canteen.id}/kitchen?date={menu.date}&slot=lunch").get_data(
        as_text=True
    )
    assert re.search(r'data-testid="kitchen-total">\s*2', html)
    assert re.search(r'data-testid="tag-soft">\s*2', html)
    assert 'data-action="print"' in html and "js/menus.js" in html
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)
    empty = client.get(f"/canteens/{canteen.id}/kitchen?date={menu.date}&slot=dinner")
    assert 'data-testid="no-menu"' in empty.get_data(as_text=True)
