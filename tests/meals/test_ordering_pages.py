"""The ordering pages through the test client: nearby menus, the confirmation with the
subsidy, the order and its status, cancel, refusals in plain words, ratings, and who may
see whose orders."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from mealservice.balances.services import top_up
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.meals.models import Order, OrderStatus, Rating
from mealservice.meals.orders import place_order
from mealservice.places.geo import distance_m
from mealservice.places.registry import add_to_blacklist
from tests import factories
from tests.core.test_pages import log_in, page_token

PASSWORD = "rice-porridge-42"


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def tomorrow(district):
    return district.local_today() + timedelta(days=1)


@pytest.fixture
def lunch(canteen, tomorrow):
    """Tomorrow's lunch, so ordering is open whatever the hour the tests run."""
    return factories.create_menu(
        canteen,
        tomorrow,
        "lunch",
        options=[
            {
                "name": "营养套餐",
                "price_fen": 1800,
                "delivery_fee_fen": 500,
                "dishes": ["清蒸鲈鱼", "炒青菜", "米饭"],
                "tags": ["low_salt"],
            },
            {"name": "软食套餐", "price_fen": 1500, "dishes": ["肉末蒸蛋"], "tags": ["soft"]},
        ],
    )


@pytest.fixture
def relative(app, db, elder):
    """A browser logged in as a relative of the test elder (and of nobody else)."""
    user = factories.create_user("family", elders=[elder], password=PASSWORD)
    client = app.test_client()
    log_in(client, user.username, PASSWORD)
    client.user = user
    return client


def logged_in(app, user):
    client = app.test_client()
    log_in(client, user.username, PASSWORD)
    return client


def html_of(response) -> str:
    return response.get_data(as_text=True)


def post_form(client, path: str, data: dict, page: str = "/order"):
    return client.post(path, data={"csrf_token": page_token(client, page), **data})


def order_in_db(db, elder) -> list[Order]:
    return list(db.session.scalars(select(Order).where(Order.elder_id == elder.id)))


def system_order(elder, menu, channel="delivery", option=0) -> Order:
    """An order placed by the scheduler, as a standing order would be."""
    placed = place_order(
        None,
        {
            "elder_id": elder.id,
            "menu_id": menu.id,
            "option_id": menu.options[option].id,
            "channel": channel,
        },
    )
    db.session.commit()
    return placed


# The menus


def test_a_relative_of_one_elder_sees_the_nearby_menus_with_the_walk_and_the_tags(
    relative, elder, canteen, lunch
):
    html = html_of(relative.get("/order"))
    metres = distance_m(elder.lat, elder.lng, canteen.lat, canteen.lng)
    assert canteen.name in html
    assert f"步行约1分钟 · {metres}米" in html
    assert "营养套餐" in html and "清蒸鲈鱼、炒青菜、米饭" in html and "¥18.00" in html
    assert "少盐" in html and "软烂" in html
    assert f'data-testid="deliver-{lunch.options[0].id}"' in html
    assert f'data-testid="dine-in-{lunch.options[0].id}"' in html
    assert "明天" in html


def test_walking_time_counts_80_metres_a_minute(district, canteen, relative, lunch, db):
    from mealservice.meals.pages.ordering import walking_minutes

    assert walking_minutes(57) == 1 and walking_minutes(80) == 1 and walking_minutes(81) == 2
    assert walking_minutes(1000) == 13


def test_a_place_that_does_not_deliver_offers_only_a_seat(relative, district, elder, tomorrow):
    hall = factories.create_canteen(district, elder.community, functions=["cooking", "dine_in"])
    menu = factories.create_menu(hall, tomorrow, "lunch")
    html = html_of(relative.get("/order"))
    option = menu.options[0].id
    assert f'data-testid="dine-in-{option}"' in html
    assert f'data-testid="deliver-{option}"' not in html


