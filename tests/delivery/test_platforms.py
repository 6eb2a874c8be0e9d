"""The platform adapters: the http adapter against the simulator over loopback, the
volunteer adapter, and the registry built from DELIVERY_PLATFORMS."""

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mealservice.delivery.platforms import ADAPTERS, platform_for
from mealservice.delivery.platforms.base import (
    BadReport,
    DeliveryRequest,
    PlatformRefused,
    PlatformUnavailable,
    sign,
)
from mealservice.delivery.platforms.http import HttpPlatform, InvalidReport
from mealservice.delivery.platforms.simulator import SimulatorPlatform
from mealservice.delivery.platforms.volunteer import VolunteerPlatform
from tests.conftest import free_port
from tests.delivery.test_simulator import API_KEY, SECRET, delivery_body, receiver, simulator

__all__ = ["receiver", "simulator"]  # fixtures shared with the simulator's tests

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def request_for(order_id: int, callback_url: str = "http://127.0.0.1:9/hook") -> DeliveryRequest:
    return DeliveryRequest(**delivery_body(order_id, callback_url))


def adapter(url: str, **settings) -> HttpPlatform:
    return HttpPlatform(
        "courier", {"base_url": url, "api_key": API_KEY, "webhook_secret": SECRET, **settings}
    )


def signed(body: dict, at: datetime = NOW, secret: str = SECRET) -> tuple[dict, bytes]:
    raw = json.dumps(body).encode()
    timestamp = str(int(at.timestamp()))
    return {"X-Timestamp": timestamp, "X-Signature": sign(secret, timestamp, raw)}, raw


REPORT = {
    "event_id": "ev-1",
    "order_id": 7,
    "status": "delivered",
    "at": "2026-11-25T03:59:00+00:00",
    "proof": "photo:sim-abc",
}


def test_creating_a_delivery_twice_books_one_courier(simulator, receiver):
    platform = adapter(simulator.url)
    first = platform.create_delivery(request_for(1, receiver.url))
    again = platform.create_delivery(request_for(1, receiver.url))
    assert first == again
    assert simulator.state()["bookings"] == 1


def test_quote_and_cancel_reach_the_platform(simulator, receiver):
    platform = adapter(simulator.url)
    assert platform.quote(request_for(2)) == 600
    reference = platform.create_delivery(request_for(2, receiver.url))
    platform.cancel(2, reference)
    assert simulator.state()["deliveries"][reference]["status"] == "cancelled"
    platform.cancel(2, None)  # never booked: nothing to call


def test_the_platform_says_where_a_delivery_is_and_which_it_lost(simulator, receiver):
    platform = adapter(simulator.url)
    kept = platform.create_delivery(request_for(4, receiver.url))
    assert platform.status(4, kept) in ("booked", "accepted", "picked_up", "delivered")
    simulator.control(lose_deliveries=True)
    lost = platform.create_delivery(request_for(5, receiver.url))
    assert platform.status(5, lost) is None
    assert platform.status(6, None) is None  # never booked there


def test_a_platform_answering_500_is_unavailable(simulator):
    simulator.control(fail_requests=1)
    with pytest.raises(PlatformUnavailable):
        adapter(simulator.url).create_delivery(request_for(3))
    assert simulator.state()["bookings"] == 0


def test_a_hung_platform_is_unavailable_within_the_timeout(simulator):
    simulator.control(hang_requests=1, hang_s=5)
    started = time.monotonic()
    with pytest.raises(PlatformUnavailable):
        adapter(simulator.url, timeout_s=0.5).create_delivery(request_for(4))
    assert time.monotonic() - started < 2


def test_a_platform_nobody_listens_on_is_unavailable():
    with pytest.raises(PlatformUnavailable):
        adapter(f"http://127.0.0.1:{free_port()}").create_delivery(request_for(5))


def test_a_wrong_api_key_is_refused(simulator):
    platform = adapter(simulator.url, api_key="guessed")
    with pytest.raises(PlatformRefused):
        platform.create_delivery(request_for(6))
    with pytest.raises(PlatformRefused):
        platform.quote(request_for(6))


def test_a_well_signed_report_is_parsed():
    headers, raw = signed(REPORT)
    report = adapter("http://unused").parse_report(headers, raw, NOW)
    assert (report.event_id, report.order_id, report.status) == ("ev-1", 7, "delivered")
    assert report.at == datetime(2026, 11, 25, 3, 59, tzinfo=UTC)
    assert report.proof == "photo:sim-abc"
    assert report.reason is None


