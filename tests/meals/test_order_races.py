"""Bookings and walk-in scans racing through the real server for the last seats: exactly
the seats are used, on SQLite and PostgreSQL."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from mealservice.elders.cards import payload_of
from mealservice.meals.models import Meal, Order
from mealservice.menus.models import Menu
from tests import factories
from tests.test_concurrency import call, live_token

pytestmark = pytest.mark.live

SEATS = 5


def test_bookings_and_walk_ins_racing_for_five_seats_use_exactly_five(committed, live_server):
    # Lunch all day, so ordering is open and the counter serves whatever the hour.
    district = factories.create_district()
    district.slot_windows = {"lunch": ["00:00", "23:59"]}
    canteen = factories.create_canteen(district)
    factories.create_policy(district)
    menu = factories.create_menu(canteen, district.local_today(), "lunch", seats=SEATS)
    bookers = [factories.create_elder(district) for _ in range(8)]
    walkers = [factories.create_elder(district) for _ in range(8)]
    factories.create_user("family", elders=bookers, username="race-family", password="rice-42-x")
    factories.create_user("cashier", canteen=canteen, username="race-till", password="rice-42-x")
    bookings = [
        ("POST", "/api/v1/orders", {"elder_id": elder.id, "menu_id": menu.id,
         "option_id": menu.options[0].id, "channel": "dine_in"}, "family")
        for elder in bookers
    ]  # fmt: skip
    scans = [
        ("POST", f"/api/v1/canteens/{canteen.id}/scans",
         {"qr_payload": payload_of(factories.create_card(elder)), "slot": "lunch"}, "cashier")
        for elder in walkers
    ]  # fmt: skip
    menu_id = menu.id
    committed.session.commit()
    tokens = {
        "family": live_token(live_server, "race-family", "rice-42-x"),
        "cashier": live_token(live_server, "race-till", "rice-42-x"),
    }
    start = threading.Barrier(len(bookings) + len(scans))

    def one(request):
        method, path, body, who = request
        start.wait()
        return call(live_server.url, method, path, body, tokens[who])

    with ThreadPoolExecutor(max_workers=len(bookings) + len(scans)) as pool:
        results = list(pool.map(one, bookings + scans))

    codes = Counter((status, body.get("error", {}).get("code")) for status, body in results)
    assert codes == {(201, None): SEATS, (409, "capacity_full"): 16 - SEATS}, (
        live_server.server_log()[-3000:]
    )
    session = committed.session
    session.expire_all()
    assert session.get(Menu, menu_id).seats_used == SEATS
    booked = session.scalar(select(func.count()).select_from(Order).where(Order.menu_id == menu_id))
    served = session.scalar(select(func.count()).select_from(Meal).where(Meal.menu_id == menu_id))
    assert booked + served == SEATS
    # Ends this read, so the live server's teardown can empty the tables on SQLite.
    session.rollback()