def test_the_list_keeps_to_the_nearest_places_and_the_nearest_that_delivers(
    relative, district, elder, canteen, lunch, tomorrow
):
    home = {"lat": elder.lat, "lng": elder.lng}
    halls = [
        factories.create_canteen(
            district, elder.community, functions=["cooking", "dine_in"], location=home
        )
        for _ in range(5)
    ]
    far = factories.create_canteen(
        district,
        elder.community,
        functions=["cooking", "dine_in"],
        location={"lat": 30.30, "lng": 120.20},
    )
    for hall in (*halls, far):
        factories.create_menu(hall, tomorrow, "lunch")
    html = html_of(relative.get("/order"))
    tomorrow_part = html[html.index(f'data-testid="day-{tomorrow.isoformat()}"') :]
    for hall in halls:
        assert f'data-testid="place-{hall.id}"' in tomorrow_part
    assert f'data-testid="place-{canteen.id}"' in tomorrow_part  # it delivers
    assert f'data-testid="place-{far.id}"' not in tomorrow_part
    assert 'data-testid="more-places"' in tomorrow_part
    everything = html_of(relative.get(f"/order?elder={elder.id}&all=1"))
    assert f'data-testid="place-{far.id}"' in everything


def test_an_elder_orders_for_themself_without_choosing(app, db, elder, lunch):
    client = logged_in(app, factories.create_user("elder", elders=[elder], password=PASSWORD))
    html = html_of(client.get("/order"))
    assert f"为{elder.name}订餐" in html and f'data-testid="deliver-{lunch.options[0].id}"' in html


def test_a_draft_menu_cannot_be_ordered_from(relative, elder, canteen, tomorrow):
    draft = factories.create_menu(canteen, tomorrow, "dinner", status="draft")
    assert f"menu-{draft.id}" not in html_of(relative.get("/order"))
    option = draft.options[0].id
    path = f"/order/confirm?elder={elder.id}&option={option}&channel=delivery"
    assert relative.get(path).status_code == 404


def test_a_family_with_two_elders_picks_the_elder_first(app, db, district, canteen, elder, lunch):
    second = factories.create_elder(district, canteen.community, name="第二位老人")
    user = factories.create_user("family", elders=[elder, second], password=PASSWORD)
    client = logged_in(app, user)
    html = html_of(client.get("/order"))
    assert "为哪位老人订餐？" in html
    assert f'data-testid="pick-elder-{second.id}"' in html and "第二位老人" in html
    html = html_of(client.get(f"/order?elder={second.id}"))
    assert "为第二位老人订餐" in html and f'data-testid="deliver-{lunch.options[0].id}"' in html


def test_the_nav_offers_ordering_to_relatives_only(relative, app, db, canteen):
    assert 'data-testid="nav-order"' in html_of(relative.get("/balances"))
    manager = factories.create_user("manager", canteen=canteen, password=PASSWORD)
    assert 'data-testid="nav-order"' not in html_of(logged_in(app, manager).get("/canteens"))


# The confirmation and the order


def test_the_confirmation_shows_price_subsidy_delivery_fee_and_what_to_pay(
    app, district, canteen, lunch, policy, db
):
    poor = factories.create_elder(district, canteen.community, categories=["minimum_allowance"])
    relative = logged_in(app, factories.create_user("family", elders=[poor], password=PASSWORD))
    option = lunch.options[0]
    html = html_of(
        relative.get(f"/order/confirm?elder={poor.id}&option={option.id}&channel=delivery")
    )
    assert "确认订单" in html and "送餐上门" in html
    assert re.search(r'data-testid="subsidy">-¥15\.00<', html)
    assert re.search(r'data-testid="delivery-fee">¥5\.00<', html)
    assert re.search(r'data-testid="delivery-subsidy">-¥3\.00<', html)
    assert re.search(r'data-testid="to-pay">¥5\.00<', html)  # 18 + 5 - 15 - 3
    assert "送餐时付款" in html and "用饭卡余额支付" in html and "余额不足" in html
    assert 'data-testid="confirm-order"' in html


def test_the_confirmation_says_a_blacklisted_place_serves_at_full_price(
    relative, elder, canteen, lunch, policy, db
):
    add_to_blacklist(None, canteen, "虚报就餐人次", lunch.date)
    db.session.commit()
    option = lunch.options[0]
    html = html_of(
        relative.get(f"/order/confirm?elder={elder.id}&option={option.id}&channel=dine_in")
    )
    assert 'data-testid="blacklisted-notice"' in html and "不享受补贴" in html
    assert re.search(r'data-testid="subsidy">-¥0\.00<', html)