def test_a_report_signed_under_another_secret_is_refused():
    headers, raw = signed(REPORT, secret="not-the-secret")
    with pytest.raises(BadReport):
        adapter("http://unused").parse_report(headers, raw, NOW)


def test_a_report_whose_body_was_changed_after_signing_is_refused():
    headers, _ = signed(REPORT)
    tampered = json.dumps({**REPORT, "order_id": 8}).encode()
    with pytest.raises(BadReport):
        adapter("http://unused").parse_report(headers, tampered, NOW)


@pytest.mark.parametrize("off", [timedelta(minutes=6), timedelta(minutes=-6)])
def test_a_report_with_a_stale_or_future_timestamp_is_refused(off):
    headers, raw = signed(REPORT, at=NOW + off)
    with pytest.raises(BadReport):
        adapter("http://unused").parse_report(headers, raw, NOW)


def test_a_report_without_a_signature_is_refused():
    with pytest.raises(BadReport):
        adapter("http://unused").parse_report({}, json.dumps(REPORT).encode(), NOW)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "teleported"}, "status"),
        ({"order_id": "seven"}, "order_id"),
        ({"order_id": True}, "order_id"),
        # Ids no column holds, and digits int() reads but an id never has.
        ({"order_id": 2**70}, "order_id"),
        ({"order_id": str(2**70)}, "order_id"),
        ({"order_id": "\u00b2"}, "order_id"),
        ({"order_id": "\u0661"}, "order_id"),
        ({"event_id": ""}, "event_id"),
        ({"at": "yesterday"}, "at"),
        ({"at": "2026-11-25T03:59:00"}, "at"),
        ({"reason": 5}, "reason"),
    ],
)
def test_a_genuine_report_with_a_bad_field_names_the_field(change, field):
    headers, raw = signed({**REPORT, **change})
    with pytest.raises(InvalidReport) as refused:
        adapter("http://unused").parse_report(headers, raw, NOW)
    assert refused.value.field == field
    assert isinstance(refused.value, ValueError)


def test_a_genuine_report_that_is_not_json_is_invalid_not_forged():
    raw = b"{not json"
    timestamp = str(int(NOW.timestamp()))
    headers = {"X-Timestamp": timestamp, "X-Signature": sign(SECRET, timestamp, raw)}
    with pytest.raises(InvalidReport):
        adapter("http://unused").parse_report(headers, raw, NOW)


def test_the_volunteer_adapter_books_without_calling_anyone():
    volunteers = VolunteerPlatform("volunteer", {"adapter": "volunteer"})
    request = replace(request_for(9), callback_url="http://127.0.0.1:1/never")
    assert volunteers.create_delivery(request) == "volunteer-9"
    assert volunteers.quote(request) == 0
    assert volunteers.cancel(9, "volunteer-9") is None
    headers, raw = signed(REPORT)
    with pytest.raises(BadReport):
        volunteers.parse_report(headers, raw, NOW)


def test_the_simulator_adapter_fills_in_the_simulators_defaults():
    platform = SimulatorPlatform("simulator", {"adapter": "simulator"})
    assert platform.base_url == "http://127.0.0.1:5055"
    assert platform.settings["api_key"] == "simulator-key"
    assert platform.settings["webhook_secret"] == "simulator-secret"


def test_the_registry_builds_each_configured_platform(app):
    with app.app_context():
        assert isinstance(platform_for("volunteer"), VolunteerPlatform)
        simulated = platform_for("simulator")
        assert type(simulated) is SimulatorPlatform
        assert simulated.name == "simulator"
        assert set(ADAPTERS) == {"http", "simulator", "volunteer"}


def test_the_registry_reads_a_platform_added_in_configuration(app, monkeypatch):
    courier = {"adapter": "http", "base_url": "http://courier.example", "api_key": "k"}
    monkeypatch.setitem(app.config, "DELIVERY_PLATFORMS", json.dumps({"courier": courier}))
    with app.app_context():
        platform = platform_for("courier")
        assert type(platform) is HttpPlatform
        assert platform.base_url == "http://courier.example"


def test_the_registry_refuses_a_platform_not_configured(app):
    with app.app_context(), pytest.raises(KeyError):
        platform_for("pigeon")
