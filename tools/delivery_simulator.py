"""A courier platform on this machine, for the demo and the fault tests: a separate HTTP
server that books deliveries and reports their progress to the service's webhook, signed
as a real platform would, and that can be told to misbehave.

    python -m tools.delivery_simulator --port 5055 [--api-key K] [--secret S]
        [--step-ms 1500] [--host 127.0.0.1]

It knows nothing of the database or the Flask app: the standard library only, plus the
one signing function the service verifies with (base.sign), so both sides cannot drift.

Protocol (the http adapter's side is mealservice/delivery/platforms/http.py):
  POST /deliveries             Bearer key, Idempotency-Key, DeliveryRequest JSON → 201
                               {delivery_id, fee_fen}; the same key again → 200, same id
  POST /deliveries/{id}/cancel → 200; no further reports for that delivery
  GET  /deliveries/{id}        Bearer key → {delivery_id, status}; 404 once it is lost
  POST /quote                  DeliveryRequest JSON → {fee_fen}
  POST /_control               any of CONTROLS → 200 the settings (no key: a test tool)
  GET  /_state                 {bookings, requests, settings, deliveries: {id: {order_id,
                               status, events: [...]}}}
Reports go to the request's callback_url, one every step_ms: accepted, picked_up,
delivered (with proof) — or failed with reason "no_answer".
"""

import argparse
import contextlib
import itertools
import json
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mealservice.core import clock
from mealservice.delivery.platforms.base import sign

FEE_FEN = 600
# A hung request outlasts the adapter's 3 s timeout by far (the control may shorten it).
HANG_S = 10.0
# A callback the service did not take (down, 5xx) is tried again this many times.
CALLBACK_ATTEMPTS = 5
CALLBACK_BACKOFF_S = 0.2
CALLBACK_TIMEOUT_S = 5.0

CONTROLS = {
    "step_ms": int,  # between two reports of a delivery
    "fail_requests": int,  # the next n POST /deliveries answer 500, booking nothing
    "hang_requests": int,  # the next n POST /deliveries hang hang_s, then book and answer
    "hang_s": float,
    "duplicate_events": bool,  # every report sent twice (same event_id)
    "reorder_events": bool,  # picked_up before accepted; the last report sent again at the end
    "no_answer": bool,  # deliveries end failed, reason "no_answer"
    "lose_deliveries": bool,  # booked, then never reported and forgotten (a 404 when asked)
    "fee_fen": int,
}


class Simulator:
    """The platform's whole state, shared by the request threads under one lock."""

    def __init__(self, api_key: str, secret: str, step_ms: int):
        self.api_key = api_key
        self.secret = secret
        self.lock = threading.Lock()
        self.settings = {
            "step_ms": step_ms,
            "fail_requests": 0,
            "hang_requests": 0,
            "hang_s": HANG_S,
            "duplicate_events": False,
            "reorder_events": False,
            "no_answer": False,
            "lose_deliveries": False,
            "fee_fen": FEE_FEN,
        }
        self.requests = 0
        self.by_key: dict[str, str] = {}
        self.deliveries: dict[str, dict] = {}
        self.event_numbers = itertools.count(1)

    def control(self, changes: dict) -> dict:
        unknown = set(changes) - set(CONTROLS)
        if unknown:
            raise ValueError("unknown controls: " + ", ".join(sorted(unknown)))
        with self.lock:
            for key, value in changes.items():
                self.settings[key] = CONTROLS[key](value)
            return dict(self.settings)

    def state(self) -> dict:
        with self.lock:
            return {
                "bookings": len(self.deliveries),
                "requests": self.requests,
                "settings": dict(self.settings),
                "deliveries": {
                    reference: {
                        "order_id": delivery["order_id"],
                        "idempotency_key": delivery["idempotency_key"],
                        "status": delivery["status"],
                        "events": list(delivery["events"]),
                    }
                    for reference, delivery in self.deliveries.items()
                },
            }

    def misbehaviour(self) -> tuple[str | None, float]:
        """What this POST /deliveries suffers: ("fail", 0), ("hang", seconds) or (None, 0)."""
        with self.lock:
            self.requests += 1
            if self.settings["fail_requests"] > 0:
                self.settings["fail_requests"] -= 1
                return "fail", 0.0
            if self.settings["hang_requests"] > 0:
                self.settings["hang_requests"] -= 1
                return "hang", self.settings["hang_s"]
            return None, 0.0

    def book(self, key: str, body: dict) -> tuple[bool, str, int]:
        """(new?, delivery_id, fee_fen); a key seen before books nothing."""
        with self.lock:
            fee_fen = self.settings["fee_fen"]
            if key in self.by_key:
                return False, self.by_key[key], fee_fen
            reference = uuid.uuid4().hex[:16]
            self.by_key[key] = reference
            self.deliveries[reference] = {
                "order_id": body["order_id"],
                "idempotency_key": key,
                "callback_url": body["callback_url"],
                "status": "booked",
                "events": [],
                # The behaviour is fixed when booked, so a control changed mid-delivery
                # does not turn one delivery into a mixture.
                "plan": {
                    name: self.settings[name]
                    for name in ("step_ms", "duplicate_events", "reorder_events", "no_answer")
                },
                "lost": self.settings["lose_deliveries"],
            }
            lost = self.settings["lose_deliveries"]
        if not lost:
            threading.Thread(target=self.run_delivery, args=(reference,), daemon=True).start()
        return True, reference, fee_fen

    def status_of(self, reference: str) -> str | None:
        """The delivery's status as the platform knows it; None for one it lost."""
        with self.lock:
            delivery = self.deliveries.get(reference)
            return None if delivery is None or delivery["lost"] else delivery["status"]

    def cancel(self, reference: str) -> bool:
        with self.lock:
            delivery = self.deliveries.get(reference)
            if delivery is None:
                return False
            delivery["status"] = "cancelled"
            return True

    # The reports.

    def run_delivery(self, reference: str) -> None:
        delivery = self.deliveries[reference]
        plan = delivery["plan"]
        step_s = plan["step_ms"] / 1000
        last = "failed" if plan["no_answer"] else "delivered"
        # Each event is made at its moment (its `at` in the true order); reordering only
        # changes when it is sent.
        if plan["reorder_events"]:
            time.sleep(step_s)
            accepted = self.make_event(reference, "accepted")
            time.sleep(step_s)
            batches = [[self.make_event(reference, "picked_up"), accepted]]
            time.sleep(step_s)
            final = self.make_event(reference, last)
            batches.append([final, final])
            for batch in batches:
                self.send_batch(reference, batch, plan)
            return
        for status in ("accepted", "picked_up", last):
            time.sleep(step_s)
            self.send_batch(reference, [self.make_event(reference, status)], plan)

    def make_event(self, reference: str, status: str) -> dict:
        delivery = self.deliveries[reference]
        event = {
            "event_id": f"sim-{next(self.event_numbers)}-{reference}",
            "order_id": delivery["order_id"],
            "status": status,
            "at": clock.utcnow().isoformat(),
        }
        if status == "failed":
            event["reason"] = "no_answer"
        if status == "delivered":
            event["proof"] = f"photo:sim-{reference}"
        return event

    def send_batch(self, reference: str, events: list[dict], plan: dict) -> None:
        for event in events:
            for _ in range(2 if plan["duplicate_events"] else 1):
                with self.lock:
                    if self.deliveries[reference]["status"] == "cancelled":
                        return
                answer = self.post_callback(self.deliveries[reference]["callback_url"], event)
                with self.lock:
                    delivery = self.deliveries[reference]
                    delivery["events"].append({**event, "answer": answer})
                    if delivery["status"] != "cancelled":
                        delivery["status"] = event["status"]

    def post_callback(self, url: str, event: dict) -> int | str:
        """The service's HTTP status, or the last error; retried while the service is down."""
        raw = json.dumps(event).encode()
        outcome: int | str = "not sent"
        for attempt in range(CALLBACK_ATTEMPTS):
            if attempt:
                time.sleep(CALLBACK_BACKOFF_S * 2 ** (attempt - 1))
            timestamp = str(int(clock.utcnow().timestamp()))
            request = urllib.request.Request(
                url,
                data=raw,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-Timestamp": timestamp,
                    "X-Signature": sign(self.secret, timestamp, raw),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_S) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                outcome = error.code
                error.close()
                if error.code < 500:
                    return outcome  # the service refused it: sending again will not help
            except OSError as error:
                outcome = f"{type(error).__name__}: {error}"
        return outcome


