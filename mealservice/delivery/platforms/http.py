"""A courier platform reached over HTTP: book, cancel and quote with a bearer key, and
status reports signed under the platform's webhook secret (API.md, "Orders and delivery").

Standard library only (urllib): the calls are few, made by the scheduler, never by a web
worker, and each is bounded by a short timeout so a hung platform cannot hold the outbox."""

import json
import re
import urllib.error
import urllib.request
from dataclasses import asdict
from datetime import UTC, datetime

from mealservice.core.schemas import MAX_ID
from mealservice.delivery.platforms.base import (
    DeliveryRequest,
    Platform,
    PlatformRefused,
    PlatformUnavailable,
    Report,
    verify_signature,
)

STATUSES = ("accepted", "picked_up", "delivered", "failed")
# An order id sent as text: ASCII digits, no more than an id column holds.
ORDER_ID = re.compile(r"[0-9]{1,10}")
# Long enough for a busy platform, short enough that a hung one fails the job quickly
# and the outbox retries it with backoff.
DEFAULT_TIMEOUT_S = 3.0


class InvalidReport(ValueError):
    """A genuine (correctly signed, fresh) report whose body does not hold: the caller
    answers 422 naming `field`. A ValueError, so callers may catch either."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class HttpPlatform(Platform):
    """settings: base_url, api_key, webhook_secret, optional timeout_s."""

    adapter = "http"
    SECRETS = ("api_key", "webhook_secret")

    @property
    def base_url(self) -> str:
        return self.settings["base_url"].rstrip("/")

    @property
    def timeout_s(self) -> float:
        return float(self.settings.get("timeout_s", DEFAULT_TIMEOUT_S))

    def _post(self, path: str, body: dict, headers: dict | None = None) -> dict:
        return self._call("POST", path, json.dumps(body).encode(), headers)

    def _call(self, method: str, path: str, data: bytes | None, headers: dict | None) -> dict:
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.settings.get('api_key', '')}",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = f"{self.name} answered {error.code} to {method} {path}"
            error.close()
            if error.code >= 500 or error.code == 429:
                raise PlatformUnavailable(detail) from None
            raise PlatformRefused(detail, error.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise PlatformUnavailable(
                f"{self.name} unreachable on {method} {path}: {error}"
            ) from None
        except OSError as error:  # e.g. a connection reset half-way through the answer
            raise PlatformUnavailable(f"{self.name} failed on {path}: {error}") from None
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise PlatformUnavailable(f"{self.name} answered garbage to {path}") from None

    def quote(self, request: DeliveryRequest) -> int:
        return int(self._post("/quote", asdict(request))["fee_fen"])

    def create_delivery(self, request: DeliveryRequest) -> str:
        answer = self._post(
            "/deliveries", asdict(request), {"Idempotency-Key": str(request.order_id)}
        )
        reference = answer.get("delivery_id")
        if not isinstance(reference, str) or not reference:
            raise PlatformUnavailable(f"{self.name} answered no delivery_id")
        return reference

    def cancel(self, order_id: int, reference: str | None) -> None:
        if reference is None:
            return  # never booked: nothing to cancel at the platform
        self._post(f"/deliveries/{reference}/cancel", {"order_id": order_id})

    def status(self, order_id: int, reference: str | None) -> str | None:
        if reference is None:
            return None  # never booked there
        try:
            return self._call("GET", f"/deliveries/{reference}", None, None).get("status")
        except PlatformRefused as refused:
            if refused.status == 404:
                return None  # the platform does not know it: lost
            raise

    def parse_report(self, headers, raw_body: bytes, now: datetime) -> Report:
        """BadReport when the signature or timestamp does not hold (the caller answers
        401); InvalidReport (a ValueError) when a genuine report's body is malformed (422)."""
        verify_signature(self.settings.get("webhook_secret", ""), headers, raw_body, now)
        return report_from_body(raw_body)


def report_from_body(raw_body: bytes) -> Report:
    try:
        body = json.loads(raw_body)
    except ValueError:
        raise InvalidReport("body", "not JSON") from None
    if not isinstance(body, dict):
        raise InvalidReport("body", "not a JSON object")
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
        raise InvalidReport("event_id", "a string of 1 to 64 characters")
    order_id = body.get("order_id")
    if isinstance(order_id, str) and ORDER_ID.fullmatch(order_id):
        order_id = int(order_id)
    if not isinstance(order_id, int) or isinstance(order_id, bool) or not 0 < order_id <= MAX_ID:
        raise InvalidReport("order_id", "a positive integer")
    status = body.get("status")
    if status not in STATUSES:
        raise InvalidReport("status", "one of " + ", ".join(STATUSES))
    try:
        at = datetime.fromisoformat(str(body.get("at")).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidReport("at", "an ISO 8601 date and time") from None
    if at.tzinfo is None:
        raise InvalidReport("at", "needs a time zone")
    reason, proof = body.get("reason"), body.get("proof")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 64):
        raise InvalidReport("reason", "a string of at most 64 characters")
    if proof is not None and (not isinstance(proof, str) or len(proof) > 200):
        raise InvalidReport("proof", "a string of at most 200 characters")
    return Report(event_id, order_id, status, at.astimezone(UTC), reason, proof)
