"""The small interface every delivery platform is reached through, and the registry that
builds one per configured platform (redash's destinations are the model)."""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

# How far an X-Timestamp may be from our clock (API.md: five minutes).
MAX_CLOCK_SKEW_S = 300
# Unix seconds in ASCII digits. int() alone would also read " 17", "1_7", other scripts'
# digits and hundreds of digits, which then overflow the comparison with our clock.
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class PlatformUnavailable(Exception):
    """The platform did not take the request (down, 5xx, timeout): try again later."""


class PlatformRefused(Exception):
    """The platform answered and will not do it (4xx): retrying will not help."""

    def __init__(self, message: str = "", status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status it answered, where there was one


class BadReport(Exception):
    """A status report that is not the platform's: bad signature, stale timestamp, garbage."""


@dataclass(frozen=True)
class Report:
    """A status report as every adapter hands it to the state machine."""

    event_id: str
    order_id: int
    status: str  # accepted, picked_up, delivered, failed
    at: datetime
    reason: str | None = None
    proof: str | None = None


@dataclass(frozen=True)
class DeliveryRequest:
    """What a platform needs to deliver one order; our order id is its idempotency key.
    The phone is masked: the courier calls through the platform, not the elder directly."""

    order_id: int
    run_id: int
    pickup_name: str
    pickup_address: str
    dropoff_address: str
    recipient: str  # the elder's name as it goes on the label
    phone_masked: str | None
    diet_notes: str | None
    slot: str
    date: str
    callback_url: str


class Platform:
    """Subclasses: quote, create a delivery, cancel it, verify and parse a status report."""

    name: str
    adapter: str
    # The settings that prove who is calling: each must be a secret of the deployment's own.
    SECRETS: tuple[str, ...] = ()

    def __init__(self, name: str, settings: dict):
        self.name = name
        self.settings = settings

    def quote(self, request: DeliveryRequest) -> int:
        """The platform's fee for this delivery, in fen."""
        raise NotImplementedError

    def create_delivery(self, request: DeliveryRequest) -> str:
        """Book the delivery; the platform's reference. Idempotent on `request.order_id`."""
        raise NotImplementedError

    def cancel(self, order_id: int, reference: str | None) -> None:
        raise NotImplementedError

    def status(self, order_id: int, reference: str | None) -> str | None:
        """Where the platform says the delivery is (accepted, picked_up, delivered,
        failed), or None when it does not know it: the delivery was lost."""
        raise NotImplementedError

    def parse_report(self, headers, raw_body: bytes, now: datetime) -> Report:
        """Verify and parse a webhook call; BadReport when it is not genuine."""
        raise NotImplementedError


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    """HMAC-SHA256 under the platform's secret over `timestamp + "." + raw body`, hex."""
    return hmac.new(
        secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256
    ).hexdigest()


def verify_signature(secret: str, headers, raw_body: bytes, now: datetime) -> None:
    timestamp = headers.get("X-Timestamp", "")
    signature = headers.get("X-Signature", "")
    if UNIX_SECONDS.fullmatch(timestamp) is None:
        raise BadReport("X-Timestamp is not Unix seconds")
    if abs(now.timestamp() - int(timestamp)) > MAX_CLOCK_SKEW_S:
        raise BadReport("X-Timestamp is more than five minutes off")
    if not hmac.compare_digest(sign(secret, timestamp, raw_body), signature):
        raise BadReport("the signature does not hold")


def configured_platforms() -> dict[str, dict]:
    """DELIVERY_PLATFORMS: {"name": {"adapter": "http" | "simulator" | "volunteer", ...}}."""
    return parse_platforms(current_app.config["DELIVERY_PLATFORMS"])


def parse_platforms(raw: str | dict) -> dict[str, dict]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)
