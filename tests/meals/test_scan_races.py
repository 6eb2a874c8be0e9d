"""Scans racing through the real server (gunicorn, two processes with threads): the slot
limit and the seats hold because the database holds them, on SQLite and PostgreSQL."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from mealservice.elders.cards import payload_of
from mealservice.meals.models import Meal
from mealservice.menus.models import Menu
from tests import factories
from tests.test_concurrency import call, live_token

pytestmark = pytest.mark.live


@pytest.fixture
def counter(committed, live_server):
    """A canteen with a 50-seat lunch today, the district's policy and a cashier."""
    district = factories.create_district()
    canteen = factories.create_canteen(district)
    factories.create_policy(district)
    menu = factories.create_menu(canteen, district.local_today(), "lunch", seats=50)
    factories.create_user("cashier", canteen=canteen, username="race-cashier", password="rice-42-x")
    setup = {"district": district, "canteen_id": canteen.id, "menu_id": menu.id}
    committed.session.commit()
    return {**setup, "token": live_token(live_server, "race-cashier", "rice-42-x")}


def scan_all_at_once(live_server, counter, payloads: list[str], **fields) -> list[tuple[int, dict]]:
    """Every scan waits at a barrier so they reach the server together."""
    start = threading.Barrier(len(payloads))
    path = f"/api/v1/canteens/{counter['canteen_id']}/scans"

    def one(payload):
        start.wait()
        return call(
            live_server.url,
            "POST",
            path,
            {"qr_payload": payload, "slot": "lunch", **fields},
            counter["token"],
        )

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(one, payloads))


def test_twenty_scans_of_one_card_make_one_meal(live_server, counter, committed):
    elder = factories.create_elder(counter["district"])
    payload = payload_of(factories.create_card(elder))
    committed.session.commit()

    results = scan_all_at_once(live_server, counter, [payload] * 20)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: 19}, live_server.server_log()[-3000:]
    assert {body["error"]["code"] for status, body in results if status == 409} == {
        "already_served"
    }
    session = committed.session
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Meal)) == 1
    assert session.get(Menu, counter["menu_id"]).seats_used == 1


def test_sixty_elders_fill_fifty_seats_exactly(live_server, counter, committed):
    elders = [factories.create_elder(counter["district"]) for _ in range(60)]
    payloads = [payload_of(factories.create_card(elder)) for elder in elders]
    committed.session.commit()

    results = scan_all_at_once(live_server, counter, payloads)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 50, 409: 10}, live_server.server_log()[-3000:]
    assert {body["error"]["code"] for status, body in results if status == 409} == {"capacity_full"}
    session = committed.session
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Meal)) == 50
    assert session.get(Menu, counter["menu_id"]).seats_used == 50
