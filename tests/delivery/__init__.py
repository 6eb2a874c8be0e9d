"""A fake delivery platform for the delivery tests: it books one courier per order id
(the idempotency key), can be down for a number of calls, refuses when told to, and
parses webhooks as a signed platform would."""

import json
from datetime import UTC, datetime

from mealservice.core.errors import ValidationFailed
from mealservice.delivery import platforms
from mealservice.delivery.platforms.base import (
    Platform,
    PlatformRefused,
    PlatformUnavailable,
    Report,
    sign,
    verify_signature,
)

SECRET = "fake-secret"
PLATFORMS = {
    "volunteer": {"adapter": "volunteer"},
    "fake": {"adapter": "fake", "webhook_secret": SECRET},
}


class FakePlatform(Platform):
    def __init__(self, name="fake", settings=None):
        super().__init__(name, settings or {"webhook_secret": SECRET})
        self.down_for = 0  # how many more calls fail as if the platform were down
        self.refuse = False
        self.bookings: dict[int, int] = {}  # order id -> times booked
        self.calls = 0
        self.requests = []
        self.statuses: dict[int, str | None] = {}  # order id -> what status() answers
        self.asked: list[int] = []

    def create_delivery(self, request):
        self.calls += 1
        if self.down_for:
            self.down_for -= 1
            raise PlatformUnavailable("503 from the fake")
        if self.refuse:
            raise PlatformRefused("400: address outside the service area")
        self.requests.append(request)
        self.bookings[request.order_id] = self.bookings.get(request.order_id, 0) + 1
        return f"FAKE-{request.order_id}"

    def status(self, order_id, reference):
        self.asked.append(order_id)
        if self.down_for:
            self.down_for -= 1
            raise PlatformUnavailable("503 from the fake")
        return self.statuses.get(order_id, "picked_up")

    def parse_report(self, headers, raw_body, now):
        verify_signature(self.settings["webhook_secret"], headers, raw_body, now)
        try:
            body = json.loads(raw_body)
            return Report(
                event_id=str(body["event_id"]),
                order_id=int(body["order_id"]),
                status=body["status"],
                at=datetime.fromisoformat(body["at"]),
                reason=body.get("reason"),
                proof=body.get("proof"),
            )
        except (ValueError, KeyError, TypeError) as bad:
            raise ValidationFailed({"body": [f"Malformed report: {bad}"]}) from None


class FakeVolunteer(Platform):
    def create_delivery(self, request):
        return f"volunteer-{request.order_id}"


def install_fake_platform(app, monkeypatch) -> FakePlatform:
    """The fake platform named "fake", and the volunteers, as the only configured ones
    (each test module's `fake` fixture calls this)."""
    platform = FakePlatform()
    monkeypatch.setitem(app.config, "DELIVERY_PLATFORMS", json.dumps(PLATFORMS))

    def platform_for(name):
        if name == "fake":
            return platform
        if name == "volunteer":
            return FakeVolunteer("volunteer", {})
        raise KeyError(name)

    monkeypatch.setattr(platforms, "platform_for", platform_for, raising=False)
    return platform


def signed_headers(body: bytes, secret: str = SECRET, at: datetime | None = None) -> dict:
    timestamp = str(int((at or datetime.now(UTC)).timestamp()))
    return {
        "X-Timestamp": timestamp,
        "X-Signature": sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def report(order, status, event_id=None, reason=None, at=None, proof=None) -> Report:
    return Report(
        event_id=event_id or f"e-{order.id}-{status}",
        order_id=order.id,
        status=status,
        at=at or datetime.now(UTC),
        reason=reason,
        proof=proof,
    )
