"""Welfare alerts: raised when nobody answers the door, listed in the caller's scope,
closed by recording the follow-up."""

from datetime import timedelta

import pytest

from mealservice.core.db import db as _db
from mealservice.delivery import services
from tests import factories
from tests.core.test_errors import assert_error
from tests.delivery import install_fake_platform, report


@pytest.fixture
def fake(app, db, monkeypatch):
    return install_fake_platform(app, monkeypatch)


def no_answer_at(canteen, elder):
    """An order of `elder` from `canteen` that found nobody at the door; its alert."""
    order = factories.create_order(canteen, elder)
    manager = factories.create_user("manager", canteen=canteen)
    day = canteen.district.local_today() + timedelta(days=1)
    factories.close_ordering(canteen, day)
    services.make_runs(manager, canteen, day, "lunch", "fake")
    services.apply_report("fake", report(order, "failed", reason="no_answer"))
    _db.session.commit()
    [alert] = [a for a in services.open_alerts(_Admin()) if a.order_id == order.id]
    return alert


class _Admin:
    role = "admin"
    username = "test-admin"


@pytest.fixture
def alerts(fake, district, canteen, elder):
    """One alert at the test canteen, one at another canteen of the same district, one in
    another district."""
    factories.create_policy(district)
    here = no_answer_at(canteen, elder)
    nearby = factories.create_canteen(district)
    there = no_answer_at(nearby, factories.create_elder(district))
    far_district = factories.create_district()
    factories.create_policy(far_district)
    far = no_answer_at(factories.create_canteen(far_district), factories.create_elder(far_district))
    return here, there, far


def ids(response):
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def test_alerts_are_listed_in_the_callers_scope(alerts, login_as):
    here, there, far = alerts
    assert ids(login_as("manager").get("/api/v1/alerts")) == {here.id}
    assert ids(login_as("official").get("/api/v1/alerts")) == {here.id, there.id}
    assert ids(login_as("admin").get("/api/v1/alerts")) == {here.id, there.id, far.id}
    assert_error(login_as("cashier").get("/api/v1/alerts"), 403, "forbidden")


def test_an_alert_is_closed_by_its_follow_up(alerts, login_as):
    here, _, _ = alerts
    manager = login_as("manager")
    path = f"/api/v1/alerts/{here.id}/follow-up"
    response = manager.post(path, json={"note": "社区网格员上门，老人在医院，已联系家属"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["followed_up_by"] == manager.user.username and body["followed_up_at"]
    assert ids(manager.get("/api/v1/alerts")) == set()
    assert_error(manager.post(path, json={"note": "again"}), 409, "already_followed_up")


def test_an_alert_outside_the_scope_is_not_found(alerts, login_as):
    _, there, far = alerts
    assert_error(
        login_as("manager").post(f"/api/v1/alerts/{there.id}/follow-up", json={"note": "x"}),
        404,
        "not_found",
    )
    assert_error(
        login_as("official").post(f"/api/v1/alerts/{far.id}/follow-up", json={"note": "x"}),
        404,
        "not_found",
    )


def test_a_follow_up_needs_a_note(alerts, login_as):
    here, _, _ = alerts
    response = login_as("manager").post(f"/api/v1/alerts/{here.id}/follow-up", json={"note": ""})
    assert_error(response, 422, "validation_error")
