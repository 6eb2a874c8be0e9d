"""Prepaid meal balances: top-ups at the counter, meals paid from them, refunds on a void,
the history relatives read, and a balance that never goes below zero."""

import json
from datetime import timedelta

import pytest
from flask import Response
from sqlalchemy import select, update

from mealservice.balances import services
from mealservice.balances.models import Balance, BalanceMovement
from mealservice.balances.services import balance_of
from mealservice.core import idempotency
from mealservice.core.clock import utcnow
from mealservice.core.idempotency import request_fingerprint
from mealservice.elders.cards import payload_of, revoke_card
from mealservice.meals.models import Meal
from tests import factories
from tests.conftest import travelling_to
from tests.core.test_errors import assert_error
from tests.meals.test_scans import recent_local, scan


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def lunch(canteen, district):
    return factories.create_menu(canteen, district.local_today(), "lunch", seats=50)


@pytest.fixture
def card(elder):
    return factories.create_card(elder)


@pytest.fixture
def cashier(login_as):
    return login_as("cashier")


def top_up(client, canteen, amount_fen, method="cash", **fields):
    body = {"amount_fen": amount_fen, "method": method, **fields}
    return client.post(f"/api/v1/canteens/{canteen.id}/top-ups", json=body)


def movements(db, elder) -> list[tuple[str, int, int]]:
    rows = db.session.scalars(
        select(BalanceMovement).where(BalanceMovement.elder_id == elder.id).order_by("id")
    )
    return [(m.kind, m.amount_fen, m.balance_after_fen) for m in rows]


def test_a_top_up_by_card_adds_to_the_balance_and_keeps_the_movement(
    db, cashier, canteen, elder, card
):
    response = top_up(cashier, canteen, 5000, qr_payload=payload_of(card))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["amount_fen"], body["balance_after_fen"], body["kind"]) == (5000, 5000, "top_up")
    assert (body["elder"], body["method"], body["canteen_id"]) == (
        {"id": elder.id, "name": elder.name},
        "cash",
        canteen.id,
    )
    assert body["recorded_by"] == cashier.user.username
    assert top_up(cashier, canteen, 2000, elder_id=elder.id).get_json()["balance_after_fen"] == 7000
    assert balance_of(elder.id) == 7000
    assert movements(db, elder) == [("top_up", 5000, 5000), ("top_up", 2000, 7000)]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": 100_001}, "amount_fen"),
        ({"amount_fen": 12.5}, "amount_fen"),
        ({"method": "balance"}, "method"),
        ({"method": "e_payment"}, "reference"),
        ({"elder_id": None}, "elder_id"),
    ],
)
def test_a_bad_top_up_names_the_field_and_changes_nothing(
    db, cashier, canteen, elder, fields, field
):
    body = {"elder_id": elder.id, "amount_fen": 1000, "method": "cash", **fields}
    response = cashier.post(f"/api/v1/canteens/{canteen.id}/top-ups", json=body)
    assert_error(response, 422, "validation_error")
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(Balance).where(Balance.elder_id == elder.id)) is None


def test_an_e_payment_top_up_keeps_its_reference(cashier, canteen, elder):
    body = top_up(cashier, canteen, 3000, "e_payment", elder_id=elder.id, reference="WX4200001")
    assert (body.get_json()["method"], body.get_json()["reference"]) == ("e_payment", "WX4200001")


def test_a_revoked_card_tops_up_nothing(db, cashier, canteen, elder, card):
    revoke_card(card, "lost")
    db.session.commit()
    assert_error(top_up(cashier, canteen, 1000, qr_payload=payload_of(card)), 409, "card_revoked")
    assert balance_of(elder.id) == 0


def test_an_elder_of_another_district_is_not_topped_up_here(cashier, canteen):
    other = factories.create_elder(factories.create_district(code="330105"))
    response = top_up(cashier, canteen, 1000, elder_id=other.id)
    assert_error(response, 422, "validation_error")
    assert "elder_id" in response.get_json()["error"]["fields"]


