"""The delivery simulator as the demo runs it: a separate process that books deliveries,
reports their progress signed to a callback, and misbehaves when told to."""

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mealservice.delivery.platforms.base import verify_signature
from tests.conftest import ROOT, clock_environment, free_port

API_KEY = "test-key"
SECRET = "test-secret"


class Simulator:
    """`python -m tools.delivery_simulator` on a free port, and a client for it."""

    def __init__(self, step_ms: int = 20, api_key: str = API_KEY, secret: str = SECRET):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.delivery_simulator", "--port", str(self.port),
             "--step-ms", str(step_ms), "--api-key", api_key, "--secret", secret],
            cwd=ROOT,
            env=clock_environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                self.state()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.05)

    def call(self, method: str, path: str, body=None, headers=None, timeout=15):
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"{}")

    def state(self) -> dict:
        return self.call("GET", "/_state", timeout=2)[1]

    def control(self, **settings) -> dict:
        status, body = self.call("POST", "/_control", settings)
        assert status == 200, body
        return body

    def book(self, order_id: int, callback_url: str, key=None, api_key: str = API_KEY):
        return self.call(
            "POST",
            "/deliveries",
            delivery_body(order_id, callback_url),
            {"Authorization": f"Bearer {api_key}", "Idempotency-Key": str(key or order_id)},
        )

    def wait_for_events(self, count: int, timeout_s: float = 10) -> dict:
        """The one delivery booked, once it has recorded `count` reports."""
        deadline = time.monotonic() + timeout_s
        while True:
            (delivery,) = self.state()["deliveries"].values()
            if len(delivery["events"]) >= count or time.monotonic() > deadline:
                return delivery
            time.sleep(0.02)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def delivery_body(order_id: int, callback_url: str) -> dict:
    return {
        "order_id": order_id, "run_id": 1, "pickup_name": "长乐食堂",
        "pickup_address": "长乐路 1 号", "dropoff_address": "长乐路 3 弄 2 号 401",
        "recipient": "王秀英", "phone_masked": "138****0001", "diet_notes": "少盐",
        "slot": "lunch", "date": "2026-11-25", "callback_url": callback_url,
    }  # fmt: skip


class Receiver:
    """A stand-in for the service's webhook: keeps every call, answers `answers` in turn
    (then 200)."""

    def __init__(self):
        self.calls: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.changed:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.calls.append((dict(self.headers), raw))
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(raw) for _, raw in self.calls]

    def wait_for(self, count: int, timeout_s: float = 10) -> list[dict]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.calls) >= count, timeout_s)
        assert len(self.calls) >= count, self.events()
        return self.events()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def simulator():
    running = Simulator()
    yield running
    running.stop()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.stop()


def statuses(events: list[dict]) -> list[str]:
    return [event["status"] for event in events]


def test_a_booking_is_reported_accepted_picked_up_delivered_with_good_signatures(
    simulator, receiver
):
    status, body = simulator.book(41, receiver.url)
    assert status == 201
    assert body["fee_fen"] > 0
    events = receiver.wait_for(3)
    time.sleep(0.1)  # nothing more comes
    assert statuses(receiver.events()) == ["accepted", "picked_up", "delivered"]
    assert {event["order_id"] for event in events} == {41}
    assert len({event["event_id"] for event in events}) == 3
    assert events[2]["proof"] == f"photo:sim-{body['delivery_id']}"
    for headers, raw in receiver.calls:
        verify_signature(SECRET, headers, raw, datetime.now(UTC))
    ats = [datetime.fromisoformat(event["at"]) for event in events]
    assert ats == sorted(ats)
    assert all(at.utcoffset().total_seconds() == 0 for at in ats)


def test_the_same_idempotency_key_books_once(simulator, receiver):
    first = simulator.book(42, receiver.url)
    again = simulator.book(42, receiver.url)
    assert (first[0], again[0]) == (201, 200)
    assert first[1]["delivery_id"] == again[1]["delivery_id"]
    receiver.wait_for(3)
    time.sleep(0.1)
    assert statuses(receiver.events()) == ["accepted", "picked_up", "delivered"]
    assert simulator.state()["bookings"] == 1


def test_a_wrong_api_key_is_refused_and_books_nothing(simulator, receiver):
    status, _ = simulator.book(43, receiver.url, api_key="guessed")
    assert status == 401
    assert simulator.state()["bookings"] == 0


def test_duplicate_events_sends_every_report_twice_under_one_event_id(simulator, receiver):
    simulator.control(duplicate_events=True)
    simulator.book(44, receiver.url)
    events = receiver.wait_for(6)
    assert statuses(events) == ["accepted"] * 2 + ["picked_up"] * 2 + ["delivered"] * 2
    assert len({event["event_id"] for event in events}) == 3


def test_reorder_events_sends_picked_up_first_and_the_last_report_again(simulator, receiver):
    simulator.control(reorder_events=True)
    simulator.book(45, receiver.url)
    events = receiver.wait_for(4)
    assert statuses(events) == ["picked_up", "accepted", "delivered", "delivered"]
    assert events[2] == events[3]
    # The reports carry the true times: accepted happened first, only it arrived late.
    assert events[1]["at"] < events[0]["at"]


def test_no_answer_ends_the_delivery_failed_with_the_reason(simulator, receiver):
    simulator.control(no_answer=True)
    simulator.book(46, receiver.url)
    events = receiver.wait_for(3)
    assert statuses(events) == ["accepted", "picked_up", "failed"]
    assert events[2]["reason"] == "no_answer"
    assert "proof" not in events[2]


def test_fail_requests_answers_500_and_books_nothing_then_recovers(simulator, receiver):
    simulator.control(fail_requests=2)
    assert simulator.book(47, receiver.url)[0] == 500
    assert simulator.book(47, receiver.url)[0] == 500
    assert simulator.state()["bookings"] == 0
    assert simulator.book(47, receiver.url)[0] == 201
    assert simulator.state()["bookings"] == 1


def test_a_hung_request_answers_late_and_books_all_the_same(simulator, receiver):
    simulator.control(hang_requests=1, hang_s=0.5)
    started = time.monotonic()
    status, body = simulator.book(48, receiver.url)
    assert time.monotonic() - started >= 0.5
    assert status == 201
    # The caller that gave up asks again with the same key: the same delivery.
    assert simulator.book(48, receiver.url) == (200, body)
    assert simulator.state()["bookings"] == 1


def test_a_callback_the_service_did_not_take_is_sent_again(simulator, receiver):
    receiver.answers = [503, 503]
    simulator.book(49, receiver.url)
    events = receiver.wait_for(5)
    assert statuses(events) == ["accepted"] * 3 + ["picked_up", "delivered"]
    # The receiver counts a call before it answers; the simulator records the answer
    # only once it has it, a moment later.
    delivery = simulator.wait_for_events(3)
    assert [event["answer"] for event in delivery["events"]] == [200, 200, 200]


def test_a_cancelled_delivery_reports_nothing_more(simulator, receiver):
    simulator.control(step_ms=300)
    _, body = simulator.book(50, receiver.url)
    status, _ = simulator.call(
        "POST", f"/deliveries/{body['delivery_id']}/cancel", {},
        {"Authorization": f"Bearer {API_KEY}"},
    )  # fmt: skip
    assert status == 200
    time.sleep(1.2)
    assert receiver.events() == []
    assert simulator.state()["deliveries"][body["delivery_id"]]["status"] == "cancelled"


def test_an_unknown_control_is_refused(simulator):
    status, body = simulator.call("POST", "/_control", {"explode": True})
    assert status == 400
    assert "explode" in body["error"]