class Handler(BaseHTTPRequestHandler):
    server: "SimulatorServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if self.server.verbose:
            super().log_message(format, *args)

    def answer(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (a hung request): nobody to answer

    def read_json(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.server.simulator.api_key}":
            return True
        self.answer(401, {"error": "bad api key"})
        return False

    def do_GET(self):
        if self.path == "/_state":
            return self.answer(200, self.server.simulator.state())
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "deliveries":
            if not self.authorised():
                return None
            status = self.server.simulator.status_of(parts[1])
            if status is not None:
                return self.answer(200, {"delivery_id": parts[1], "status": status})
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        simulator = self.server.simulator
        body = self.read_json()
        if body is None:
            return self.answer(400, {"error": "the body is not a JSON object"})
        parts = self.path.strip("/").split("/")
        if parts == ["_control"]:
            try:
                return self.answer(200, simulator.control(body))
            except (TypeError, ValueError) as error:
                return self.answer(400, {"error": str(error)})
        if not self.authorised():
            return None
        if parts == ["quote"]:
            return self.answer(200, {"fee_fen": simulator.settings["fee_fen"]})
        if parts == ["deliveries"]:
            return self.create(body)
        cancelling = len(parts) == 3 and parts[0] == "deliveries" and parts[2] == "cancel"
        if cancelling and simulator.cancel(parts[1]):
            return self.answer(200, {"delivery_id": parts[1], "status": "cancelled"})
        self.answer(404, {"error": "not found"})

    def create(self, body: dict) -> None:
        simulator = self.server.simulator
        key = self.headers.get("Idempotency-Key")
        if not key:
            return self.answer(400, {"error": "Idempotency-Key is required"})
        if not isinstance(body.get("callback_url"), str) or "order_id" not in body:
            return self.answer(400, {"error": "order_id and callback_url are required"})
        trouble, hang_s = simulator.misbehaviour()
        if trouble == "fail":
            return self.answer(500, {"error": "simulated outage"})
        if trouble == "hang":
            # Then books all the same: a timeout on the caller's side does not mean the
            # platform did nothing, which is what the Idempotency-Key is for.
            time.sleep(hang_s)
        new, reference, fee_fen = simulator.book(key, body)
        self.answer(201 if new else 200, {"delivery_id": reference, "fee_fen": fee_fen})


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, simulator: Simulator, verbose: bool = False):
        super().__init__(address, Handler)
        self.simulator = simulator
        self.verbose = verbose


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local delivery platform for the demo.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--api-key", default="simulator-key")
    parser.add_argument("--secret", default="simulator-secret")
    parser.add_argument("--step-ms", type=int, default=1500)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    clock.start_from_environment()
    simulator = Simulator(args.api_key, args.secret, args.step_ms)
    with SimulatorServer((args.host, args.port), simulator, args.verbose) as server:
        print(f"Delivery simulator on http://{args.host}:{args.port}/", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop it
            server.serve_forever()


if __name__ == "__main__":
    main()
