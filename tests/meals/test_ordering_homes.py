"""The home of elders and relatives ("what to eat today and tomorrow"), and the ordering
pages' guards: a meal already booked is never offered again, the menu list says what the
elder pays, and cancelling asks first, saying what is refunded."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from mealservice.balances.services import top_up
from mealservice.core.db import db
from mealservice.meals.models import Order, OrderStatus
from mealservice.meals.orders import cancel_order, place_order
from mealservice.meals.services import quote
from tests import factories
from tests.core.test_pages import log_in, page_token

PASSWORD = "rice-porridge-42"
AWAY = {"lat": 30.2900, "lng": 120.1700}  # some 2 km from the test elder's home


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def today(district):
    return district.local_today()


@pytest.fixture
def relative(app, db, elder):
    user = factories.create_user("family", elders=[elder], password=PASSWORD)
    client = app.test_client()
    log_in(client, user.username, PASSWORD)
    return client


def html_of(response) -> str:
    return response.get_data(as_text=True)


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def pays(elder, menu, channel, option=0) -> int:
    query = {
        "date": menu.date,
        "slot": menu.slot,
        "channel": channel,
        "option_id": menu.options[option].id,
    }
    return quote(elder, menu.canteen, query).elder_pays_fen


def system_order(elder, menu, channel="delivery", option=0, **data) -> Order:
    body = {"elder_id": elder.id, "menu_id": menu.id, "option_id": menu.options[option].id}
    placed = place_order(None, {**body, "channel": channel, **data})
    db.session.commit()
    return placed


# The home


def test_the_home_shows_today_before_tomorrow_and_lunch_before_dinner(
    relative, elder, canteen, today, policy
):
    menus = [
        factories.create_menu(canteen, day, slot)
        for day in (today + timedelta(days=1), today)
        for slot in ("dinner", "lunch")
    ]
    html = html_of(relative.get("/what-to-eat"))
    tomorrow_dinner, tomorrow_lunch, today_dinner, today_lunch = menus
    order = [today_lunch, today_dinner, tomorrow_lunch, tomorrow_dinner]
    at = [html.index(f'data-testid="home-menu-{menu.id}"') for menu in order]
    assert at == sorted(at)
    assert html.index(f"home-day-{today.isoformat()}") < at[0]


def test_the_home_shows_what_the_elder_pays_as_one_tap_to_the_confirmation(
    relative, elder, canteen, today, policy
):
    lunch = factories.create_menu(canteen, today, "lunch")
    html = html_of(relative.get("/what-to-eat"))
    dine_in = pays(elder, lunch, "dine_in")
    assert dine_in < lunch.options[0].price_fen  # the elder's subsidy is taken off
    option = lunch.options[0].id
    link = re.search(
        rf'data-testid="home-dine_in-{option}"\s+href="([^"]+)">\s*(.*?)</a>', html, re.S
    )
    assert f'<span class="amount">{yuan(dine_in)}</span>' in link.group(2)
    confirm = relative.get(link.group(1).replace("&amp;", "&"))
    assert confirm.status_code == 200 and 'data-testid="confirm-order"' in html_of(confirm)
    delivered = pays(elder, lunch, "delivery")
    assert f"{yuan(delivered)}</span>" in html
    assert f'data-testid="home-delivery-{option}"' in html


def test_the_home_offers_the_usual_place_before_a_nearer_one(
    relative, district, elder, canteen, today, policy
):
    usual = factories.create_canteen(district, elder.community, location=AWAY)
    near_tomorrow, usual_tomorrow = (
        factories.create_menu(place, today + timedelta(days=1), "lunch")
        for place in (canteen, usual)
    )
    nearest = factories.create_menu(canteen, today, "lunch")
    usual_lunch = factories.create_menu(usual, today, "lunch")
    html = html_of(relative.get("/what-to-eat"))
    assert f'data-testid="home-menu-{nearest.id}"' in html, "no usual place yet: the nearest"
    assert f'data-testid="home-menu-{near_tomorrow.id}"' in html
    assert f'data-testid="home-menu-{usual_tomorrow.id}"' not in html
    factories.create_meal(usual, elder, "dinner")
    system_order(elder, usual_lunch, "dine_in")
    html = html_of(relative.get("/what-to-eat"))
    assert f'data-testid="home-menu-{usual_tomorrow.id}"' in html and "常去的助餐点" in html
    assert f'data-testid="home-menu-{near_tomorrow.id}"' not in html


def test_a_booked_meal_shows_as_booked_with_a_link_to_its_order(
    relative, elder, canteen, today, policy
):
    lunch = factories.create_menu(canteen, today, "lunch")
    dinner = factories.create_menu(canteen, today, "dinner")
    booked = system_order(elder, lunch)
    html = html_of(relative.get("/what-to-eat"))
    assert f'data-testid="home-booked-{booked.id}"' in html
    assert f'href="/orders/{booked.id}" data-testid="see-order-{booked.id}"' in html
    assert f'data-testid="home-menu-{lunch.id}"' not in html
    assert f'data-testid="home-menu-{dinner.id}"' in html


def test_a_family_with_two_elders_picks_the_elder_first_on_the_home(
    app, db, district, canteen, elder, today, policy
):
    factories.create_menu(canteen, today, "lunch")
    other = factories.create_elder(district, elder.community)
    user = factories.create_user("family", elders=[elder, other], password=PASSWORD)
    client = app.test_client()
    log_in(client, user.username, PASSWORD)
    html = html_of(client.get("/what-to-eat"))
    assert f'href="/what-to-eat?elder={other.id}"' in html
    html = html_of(client.get(f"/what-to-eat?elder={other.id}"))
    assert other.name in html and 'data-testid="another-elder"' in html


# A booked slot is not offered again


def test_the_menu_list_offers_no_second_order_for_a_booked_meal(
    relative, elder, canteen, today, policy
):
    lunch = factories.create_menu(canteen, today + timedelta(days=1), "lunch")
    dinner = factories.create_menu(canteen, today + timedelta(days=1), "dinner")
    booked = system_order(elder, lunch, "dine_in")
    html = html_of(relative.get("/order"))
    assert f'data-testid="booked-{lunch.id}"' in html
    assert f'href="/orders/{booked.id}"' in html
    for option in lunch.options:
        assert f'data-testid="deliver-{option.id}"' not in html
        assert f'data-testid="dine-in-{option.id}"' not in html
    assert f'data-testid="dine-in-{dinner.options[0].id}"' in html


def test_the_confirmation_of_a_booked_meal_offers_no_button_but_the_order(
    relative, elder, canteen, today, policy
):
    lunch = factories.create_menu(canteen, today + timedelta(days=1), "lunch")
    booked = system_order(elder, lunch, "dine_in")
    path = f"/order/confirm?elder={elder.id}&option={lunch.options[1].id}&channel=delivery"
    html = html_of(relative.get(path))
    assert "这位老人这顿饭已经订过了。" in html
    assert 'data-testid="confirm-order"' not in html
    assert f'href="/orders/{booked.id}" data-testid="booked-order"' in html


def test_the_menu_list_says_what_the_elder_pays_after_the_subsidy(
    relative, elder, canteen, today, policy
):
    lunch = factories.create_menu(canteen, today + timedelta(days=1), "lunch")
    html = html_of(relative.get("/order"))
    option = lunch.options[0]
    dine_in = pays(elder, lunch, "dine_in")
    assert dine_in < option.price_fen
    button = re.search(rf'data-testid="dine-in-{option.id}".*?</a>', html, re.S).group(0)
    assert f"自付 {yuan(dine_in)}" in button
    button = re.search(rf'data-testid="deliver-{option.id}".*?</a>', html, re.S).group(0)
    assert f"自付 {yuan(pays(elder, lunch, 'delivery'))}" in button


# Cancelling asks first


def test_cancelling_asks_first_and_says_the_balance_gets_the_money_back(
    relative, elder, canteen, today, policy
):
    lunch = factories.create_menu(canteen, today + timedelta(days=1), "lunch")
    top_up(SimpleNamespace(username="cashier"), canteen, elder, 5000, "cash")
    db.session.commit()
    placed = system_order(elder, lunch, "dine_in", payment={"method": "balance"})
    assert placed.paid_fen > 0
    html = html_of(relative.get("/orders"))
    assert f'href="/orders/{placed.id}/cancel" data-testid="cancel-{placed.id}"' in html
    page = relative.get(f"/orders/{placed.id}/cancel")
    html = html_of(page)
    assert f"从餐费余额支付的 {yuan(placed.paid_fen)} 将退回餐费余额。" in html
    assert 'data-testid="cancel-confirm"' in html and 'data-testid="keep-order"' in html
    db.session.expire_all()
    assert db.session.get(Order, placed.id).status == OrderStatus.CONFIRMED, (
        "asking changes nothing"
    )
    token = page_token(relative, f"/orders/{placed.id}/cancel")
    response = relative.post(f"/orders/{placed.id}/cancel", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Order, placed.id).status == OrderStatus.CANCELLED


def test_cancelling_an_order_paid_later_says_nothing_is_refunded(
    relative, elder, canteen, today, policy
):
    lunch = factories.create_menu(canteen, today + timedelta(days=1), "lunch")
    placed = system_order(elder, lunch)
    html = html_of(relative.get(f"/orders/{placed.id}/cancel?back=order"))
    assert "这个订单没有预先付款，无需退款。" in html
    assert '<input type="hidden" name="back" value="order">' in html
    order_page = html_of(relative.get(f"/orders/{placed.id}"))
    assert f'href="/orders/{placed.id}/cancel?back=order" data-testid="cancel-order"' in order_page


def test_an_order_that_can_no_longer_be_cancelled_offers_no_button(
    relative, elder, canteen, today, policy
):
    lunch = factories.create_menu(canteen, today + timedelta(days=1), "lunch")
    placed = system_order(elder, lunch)
    cancel_order(None, placed)
    db.session.commit()
    html = html_of(relative.get(f"/orders/{placed.id}/cancel"))
    assert "这个订单已经不能取消了。" in html
    assert 'data-testid="cancel-confirm"' not in html
