"""Cards and terminals raced through the real server (gunicorn, two processes with
threads): ten issues for one elder take turns and make ten generations, two revokes of one
card or one terminal give one 200 and one 409 keeping the first's reason, never a 500, on
SQLite and PostgreSQL."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from mealservice.counter.models import Terminal
from mealservice.elders.models import Card
from tests import factories
from tests.test_concurrency import call, live_token

pytestmark = pytest.mark.live


def all_at_once(live_server, token, requests: list[tuple[str, str, dict | None]]):
    """Every request waits at a barrier so they reach the server together."""
    start = threading.Barrier(len(requests))

    def one(request):
        start.wait()
        return call(live_server.url, *request, token)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, requests))


def test_cards_and_terminals_raced_give_one_winner_and_409s(live_server, committed):
    district = factories.create_district()
    canteen = factories.create_canteen(district)
    elder = factories.create_elder(district)
    lost = factories.create_card(factories.create_elder(district))
    terminal = factories.create_terminal(canteen)
    factories.create_user("manager", canteen=canteen, username="race-manager", password="rice-42-x")
    elder_id, lost_id, terminal_id = elder.id, lost.id, terminal.id
    committed.session.commit()
    token = live_token(live_server, "race-manager", "rice-42-x")

    issued = all_at_once(
        live_server, token, [("POST", f"/api/v1/elders/{elder_id}/cards", None)] * 10
    )
    revoked = all_at_once(
        live_server,
        token,
        [("POST", f"/api/v1/cards/{lost_id}/revoke", {"reason": f"reason {n}"}) for n in (1, 2)]
        + [("POST", f"/api/v1/terminals/{terminal_id}/revoke", None)] * 2,
    )

    log = live_server.server_log()[-3000:]
    assert set(Counter(status for status, _ in issued)) <= {201, 409}, log
    made = [body["version"] for status, body in issued if status == 201]
    committed.session.expire_all()
    generations = committed.session.scalars(
        select(Card.generation).where(Card.elder_id == elder_id).order_by(Card.generation)
    ).all()
    assert sorted(made) == generations == list(range(1, len(made) + 1)), log

    cards, terminals = revoked[:2], revoked[2:]
    assert sorted(status for status, _ in cards) == [200, 409], log
    winner = next(body for status, body in cards if status == 200)
    loser = next(body for status, body in cards if status == 409)
    assert loser["error"]["code"] == "card_revoked"
    assert loser["error"]["detail"]["reason"] == winner["revoke_reason"]
    assert committed.session.get(Card, lost_id).revoke_reason == winner["revoke_reason"]
    assert sorted(status for status, _ in terminals) == [200, 409], log
    assert [body["error"]["code"] for status, body in terminals if status == 409] == [
        "terminal_revoked"
    ]
    assert committed.session.get(Terminal, terminal_id).revoked_by == "race-manager"
    # Ends this read, so the live server's teardown can empty the tables on SQLite.
    committed.session.rollback()
