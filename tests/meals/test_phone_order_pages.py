"""Taking an order by telephone (代订): a manager finds the elder by name and phone digits
(logged), places a meal of their canteen through place_order, and the order says who
placed it; the family's history can tell it was the canteen."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mealservice.core.db import db
from mealservice.elders.models import AccessLogEntry
from mealservice.meals.models import Order
from mealservice.meals.pages.phone_order import placed_by_canteen
from tests import factories
from tests.pages import browser_as, html_of, post_form


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def lunch(canteen, district):
    return factories.create_menu(canteen, district.local_today() + timedelta(days=1))


@pytest.fixture
def manager(app, canteen):
    return browser_as(app, "manager", canteen=canteen)


def test_the_look_up_finds_the_elder_and_is_logged(app, manager, elder):
    page = html_of(manager.get(f"/phone-order?name={elder.name}&phone_last4={elder.phone_last4}"))
    assert f'data-testid="match-{elder.id}"' in page
    logged = db.session.scalars(select(AccessLogEntry)).all()
    assert [(e.username, e.elder_id, e.reason) for e in logged] == [
        (manager.user.username, elder.id, "phone order")
    ]


def test_a_wrong_phone_finds_nobody(app, manager, elder):
    page = html_of(manager.get(f"/phone-order?name={elder.name}&phone_last4=0000"))
    assert 'data-testid="no-match"' in page


def test_bad_look_up_input_is_said_in_words(app, manager, elder):
    response = manager.get(f"/phone-order?name={elder.name}&phone_last4=12")
    assert response.status_code == 422
    assert "last 4 digits" in html_of(response)


def test_the_manager_places_the_order_and_the_order_names_them(app, manager, elder, lunch, policy):
    page = html_of(manager.get(f"/phone-order?elder={elder.id}"))
    option = lunch.options[0]
    assert f'data-testid="option-{option.id}"' in page
    response = post_form(
        manager,
        "/phone-order",
        {"elder": elder.id, "menu": lunch.id, "option": option.id, "channel": "dine_in"},
        f"/phone-order?elder={elder.id}",
    )
    assert response.status_code == 302
    [order] = db.session.scalars(select(Order)).all()
    assert (order.elder_id, order.option_id, order.channel) == (elder.id, option.id, "dine_in")
    assert order.placed_by == manager.user.username and order.payment_method == "at_counter"
    assert order.subsidy_fen == 500  # priced by the one function: 70岁以上, dine-in
    assert placed_by_canteen(order)


def test_a_refusal_is_shown_on_the_page(app, manager, elder, lunch, policy):
    factories.create_order(elder=elder, canteen=lunch.canteen, channel="dine_in")
    response = post_form(
        manager,
        "/phone-order",
        {"elder": elder.id, "menu": lunch.id, "option": lunch.options[0].id, "channel": "delivery"},
        f"/phone-order?elder={elder.id}",
    )
    assert response.status_code == 409
    assert "This elder already has this meal ordered." in html_of(response)
    assert len(db.session.scalars(select(Order)).all()) == 1


def test_a_meal_of_another_canteen_is_not_offered_nor_taken(app, manager, elder, district):
    elsewhere = factories.create_canteen(district)
    menu = factories.create_menu(elsewhere, district.local_today() + timedelta(days=1))
    assert f'data-testid="menu-{menu.id}"' not in html_of(
        manager.get(f"/phone-order?elder={elder.id}")
    )
    response = post_form(
        manager,
        "/phone-order",
        {"elder": elder.id, "menu": menu.id, "option": menu.options[0].id, "channel": "dine_in"},
        f"/phone-order?elder={elder.id}",
    )
    assert response.status_code == 404
    assert db.session.scalars(select(Order)).all() == []


def test_an_order_the_family_placed_is_not_the_canteens(app, elder, canteen, lunch, policy):
    relative = browser_as(app, "family", elders=[elder])
    order = factories.create_order(canteen, elder)
    order.placed_by = relative.user.username
    assert not placed_by_canteen(order)


def test_families_and_cashiers_cannot_take_phone_orders(app, elder, canteen):
    assert browser_as(app, "family", elders=[elder]).get("/phone-order").status_code == 403
    assert browser_as(app, "cashier", canteen=canteen).get("/phone-order").status_code == 403


def test_the_family_sees_the_phone_order_as_placed_by_the_canteen(
    app, manager, elder, lunch, policy
):
    relative = browser_as(app, "family", elders=[elder])
    post_form(
        manager,
        "/phone-order",
        {"elder": elder.id, "menu": lunch.id, "option": lunch.options[0].id, "channel": "dine_in"},
        f"/phone-order?elder={elder.id}",
    )
    [order] = db.session.scalars(select(Order)).all()
    history = html_of(relative.get(f"/orders?elder={elder.id}"))
    assert f'data-testid="order-{order.id}"' in history
    assert 'data-testid="placed-by-canteen"' in history
    assert "Placed by the canteen" in history


def test_an_order_the_family_placed_carries_no_canteen_badge(app, elder, canteen, lunch, policy):
    relative = browser_as(app, "family", elders=[elder])
    order = factories.create_order(canteen, elder)
    order.placed_by = relative.user.username
    db.session.commit()
    assert 'data-testid="placed-by-canteen"' not in html_of(
        relative.get(f"/orders?elder={elder.id}")
    )
