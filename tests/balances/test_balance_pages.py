"""The relatives' page: each linked elder's meal balance and what moved it."""

from mealservice.balances.services import top_up
from mealservice.meals.orders import cancel_order
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
    client.get("/lang/en")

    page = client.get("/balances").get_data(as_text=True)

    assert f"An order at {canteen.name} paid ahead, before its day" in page
    assert f"Refund of a cancelled order at {canteen.name}" in page
    assert f"Meal at {canteen.name}" not in page and "cancelled meal" not in page
