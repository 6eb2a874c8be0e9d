"""The relatives' page: each linked elder's meal balance and what moved it."""

from datetime import date

import pytest
from sqlalchemy import select

from mealservice.balances.history import Outcome, Purchase, purchases_of
from mealservice.balances.models import BalanceMovement
from mealservice.balances.pages import movement_words
from mealservice.balances.services import top_up
from mealservice.meals.models import Meal, OrderStatus
from mealservice.meals.orders import cancel_order
from mealservice.meals.services import void_meal
from mealservice.places.models import Canteen
from tests import factories
from tests.core.test_pages import log_in
from tests.meals.test_scans import scan


def test_relatives_see_each_elders_balance_and_its_history(
    db, app, district, canteen, elder, login_as
):
    factories.create_policy(district)
    factories.create_menu(canteen, district.local_today(), "lunch")
    cashier = login_as("cashier")
    top_up(cashier.user, canteen, elder, 5000, "cash")
    db.session.commit()
    scan(cashier, canteen, factories.create_card(elder), payment={"method": "balance"})
    family = factories.create_user("family", elders=[elder], password="family-pass-42")
    client = app.test_client()
    log_in(client, family.username, "family-pass-42")

    page = client.get("/balances").get_data(as_text=True)

    assert elder.name in page
    assert "¥37.00" in page  # 50 yuan in, a 13-yuan meal out
    assert "+¥50.00" in page and "-¥13.00" in page
    assert canteen.name in page


def test_a_family_account_sees_only_its_own_elders(db, app, district, canteen, elder):
    stranger = factories.create_elder(district, canteen.community, name="陌生人")
    family = factories.create_user("family", elders=[elder], password="family-pass-42")
    client = app.test_client()
    log_in(client, family.username, "family-pass-42")
    page = client.get("/balances").get_data(as_text=True)
    assert elder.name in page and "陌生人" not in page
    assert client.get(f"/balances?elder={stranger.id}").status_code == 200
    assert "陌生人" not in client.get(f"/balances?elder={stranger.id}").get_data(as_text=True)


def test_staff_open_one_elders_balance_and_cashiers_may_not(db, app, canteen, elder, login_as):
    manager = factories.create_user("manager", canteen=canteen, password="manager-pass-42")
    cashier = factories.create_user("cashier", canteen=canteen, password="cashier-pass-42")
    client = app.test_client()
    log_in(client, manager.username, "manager-pass-42")
    assert elder.name in client.get(f"/balances?elder={elder.id}").get_data(as_text=True)
    assert client.get("/balances?elder=x").status_code == 404
    other = app.test_client()
    log_in(other, cashier.username, "cashier-pass-42")
    assert other.get(f"/balances?elder={elder.id}").status_code == 403


def test_an_order_paid_ahead_and_its_cancellation_are_named_as_such(
    db, app, district, canteen, elder, login_as
):
    factories.create_policy(district)
    top_up(login_as("cashier").user, canteen, elder, 5000, "cash")
    order = factories.create_order(canteen, elder, payment={"method": "balance"})
    cancel_order(None, order)
    db.session.commit()
    family = factories.create_user("family", elders=[elder], password="family-pass-42")
    client = app.test_client()
    log_in(client, family.username, "family-pass-42")

    page = client.get("/balances").get_data(as_text=True)
    assert f"预订 11月26日 午餐（{canteen.name}）" in page
    assert f"取消预订 11月26日 午餐（{canteen.name}），餐费退回" in page
    assert "就餐" not in page

    client.get("/lang/en")
    page = client.get("/balances").get_data(as_text=True)
    assert f"Ordered Nov 26 Lunch ({canteen.name}), paid ahead" in page
    assert f"Refund of the cancelled order for Nov 26 Lunch ({canteen.name})" in page
    assert "Ate " not in page and "voided" not in page