def test_the_menu_list_says_which_place_is_blacklisted_before_anyone_chooses(
    relative, elder, canteen, district, lunch, policy, db
):
    other = factories.create_canteen(district, canteen.community, name="清白助餐点")
    factories.create_menu(other, lunch.date, "lunch")
    add_to_blacklist(None, canteen, "虚报就餐人次", lunch.date)
    db.session.commit()
    html = html_of(relative.get(f"/order?elder={elder.id}&all=1"))
    day = html.split(f'data-testid="day-{lunch.date.isoformat()}"')[1].split("</section>")[0]
    blacklisted = day.split(f'data-testid="place-{canteen.id}"')[1].split("</li>\n            ")[0]
    clean = day.split(f'data-testid="place-{other.id}"')[1].split('data-testid="place-')[0]
    assert 'data-testid="blacklisted-notice"' in blacklisted and "不享受补贴" in blacklisted
    assert "blacklisted-notice" not in clean and "unfiled-notice" not in day


def test_a_full_order_flow_ends_on_the_orders_page_with_its_status(
    relative, elder, canteen, lunch, policy, db
):
    option = lunch.options[0]
    confirm = relative.get(f"/order/confirm?elder={elder.id}&option={option.id}&channel=dine_in")
    assert confirm.status_code == 200 and "堂食预订" in html_of(confirm)
    response = post_form(
        relative,
        "/order",
        {"elder": elder.id, "option": option.id, "channel": "dine_in", "payment": "at_counter"},
    )
    assert response.status_code == 302
    [placed] = order_in_db(db, elder)
    assert response.headers["Location"] == f"/orders/{placed.id}"
    assert placed.channel == "dine_in" and placed.payment_method == "at_counter"
    assert placed.subsidy_fen == 500  # 70 and over, dine-in
    html = html_of(relative.get(response.headers["Location"]))
    assert f"订好了，订单号 {placed.id}。" in html
    assert re.search(r'data-testid="order-status">已确认<', html)
    assert re.search(r'data-testid="order-to-pay">¥13\.00<', html)
    assert 'data-testid="cancel-order"' in html


def test_paying_from_the_balance_is_offered_first_when_it_covers_the_meal(
    relative, elder, canteen, lunch, policy, db
):
    top_up(SimpleNamespace(username="cashier"), canteen, elder, 5000, "cash")
    db.session.commit()
    option = lunch.options[1]
    html = html_of(
        relative.get(f"/order/confirm?elder={elder.id}&option={option.id}&channel=dine_in")
    )
    assert "余额 ¥50.00" in html
    assert re.search(r'value="balance" data-testid="pay-balance"\s+checked', html)
    post_form(
        relative,
        "/order",
        {"elder": elder.id, "option": option.id, "channel": "dine_in", "payment": "balance"},
    )
    [placed] = order_in_db(db, elder)
    assert placed.paid_fen == 1000  # 15 yuan less the 5-yuan subsidy
    assert "¥40.00" in html_of(relative.get("/orders"))


def test_the_delivery_address_can_be_changed_on_the_confirmation(
    relative, elder, lunch, policy, db
):
    option = lunch.options[0]
    post_form(
        relative,
        "/order",
        {
            "elder": elder.id,
            "option": option.id,
            "channel": "delivery",
            "payment": "on_delivery",
            "address": "女儿家：测试路9号",
        },
    )
    [placed] = order_in_db(db, elder)
    assert placed.address == "女儿家：测试路9号" and placed.payment_method == "on_delivery"


# Refusals in plain words


def test_a_second_order_for_the_same_meal_is_refused_in_plain_words(
    relative, elder, lunch, policy, db
):
    form = {
        "elder": elder.id,
        "option": lunch.options[0].id,
        "channel": "delivery",
        "payment": "on_delivery",
    }
    assert post_form(relative, "/order", form).status_code == 302
    response = post_form(relative, "/order", form)
    html = html_of(response)
    assert response.status_code == 409
    assert re.search(r'data-testid="refusal">这位老人这顿饭已经订过了。<', html)
    assert len(order_in_db(db, elder)) == 1


def test_a_short_balance_is_refused_in_plain_words(relative, elder, lunch, policy, db):
    form = {
        "elder": elder.id,
        "option": lunch.options[0].id,
        "channel": "dine_in",
        "payment": "balance",
    }
    html = html_of(post_form(relative, "/order", form))
    assert "饭卡余额不够。请先充值，或改为送餐时付款、到柜台付款。" in html
    assert order_in_db(db, elder) == []