def test_a_meal_paid_from_the_balance_takes_what_the_elder_pays(
    db, cashier, canteen, elder, card, lunch, policy
):
    top_up(cashier, canteen, 2000, elder_id=elder.id)
    response = scan(cashier, canteen, card, payment={"method": "balance"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["payment_method"], body["to_collect_fen"]) == ("balance", 1300)
    assert body["balance_after_fen"] == 700
    assert balance_of(elder.id) == 700
    assert movements(db, elder)[-1] == ("meal", -1300, 700)
    paid = db.session.scalar(select(BalanceMovement).where(BalanceMovement.kind == "meal"))
    assert paid.meal_id == body["meal_id"]


def test_a_short_balance_refuses_the_meal_in_plain_words_and_takes_nothing(
    db, cashier, canteen, elder, card, lunch, policy
):
    top_up(cashier, canteen, 1000, elder_id=elder.id)
    response = scan(cashier, canteen, card, payment={"method": "balance"})
    assert_error(response, 409, "insufficient_balance")
    error = response.get_json()["error"]
    assert error["detail"] == {
        "elder_id": elder.id,
        "elder_name": elder.name,
        "balance_fen": 1000,
        "needed_fen": 1300,
    }
    assert "¥10.00" in error["message"] and "¥13.00" in error["message"]
    assert balance_of(elder.id) == 1000
    assert db.session.scalar(select(Meal.id)) is None
    db.session.refresh(lunch)
    assert lunch.seats_used == 0
    # The seat and the slot were given back: paying cash now works.
    assert scan(cashier, canteen, card).status_code == 201


def test_an_elder_without_a_balance_is_refused_when_paying_from_it(
    cashier, canteen, card, lunch, policy
):
    assert_error(
        scan(cashier, canteen, card, payment={"method": "balance"}), 409, "insufficient_balance"
    )


def test_a_free_meal_takes_nothing_from_the_balance(
    db, district, cashier, canteen, elder, card, lunch
):
    factories.create_policy(
        district,
        tiers=[{"name": "全免", "min_age": 60, "channel": "any", "amount_fen": 1800}],
    )
    body = scan(cashier, canteen, card, payment={"method": "balance"}).get_json()
    assert (body["elder_pays_fen"], body["payment_method"], body["balance_after_fen"]) == (
        0,
        None,
        None,
    )
    assert movements(db, elder) == []


def test_an_offline_scan_with_a_short_balance_is_a_conflict_at_full_price(
    db, cashier, canteen, elder, card, lunch, policy
):
    top_up(cashier, canteen, 500, elder_id=elder.id)
    scanned_at = recent_local(12)
    if scanned_at.date() != lunch.date:
        factories.create_menu(canteen, scanned_at.date(), "lunch")
    response = scan(
        cashier, canteen, card, payment={"method": "balance"}, scanned_at=scanned_at.isoformat()
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["conflict"] == "insufficient_balance"
    assert (body["subsidy_fen"], body["to_collect_fen"], body["payment_method"]) == (
        0,
        1800,
        "cash",
    )
    assert balance_of(elder.id) == 500


def test_voiding_a_meal_paid_from_the_balance_refunds_it(
    db, login_as, cashier, canteen, elder, card, lunch, policy
):
    top_up(cashier, canteen, 2000, elder_id=elder.id)
    meal_id = scan(cashier, canteen, card, payment={"method": "balance"}).get_json()["meal_id"]
    manager = login_as("manager")
    assert (
        manager.post(f"/api/v1/meals/{meal_id}/void", json={"reason": "扫错了"}).status_code == 200
    )
    assert balance_of(elder.id) == 2000
    assert movements(db, elder)[-1] == ("refund", 1300, 2000)
    # Voiding again refunds nothing twice.
    assert_error(
        manager.post(f"/api/v1/meals/{meal_id}/void", json={"reason": "again"}),
        409,
        "already_voided",
    )
    assert balance_of(elder.id) == 2000


def test_the_database_refuses_a_negative_balance(db, cashier, canteen, elder):
    from sqlalchemy.exc import IntegrityError

    top_up(cashier, canteen, 100, elder_id=elder.id)
    with pytest.raises(IntegrityError):
        db.session.execute(update(Balance).values(balance_fen=-1))
        db.session.flush()
    db.session.rollback()


def test_relatives_read_the_balance_and_its_history(
    login_as, cashier, canteen, elder, card, lunch, policy
):
    top_up(cashier, canteen, 2000, elder_id=elder.id)
    scan(cashier, canteen, card, payment={"method": "balance"})
    body = login_as("family").get(f"/api/v1/elders/{elder.id}/balance").get_json()
    assert body["balance_fen"] == 700
    assert [(m["kind"], m["amount_fen"]) for m in body["movements"]] == [
        ("meal", -1300),
        ("top_up", 2000),
    ]
    assert body["movements"][0]["canteen_name"] == canteen.name


def test_family_cannot_read_another_elders_balance(login_as, district, canteen):
    stranger = factories.create_elder(district, canteen.community)
    assert_error(login_as("family").get(f"/api/v1/elders/{stranger.id}/balance"), 404, "not_found")


def test_a_repeated_top_up_with_its_key_is_taken_once(cashier, canteen, elder):
    headers = {"Idempotency-Key": "top-up-1"}
    body = {"elder_id": elder.id, "amount_fen": 1000, "method": "cash"}
    url = f"/api/v1/canteens/{canteen.id}/top-ups"
    first = cashier.post(url, json=body, headers=headers)
    second = cashier.post(url, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert balance_of(elder.id) == 1000


def test_a_key_taken_over_from_a_request_held_past_the_window_moves_money_once(
    app, db, cashier, canteen, elder
):
    """A top-up held on a locked row longer than STALE_AFTER loses its key to a repeat;
    when it finally tries to finish, its claim is no longer its own and its work is undone."""
    body = {"elder_id": elder.id, "amount_fen": 10_000, "method": "cash"}
    url = f"/api/v1/canteens/{canteen.id}/top-ups"
    key = "top-up-held"
    fingerprint = request_fingerprint(url, json.dumps(body).encode())
    with app.test_request_context(url, method="POST"):
        held = idempotency._claim(cashier.user.id, key, fingerprint)
        held_since = utcnow()
    later = (held_since + idempotency.STALE_AFTER + timedelta(seconds=1)).isoformat()
    with travelling_to(later):
        repeat = cashier.post(url, json=body, headers={"Idempotency-Key": key})
    assert repeat.status_code == 201
    assert balance_of(elder.id) == 10_000
    # The held request finishes its top-up now, and tries to keep its answer.
    with app.test_request_context(url, method="POST"):
        services.top_up(cashier.user, canteen, elder, 10_000, "cash")
        assert not idempotency._store(held, Response("{}", status=201))
        db.session.rollback()
    assert balance_of(elder.id) == 10_000
    again = cashier.post(url, json=body, headers={"Idempotency-Key": key})
    assert again.get_json() == repeat.get_json()