def test_a_meal_scanned_at_the_counter_reads_as_eaten_and_its_void_as_a_voided_meal(
    db, app, district, canteen, elder, login_as
):
    factories.create_policy(district)
    factories.create_menu(canteen, district.local_today(), "lunch")
    cashier = login_as("cashier")
    top_up(cashier.user, canteen, elder, 5000, "cash")
    db.session.commit()
    scan(cashier, canteen, factories.create_card(elder), payment={"method": "balance"})
    meal = db.session.scalar(select(Meal).where(Meal.elder_id == elder.id))
    manager = factories.create_user("manager", canteen=canteen, password="manager-pass-42")
    void_meal(manager, meal, "扫错了人")
    db.session.commit()
    family = factories.create_user("family", elders=[elder], password="family-pass-42")
    client = app.test_client()
    log_in(client, family.username, "family-pass-42")

    page = client.get("/balances").get_data(as_text=True)
    assert f"11月25日 午餐 在{canteen.name}就餐（后已撤销）" in page
    assert f"撤销 11月25日 午餐 在{canteen.name}的就餐，餐费退回" in page
    assert "预订" not in page


@pytest.mark.parametrize(
    "status, outcome",
    [
        (OrderStatus.CONFIRMED, Outcome.AHEAD),
        (OrderStatus.DISPATCHED, Outcome.AHEAD),
        (OrderStatus.CONSUMED, Outcome.EATEN),
        (OrderStatus.DELIVERED, Outcome.DELIVERED),
        (OrderStatus.CANCELLED, Outcome.CANCELLED),
        (OrderStatus.NO_SHOW, Outcome.NOT_TAKEN_UP),
        (OrderStatus.FAILED, Outcome.NOT_DELIVERED),
    ],
)
def test_the_history_learns_each_orders_day_slot_and_fate(
    db, district, canteen, elder, login_as, status, outcome
):
    factories.create_policy(district)
    top_up(login_as("cashier").user, canteen, elder, 5000, "cash")
    order = factories.create_order(canteen, elder, payment={"method": "balance"})
    order.status = status
    db.session.flush()
    movements = list(
        db.session.scalars(select(BalanceMovement).where(BalanceMovement.elder_id == elder.id))
    )
    paid = next(m for m in movements if m.order_id == order.id)

    purchases = purchases_of(movements)

    assert purchases == {paid.id: Purchase(True, order.date, "lunch", outcome)}


DAY = date(2026, 12, 8)


@pytest.mark.parametrize(
    "kind, is_order, outcome, words",
    [
        ("top_up", None, None, "在北山街道老年食堂充值"),
        ("payout", None, None, "在北山街道老年食堂退还家属"),
        ("meal", False, Outcome.EATEN, "12月8日 午餐 在北山街道老年食堂就餐"),
        ("meal", False, Outcome.VOIDED, "12月8日 午餐 在北山街道老年食堂就餐（后已撤销）"),
        ("meal", True, Outcome.AHEAD, "预订 12月8日 午餐（北山街道老年食堂）"),
        ("meal", True, Outcome.CANCELLED, "预订 12月8日 午餐（北山街道老年食堂）"),
        ("meal", True, Outcome.EATEN, "12月8日 午餐 在北山街道老年食堂就餐（预订时已付）"),
        ("meal", True, Outcome.DELIVERED, "12月8日 午餐 由北山街道老年食堂送达（预订时已付）"),
        ("refund", False, Outcome.VOIDED, "撤销 12月8日 午餐 在北山街道老年食堂的就餐，餐费退回"),
        ("refund", True, Outcome.CANCELLED, "取消预订 12月8日 午餐（北山街道老年食堂），餐费退回"),
        (
            "refund",
            True,
            Outcome.NOT_TAKEN_UP,
            "预订 12月8日 午餐（北山街道老年食堂）未到场，餐费退回",
        ),
        ("refund", True, Outcome.NOT_DELIVERED, "12月8日 午餐（北山街道老年食堂）未送达，餐费退回"),
        # Delivered after a failed first try: the refund was the failure's.
        ("refund", True, Outcome.DELIVERED, "12月8日 午餐（北山街道老年食堂）未送达，餐费退回"),
        ("meal", None, None, "在北山街道老年食堂就餐"),
        ("refund", None, None, "在北山街道老年食堂退款"),
    ],
)
def test_each_entry_of_the_history_is_worded_from_what_it_paid_for(
    app, kind, is_order, outcome, words
):
    movement = BalanceMovement(kind=kind, canteen=Canteen(name="北山街道老年食堂"))
    purchase = None if is_order is None else Purchase(is_order, DAY, "lunch", outcome)
    with app.test_request_context():
        assert movement_words(movement, purchase) == words
