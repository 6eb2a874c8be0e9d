"""A deceased elder's balance is owed to the family: shown to them, listed for the
counter, paid out there once and whole, and counted out of the till."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from mealservice.balances import services
from mealservice.balances.models import BalanceMovement
from mealservice.balances.services import balance_of, top_up
from mealservice.core.errors import Conflict
from mealservice.counter.services import shift_report
from mealservice.elders.cards import payload_of
from mealservice.elders.services import elders_query, update_elder
from tests import factories
from tests.core.test_errors import assert_error
from tests.core.test_pages import log_in, page_token

CASHIER = SimpleNamespace(username="cashier-1", role="cashier")


@pytest.fixture
def deceased(db, canteen, elder):
    """The elder passed away today with ¥86.50 left on the balance; the card is kept."""
    top_up(CASHIER, canteen, elder, 8650, "cash")
    elder.card = factories.create_card(elder)
    update_elder(elder, {"status": "deceased", "status_since": canteen.district.local_today()})
    db.session.commit()
    return elder


def test_the_whole_balance_is_paid_out_once(db, canteen, deceased):
    movement = services.pay_out(CASHIER, canteen, deceased, "cash")
    assert (movement.kind, movement.amount_fen, movement.balance_after_fen) == ("payout", -8650, 0)
    assert (movement.method, movement.canteen_id) == ("cash", canteen.id)
    assert balance_of(deceased.id) == 0
    with pytest.raises(Conflict) as again:
        services.pay_out(CASHIER, canteen, deceased, "cash")
    assert again.value.code == "nothing_owed"


def test_a_living_elders_balance_is_not_paid_out(db, canteen, elder):
    top_up(CASHIER, canteen, elder, 1000, "cash")
    with pytest.raises(Conflict) as refused:
        services.pay_out(CASHIER, canteen, elder, "cash")
    assert refused.value.code == "elder_not_deceased"
    assert balance_of(elder.id) == 1000


def test_what_is_owed_is_listed_until_paid_out(db, canteen, deceased, district):
    moved = factories.create_elder(district, canteen.community)
    top_up(CASHIER, canteen, moved, 500, "cash")
    update_elder(moved, {"status": "moved", "status_since": district.local_today()})
    manager = factories.create_user("manager", canteen=canteen)
    owed = services.owed_to_families(elders_query(manager))
    assert [(elder.id, fen) for elder, fen in owed] == [(deceased.id, 8650)]
    assert services.owed_to_family(deceased) == 8650 and services.owed_to_family(moved) == 0
    services.pay_out(CASHIER, canteen, deceased, "cash")
    assert services.owed_to_families(elders_query(manager)) == []


def test_a_counter_pays_out_by_card_through_the_api(db, login_as, canteen, deceased):
    card = deceased.card
    cashier = login_as("cashier")
    url = f"/api/v1/canteens/{canteen.id}/payouts"
    no_reference = cashier.post(url, json={"qr_payload": payload_of(card), "method": "e_payment"})
    assert_error(no_reference, 422, "validation_error")
    assert "reference" in no_reference.get_json()["error"]["fields"]
    response = cashier.post(url, json={"qr_payload": payload_of(card), "method": "cash"})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["kind"], body["amount_fen"], body["elder"]["id"]) == ("payout", -8650, deceased.id)
    assert_error(cashier.post(url, json={"elder_id": deceased.id, "method": "cash"}), 409,
                 "nothing_owed")  # fmt: skip


def test_a_payout_leaves_the_till_and_shows_in_the_shift_report(db, canteen, deceased):
    services.pay_out(CASHIER, canteen, deceased, "cash")
    report = shift_report(CASHIER, canteen, canteen.district.local_today())
    assert report["top_ups"] == {"count": 1, "cash": 8650, "e_payment": 0}
    assert report["payouts"] == {"count": 1, "cash": 8650, "e_payment": 0}
    assert report["till"]["cash"] == 0


def test_the_family_is_told_what_is_owed_and_a_manager_pays_it_out_on_the_page(
    db, app, canteen, deceased
):
    family = factories.create_user("family", elders=[deceased], password="family-pass-42")
    relative = app.test_client()
    log_in(relative, family.username, "family-pass-42")
    page = relative.get("/balances").get_data(as_text=True)
    assert 'data-testid="owed-notice"' in page and "¥86.50" in page
    assert "payout-form" not in page  # a relative collects it; only a counter pays

    manager = factories.create_user("manager", canteen=canteen, password="manager-pass-42")
    staff = app.test_client()
    log_in(staff, manager.username, "manager-pass-42")
    listed = staff.get("/balances").get_data(as_text=True)
    assert 'data-testid="owed-list"' in listed and deceased.name in listed
    url = f"/balances/{deceased.id}/payout"
    refused = staff.post(
        url, data={"method": "e_payment", "csrf_token": page_token(staff)}, follow_redirects=True
    )
    assert "电子支付流水号" in refused.get_data(as_text=True)
    assert balance_of(deceased.id) == 8650
    paid = staff.post(
        url, data={"method": "cash", "csrf_token": page_token(staff)}, follow_redirects=True
    )
    assert "已向" in paid.get_data(as_text=True) and balance_of(deceased.id) == 0
    history = relative.get("/balances").get_data(as_text=True)
    assert "退还家属" in history and 'data-testid="owed-notice"' not in history
    assert 'data-testid="owed-none"' in staff.get("/balances").get_data(as_text=True)
    kinds = db.session.scalars(
        select(BalanceMovement.kind).where(BalanceMovement.elder_id == deceased.id)
    )
    assert list(kinds) == ["top_up", "payout"]