def test_an_order_after_the_cutoff_is_refused_in_plain_words(
    relative, elder, canteen, tomorrow, policy, db
):
    closed = factories.create_menu(
        canteen, tomorrow, "dinner", order_cutoff=utcnow() - timedelta(minutes=1)
    )
    assert f"menu-{closed.id}" not in html_of(relative.get("/order"))
    path = f"/order/confirm?elder={elder.id}&option={closed.options[0].id}&channel=delivery"
    assert "这顿饭的订餐时间已过，不能再预订或取消了。" in html_of(relative.get(path))
    form = {"elder": elder.id, "option": closed.options[0].id, "channel": "delivery"}
    html = html_of(post_form(relative, "/order", form))
    assert "这顿饭的订餐时间已过，不能再预订或取消了。" in html


def test_a_full_meal_is_refused_in_plain_words(relative, district, elder, canteen, tomorrow, db):
    other = factories.create_elder(district, canteen.community)
    full = factories.create_menu(canteen, tomorrow, "dinner", seats=1)
    system_order(other, full, channel="dine_in")
    form = {"elder": elder.id, "option": full.options[0].id, "channel": "dine_in"}
    html = html_of(post_form(relative, "/order", form))
    assert "这顿饭已经订满了，请选别的餐点或别的时间。" in html


# History and cancel


def test_the_history_lists_orders_with_status_in_words_and_cancels_one(
    relative, elder, canteen, lunch, tomorrow, policy, db
):
    dinner = factories.create_menu(canteen, tomorrow, "dinner")
    kept = system_order(elder, lunch)
    dropped = system_order(elder, dinner, channel="dine_in")
    html = html_of(relative.get("/orders"))
    assert (
        f'data-testid="cancel-{kept.id}"' in html and f'data-testid="cancel-{dropped.id}"' in html
    )
    assert html.count(">已确认<") == 2

    response = post_form(relative, f"/orders/{dropped.id}/cancel", {}, page="/orders")
    assert (
        response.status_code == 302 and response.headers["Location"] == f"/orders?elder={elder.id}"
    )
    html = html_of(relative.get(response.headers["Location"]))
    assert "订单已取消。" in html
    assert html.count(">已确认<") == 1 and html.count(">已取消<") == 1
    assert f'data-testid="cancel-{dropped.id}"' not in html
    db.session.expire_all()
    assert db.session.get(Order, dropped.id).status == OrderStatus.CANCELLED


def test_cancelling_twice_says_the_order_is_closed(relative, elder, lunch, policy, db):
    placed = system_order(elder, lunch)
    post_form(relative, f"/orders/{placed.id}/cancel", {}, page="/orders")
    response = post_form(relative, f"/orders/{placed.id}/cancel", {"back": "order"}, page="/orders")
    assert response.headers["Location"] == f"/orders/{placed.id}"
    html = html_of(relative.get(response.headers["Location"]))
    assert "这个订单已经取消或已结束，不能再更改。" in html
    assert re.search(r'data-testid="order-status">已取消<', html)
    assert 'data-testid="cancel-order"' not in html


def test_an_order_past_its_cutoff_has_no_cancel_button(relative, elder, lunch, policy, db):
    placed = system_order(elder, lunch)
    lunch.order_cutoff = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert f'data-testid="cancel-{placed.id}"' not in html_of(relative.get("/orders"))
    post_form(relative, f"/orders/{placed.id}/cancel", {}, page="/orders")
    assert "这顿饭的订餐时间已过，不能再预订或取消了。" in html_of(relative.get("/orders"))


# Ratings


def test_a_meal_eaten_is_rated_once_from_the_history(relative, elder, canteen, policy, db):
    meal = factories.create_meal(canteen, elder)
    html = html_of(relative.get("/orders"))
    assert f'data-testid="rate-{meal.id}"' in html and "这顿饭怎么样？" in html
    response = post_form(
        relative, f"/meals/{meal.id}/rating", {"score": "2", "comment": "太咸了"}, page="/orders"
    )
    assert response.status_code == 302
    html = html_of(relative.get(response.headers["Location"]))
    assert "谢谢您的评价。" in html and "已评 2 分（满分5分）" in html and "太咸了" in html
    assert f'data-testid="rate-{meal.id}"' not in html
    post_form(relative, f"/meals/{meal.id}/rating", {"score": "5"}, page="/orders")
    assert "这顿饭已经评价过了。" in html_of(relative.get("/orders"))
    [rating] = db.session.scalars(select(Rating).where(Rating.meal_id == meal.id)).all()
    assert rating.score == 2


