"""Platform status reports through the API, and volunteers' drops at the door."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mealservice.core.db import db as _db
from mealservice.delivery import services
from mealservice.delivery.platforms.base import sign
from mealservice.elders.models import WelfareAlert
from mealservice.meals.models import Meal
from tests import factories
from tests.core.test_errors import assert_error
from tests.delivery import SECRET, install_fake_platform, signed_headers


@pytest.fixture
def fake(app, db, monkeypatch):
    return install_fake_platform(app, monkeypatch)


@pytest.fixture
def order(district, canteen, elder):
    factories.create_policy(district)
    return factories.create_order(canteen, elder)


def send_out(canteen, platform="fake", volunteer=None):
    manager = factories.create_user("manager", canteen=canteen)
    day = canteen.district.local_today() + timedelta(days=1)
    factories.close_ordering(canteen, day)
    runs = services.make_runs(
        manager, canteen, day, "lunch", platform, volunteer.id if volunteer else None
    )
    _db.session.commit()
    return runs


def body_of(order, status="accepted", event_id="ev-1", **fields) -> bytes:
    at = datetime.now(UTC).isoformat()
    return json.dumps(
        {"event_id": event_id, "order_id": order.id, "status": status, "at": at, **fields}
    ).encode()


def post(anonymous, raw: bytes, platform="fake", headers=None):
    return anonymous.client.post(
        f"/api/v1/delivery/webhooks/{platform}",
        data=raw,
        headers=headers if headers is not None else signed_headers(raw),
    )


def test_a_signed_report_is_applied_without_a_login(fake, anonymous, canteen, order):
    send_out(canteen)
    response = post(anonymous, body_of(order))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"applied": True}
    assert order.delivery_stage == "accepted"


def test_a_repeated_report_answers_not_applied(fake, anonymous, canteen, order):
    send_out(canteen)
    raw = body_of(order)
    assert post(anonymous, raw).get_json() == {"applied": True}
    assert post(anonymous, raw).get_json() == {"applied": False}


def test_a_bad_signature_is_refused(fake, anonymous, canteen, order):
    send_out(canteen)
    raw = body_of(order)
    assert_error(post(anonymous, raw, headers=signed_headers(raw, "wrong")), 401, "unauthorized")
    assert order.delivery_stage is None


def test_a_stale_timestamp_is_refused(fake, anonymous, canteen, order):
    send_out(canteen)
    raw = body_of(order)
    old = datetime.now(UTC) - timedelta(minutes=6)
    assert_error(post(anonymous, raw, headers=signed_headers(raw, at=old)), 401, "unauthorized")


@pytest.mark.parametrize(
    "timestamp",
    [
        "9" * 400,  # overflowed the comparison with the clock: a 500 before
        "9" * 5000,
        "-1",
        "1764036000.5",
        "1e9",
        " 1764036000",
        "1_764_036_000",
        "",
        "\u0661\u0667\u0666\u0664",  # Arabic-Indic digits, which int() reads
    ],
)
def test_a_timestamp_that_cannot_be_used_is_refused_as_unauthorized(
    fake, anonymous, canteen, order, timestamp
):
    send_out(canteen)
    raw = body_of(order)
    # Signed over the timestamp as sent, so only the timestamp is wrong.
    headers = {
        "X-Timestamp": timestamp,
        "X-Signature": sign(SECRET, timestamp, raw),
        "Content-Type": "application/json",
    }
    error = assert_error(post(anonymous, raw, headers=headers), 401, "unauthorized")
    assert "X-Timestamp" in error["message"]
    assert order.delivery_stage is None


def test_an_unknown_platform_is_not_found(fake, anonymous, canteen, order):
    raw = body_of(order)
    assert_error(post(anonymous, raw, platform="nosuch"), 404, "not_found")


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        json.dumps({"event_id": "e", "status": "accepted"}).encode(),
    ],
)
def test_a_genuine_report_with_a_bad_body_is_invalid(fake, anonymous, raw):
    assert_error(post(anonymous, raw), 422, "validation_error")


def test_a_report_with_an_unknown_status_is_invalid(fake, anonymous, canteen, order):
    send_out(canteen)
    assert_error(post(anonymous, body_of(order, "teleported")), 422, "validation_error")


def test_a_no_answer_report_raises_an_alert(fake, anonymous, canteen, order):
    send_out(canteen)
    raw = body_of(order, "failed", reason="no_answer")
    assert post(anonymous, raw).get_json() == {"applied": True}
    assert order.status == "failed"
    assert _db.session.scalar(select(func.count()).select_from(WelfareAlert)) == 1


# Volunteers at the door


@pytest.fixture
def volunteer(login_as):
    return login_as("volunteer")


def test_the_right_code_delivers_the_meal(fake, volunteer, canteen, order):
    send_out(canteen, "volunteer", volunteer.user)
    response = volunteer.post(f"/api/v1/orders/{order.id}/drop", json={"code": order.delivery_code})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "delivered"
    assert _db.session.scalar(select(Meal.order_id)) == order.id


def test_a_wrong_code_is_refused(fake, volunteer, canteen, order):
    send_out(canteen, "volunteer", volunteer.user)
    wrong = "000000" if order.delivery_code != "000000" else "111111"
    assert_error(
        volunteer.post(f"/api/v1/orders/{order.id}/drop", json={"code": wrong}), 409, "wrong_code"
    )
    assert order.status == "dispatched"


def test_no_answer_at_the_door_fails_the_order_and_raises_an_alert(fake, volunteer, canteen, order):
    send_out(canteen, "volunteer", volunteer.user)
    response = volunteer.post(f"/api/v1/orders/{order.id}/drop", json={"no_answer": True})
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["status"], order.failure_reason) == ("failed", "no_answer")
    assert _db.session.scalar(select(WelfareAlert.order_id)) == order.id
    assert_error(
        volunteer.post(f"/api/v1/orders/{order.id}/drop", json={"no_answer": True}),
        409,
        "order_closed",
    )


@pytest.mark.parametrize(
    ("outcome", "status"), [("delivered", "delivered"), ("not_delivered", "failed")]
)
def test_a_manager_settles_a_drop_never_confirmed_at_the_door(
    fake, login_as, volunteer, canteen, order, outcome, status
):
    send_out(canteen, "volunteer", volunteer.user)
    by_hand = {"by_hand": outcome}
    assert_error(volunteer.post(f"/api/v1/orders/{order.id}/drop", json=by_hand), 403, "forbidden")
    response = login_as("manager").post(f"/api/v1/orders/{order.id}/drop", json=by_hand)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == status
    meals = _db.session.scalar(select(func.count()).select_from(Meal))
    assert meals == (1 if status == "delivered" else 0)
    assert _db.session.scalar(select(func.count()).select_from(WelfareAlert)) == 0


def test_a_volunteer_confirms_only_the_runs_given_to_them(fake, login_as, canteen, order):
    mine, other = login_as("volunteer"), login_as("volunteer")
    send_out(canteen, "volunteer", mine.user)
    drop = {"code": order.delivery_code}
    assert_error(other.post(f"/api/v1/orders/{order.id}/drop", json=drop), 404, "not_found")
    assert_error(
        login_as("cashier").post(f"/api/v1/orders/{order.id}/drop", json=drop), 403, "forbidden"
    )


def test_a_drop_needs_the_code_or_no_answer(fake, volunteer, canteen, order):
    send_out(canteen, "volunteer", volunteer.user)
    path = f"/api/v1/orders/{order.id}/drop"
    assert_error(volunteer.post(path, json={}), 422, "validation_error")
    assert_error(volunteer.post(path, json={"code": "12ab"}), 422, "validation_error")


def test_a_platform_run_is_not_confirmed_at_the_door(fake, login_as, canteen, order):
    send_out(canteen)
    response = login_as("manager").post(
        f"/api/v1/orders/{order.id}/drop", json={"code": order.delivery_code}
    )
    assert_error(response, 409, "not_a_volunteer_run")


def test_the_http_adapter_names_the_bad_field(app, monkeypatch, anonymous, canteen, order):
    """The real registry and HTTP adapter: no fake between the webhook and the machine."""
    settings = {"adapter": "http", "base_url": "http://127.0.0.1:9", "webhook_secret": SECRET}
    monkeypatch.setitem(app.config, "DELIVERY_PLATFORMS", json.dumps({"acme": settings}))
    send_out(canteen, "acme")
    raw = body_of(order, "teleported")
    error = assert_error(post(anonymous, raw, "acme"), 422, "validation_error")
    assert list(error["fields"]) == ["status"]
    assert post(anonymous, body_of(order), "acme").get_json() == {"applied": True}
    assert order.delivery_stage == "accepted"
