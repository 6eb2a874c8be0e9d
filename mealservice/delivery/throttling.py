"""Wrong drop codes. The six digits an elder gives at the door are the proof a meal was
delivered (and earns the delivery subsidy), so wrong ones are counted per order and per
account that types them, in the login limits' store (Flask-Limiter's: Redis when REDIS_URL
is set, shared by every worker). Past either limit that order, or that account, takes no
code at all, right or wrong, for the rest of the window: 429 `rate_limited`."""

import hashlib
import hmac
import math
import time

from flask import current_app
from limits import parse

from mealservice.core.errors import ApiError
from mealservice.core.security import limiter


class TooManyWrongCodes(ApiError):
    def __init__(self, per: str, retry_after_s: int):
        minutes = math.ceil(retry_after_s / 60)
        super().__init__(
            429,
            "rate_limited",
            f"Too many wrong codes for this {per}: try again in {minutes} minutes, or ask the"
            " manager to settle the drop.",
            detail={"per": per, "retry_after_s": retry_after_s, "minutes": minutes},
        )
        self.headers = {"Retry-After": str(retry_after_s)}


def refuse_while_locked(actor, order) -> None:
    """TooManyWrongCodes while the order or the account has used up its wrong codes."""
    if not limiter.enabled:
        return
    for per, limit, key in _counters(actor, order):
        if not limiter.limiter.test(limit, *key):
            reset_at, _ = limiter.limiter.get_window_stats(limit, *key)
            raise TooManyWrongCodes(per, max(1, math.ceil(reset_at - time.time())))


def count_wrong_code(actor, order) -> None:
    if not limiter.enabled:
        return
    for _, limit, key in _counters(actor, order):
        limiter.limiter.hit(limit, *key)


def _counters(actor, order):
    config = current_app.config
    prefix = config["RATELIMIT_KEY_PREFIX"]
    return [
        (
            "order",
            parse(config["DROP_CODE_FAILURES_PER_ORDER"]),
            (prefix, "drop-code-order", _hashed(f"order:{order.id}")),
        ),
        (
            "account",
            parse(config["DROP_CODE_FAILURES_PER_ACCOUNT"]),
            (prefix, "drop-code-account", _hashed(f"user:{actor.id}")),
        ),
    ]


def _hashed(identifier: str) -> str:
    """The store's key names no order or account: a hash keyed by the app's secret, since
    ids are few enough to hash them all and look the key up."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, identifier.encode(), hashlib.sha256).hexdigest()[:32]
