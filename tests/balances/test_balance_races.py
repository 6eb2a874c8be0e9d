"""Scans paid from one balance racing through the real server: the balance pays for as
many meals as it holds and never goes below zero, on SQLite and PostgreSQL."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from mealservice.balances.models import Balance, BalanceMovement
from mealservice.balances.services import top_up
from mealservice.elders.cards import payload_of
from tests import factories
from tests.meals.test_scan_races import scan_all_at_once
from tests.test_concurrency import live_token

pytestmark = pytest.mark.live


def test_ten_scans_against_a_balance_for_three_meals_take_three(committed, live_server):
    district = factories.create_district()
    canteen = factories.create_canteen(district)
    # Ten meals a slot are allowed, so only the balance stands between them.
    factories.create_policy(district, max_meals_per_slot=10)
    factories.create_menu(canteen, district.local_today(), "lunch", seats=50)
    factories.create_user("cashier", canteen=canteen, username="till-cashier", password="rice-42-x")
    elder = factories.create_elder(district)
    payload = payload_of(factories.create_card(elder))
    # Three meals at 13 yuan each and 5 yuan over.
    top_up(factories.create_user("manager", canteen=canteen), canteen, elder, 4400, "cash")
    canteen_id, elder_id = canteen.id, elder.id
    # Committed before the server is called: on SQLite an open transaction here would hold
    # the write lock the server waits for.
    committed.session.commit()
    counter = {
        "canteen_id": canteen_id,
        "token": live_token(live_server, "till-cashier", "rice-42-x"),
    }

    results = scan_all_at_once(live_server, counter, [payload] * 10, payment={"method": "balance"})

    statuses = Counter((status, body.get("error", {}).get("code")) for status, body in results)
    assert statuses == {(201, None): 3, (409, "insufficient_balance"): 7}, live_server.server_log()[
        -3000:
    ]
    committed.session.expire_all()
    assert committed.session.get(Balance, elder_id).balance_fen == 500
    paid = committed.session.scalar(
        select(func.sum(BalanceMovement.amount_fen)).where(BalanceMovement.kind == "meal")
    )
    assert paid == -3900
    # Ends this read, so the live server's teardown can empty the tables on SQLite.
    committed.session.rollback()
