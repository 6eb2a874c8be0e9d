"""Many writes at once through the real server (gunicorn, two processes with threads each)
on a committed database: SQLite must queue writers, PostgreSQL must sort out the races,
and no caller may ever see a 500."""

import json
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from mealservice.accounts.models import User
from mealservice.places.models import Canteen, Community
from tests import factories

pytestmark = pytest.mark.live


def call(base_url: str, method: str, path: str, body=None, token=None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def live_token(live_server, username: str, password: str) -> str:
    """A bearer token from the live server, for a user committed beforehand."""
    status, body = call(
        live_server.url, "POST", "/api/v1/auth/token", {"username": username, "password": password}
    )
    assert status == 200, body
    return body["token"]


@pytest.fixture
def seeded(committed, live_server):
    district = factories.create_district()
    community = factories.create_community(district)
    factories.create_user("admin", username="race-admin", password="green-tea-42")
    codes = {"district": district.code, "community": community.code}
    # Reading after a commit opened a transaction; on SQLite it holds the write lock.
    committed.session.commit()
    return {**codes, "token": live_token(live_server, "race-admin", "green-tea-42")}


def test_concurrent_writes_through_the_real_server_never_fail(live_server, seeded, committed):
    token, district = seeded["token"], seeded["district"]
    jobs = []
    for n in range(30):
        jobs.append(
            (
                "POST",
                f"/api/v1/districts/{district}/communities",
                {"code": f"race-c-{n}", "name": f"社区{n}", "street": "街道"},
            )
        )
        jobs.append(
            (
                "POST",
                "/api/v1/canteens",
                factories.canteen_body(district, seeded["community"], name=f"race-{n}"),
            )
        )
        # Everyone wants the same community code: exactly one may get it.
        jobs.append(
            (
                "POST",
                f"/api/v1/districts/{district}/communities",
                {"code": "race-dup", "name": "同名社区", "street": "街道"},
            )
        )
        # Everyone wants the same username: exactly one may get it.
        jobs.append(
            (
                "POST",
                "/api/v1/users",
                {"username": "race-same", "password": "a-long-passw0rd", "role": "admin"},
            )
        )
        jobs.append(("GET", "/api/v1/canteens?per_page=5", None))
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(
            pool.map(
                lambda job: (job, *call(live_server.url, *job, token)),
                jobs,
            )
        )

    statuses = Counter(status for _, status, _ in results)
    assert statuses[500] == 0, live_server.server_log()[-3000:]
    assert set(statuses) <= {200, 201, 409}, statuses

    def outcomes(wanted_body: dict) -> list[tuple[int, dict]]:
        return [(status, body) for job, status, body in results if job[2] == wanted_body]

    for body, code in (
        (
            {"username": "race-same", "password": "a-long-passw0rd", "role": "admin"},
            "username_taken",
        ),
        ({"code": "race-dup", "name": "同名社区", "street": "街道"}, "duplicate_code"),
    ):
        raced = outcomes(body)
        assert sorted(status for status, _ in raced) == [201] + [409] * 29, code
        assert all(answer["error"]["code"] == code for status, answer in raced if status == 409)

    session = committed.session
    assert (
        session.scalar(
            select(func.count()).select_from(Community).where(Community.code.like("race-%"))
        )
        == 31
    )
    assert (
        session.scalar(select(func.count()).select_from(Canteen).where(Canteen.name.like("race-%")))
        == 30
    )
    assert (
        session.scalar(select(func.count()).select_from(User).where(User.username == "race-same"))
        == 1
    )
