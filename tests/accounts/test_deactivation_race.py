"""Deactivations at once through the real server (two processes with threads each): one
winner, the others a 409, never a 500; likewise reactivations."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from mealservice.accounts.models import User
from tests import factories
from tests.test_concurrency import call, live_token

pytestmark = pytest.mark.live


def test_of_many_deactivations_at_once_one_wins_and_the_others_get_a_409(live_server, committed):
    factories.create_user("admin", username="race-admin", password="green-tea-42")
    target = factories.create_user("admin", username="race-leaver").id
    committed.session.commit()
    token = live_token(live_server, "race-admin", "green-tea-42")

    def at_once(action: str) -> Counter:
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(
                pool.map(
                    lambda _n: call(
                        live_server.url, "POST", f"/api/v1/users/{target}/{action}", token=token
                    ),
                    range(10),
                )
            )
        return Counter((status, body.get("error", {}).get("code")) for status, body in answers)

    assert at_once("deactivate") == {(200, None): 1, (409, "already_deactivated"): 9}, (
        live_server.server_log()[-3000:]
    )
    assert at_once("reactivate") == {(200, None): 1, (409, "already_active"): 9}
    committed.session.expire_all()
    assert committed.session.scalar(select(User.active).where(User.id == target))