def test_a_rating_outside_1_to_5_is_refused(relative, elder, canteen, policy, db):
    meal = factories.create_meal(canteen, elder)
    post_form(relative, f"/meals/{meal.id}/rating", {"score": "9"}, page="/orders")
    assert "请选择1到5分。" in html_of(relative.get("/orders"))
    assert db.session.scalar(select(Rating).where(Rating.meal_id == meal.id)) is None


# Whose orders


def test_a_family_account_cannot_see_or_order_for_another_elder(
    relative, district, canteen, lunch, policy, db
):
    stranger = factories.create_elder(district, canteen.community, name="陌生老人")
    theirs = system_order(stranger, lunch)
    meal = factories.create_meal(canteen, stranger)
    option = lunch.options[0].id
    assert relative.get(f"/order?elder={stranger.id}").status_code == 404
    assert relative.get(f"/orders?elder={stranger.id}").status_code == 404
    assert (
        relative.get(f"/order/confirm?elder={stranger.id}&option={option}&channel=delivery")
    ).status_code == 404
    form = {"elder": stranger.id, "option": option, "channel": "delivery"}
    assert post_form(relative, "/order", form).status_code == 404
    assert relative.get(f"/orders/{theirs.id}").status_code == 404
    assert post_form(relative, f"/orders/{theirs.id}/cancel", {}).status_code == 404
    assert post_form(relative, f"/meals/{meal.id}/rating", {"score": "1"}).status_code == 404
    assert "陌生老人" not in html_of(relative.get("/orders"))
    db.session.expire_all()
    assert db.session.get(Order, theirs.id).status == OrderStatus.CONFIRMED
    assert len(order_in_db(db, stranger)) == 1
    assert db.session.scalar(select(Rating)) is None


def test_pages_need_a_login(client):
    response = client.get("/order")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# The manager's ratings


def rate(elder, meal, score, comment=None):
    db.session.add(
        Rating(
            meal_id=meal.id,
            elder_id=elder.id,
            canteen_id=meal.canteen_id,
            score=score,
            comment=comment,
            rated_by="test",
        )
    )
    db.session.commit()


def test_the_manager_sees_the_ratings_worst_first_with_the_average(
    app, db, district, canteen, policy
):
    for score, comment in ((4, "好吃"), (1, "菜凉了"), (5, None)):
        eater = factories.create_elder(district, canteen.community)
        rate(eater, factories.create_meal(canteen, eater), score, comment)
    manager = factories.create_user("manager", canteen=canteen, password=PASSWORD)
    html = html_of(logged_in(app, manager).get(f"/canteens/{canteen.id}/ratings"))
    assert "平均 3.3 分（满分5分），共 3 条评价" in html
    assert re.findall(r'data-testid="score">(\d)<', html) == ["1", "4", "5"]
    assert html.index("菜凉了") < html.index("好吃")


def test_ratings_are_the_managers_own_canteens_only(app, db, district, canteen):
    other = factories.create_canteen(district)
    manager = factories.create_user("manager", canteen=canteen, password=PASSWORD)
    client = logged_in(app, manager)
    assert "还没有评价。" in html_of(client.get(f"/canteens/{canteen.id}/ratings"))
    assert client.get(f"/canteens/{other.id}/ratings").status_code == 404
    cashier = factories.create_user("cashier", canteen=canteen, password=PASSWORD)
    assert logged_in(app, cashier).get(f"/canteens/{canteen.id}/ratings").status_code == 403


def test_the_menu_list_prices_a_menu_at_once_however_many_options_it_has(
    relative, canteen, lunch, policy, tomorrow, statements
):
    def statements_of_the_list() -> int:
        relative.get("/order")  # the workers' caches warm first
        statements.clear()
        assert relative.get("/order").status_code == 200
        return len(statements)

    one_menu = statements_of_the_list()
    options = [{"name": f"套餐{n}", "price_fen": 1500 + 100 * n} for n in range(6)]
    factories.create_menu(canteen, tomorrow, "dinner", options=options)
    # A second menu adds its own day's reads (the elder's tallies for its slot), not a
    # read for each of its six options each way, as a quote of its own each did.
    assert statements_of_the_list() - one_menu <= 3
