"""`Idempotency-Key` for POSTs a terminal may repeat (scans, orders), as API.md sets out:
a repeat with the same key and body gets the first response and changes nothing; the
same key with another body is refused (422); a repeat while the first is still running
is refused (409).

The key is claimed in its own short transaction before the work starts, so a concurrent
repeat sees it; the first response is stored in the work's own transaction when it
succeeds (both commit or neither), or on its own after a refusal.

A claim older than STALE_AFTER may be taken over by a repeat (its request may have died
with a killed worker). The claim's moment is then a fencing token: the first request, if
it was only slow, stores its response only while the claim is still the one it made, in
the same transaction as its work, so it cannot commit once another has taken the key over:
one key never moves money twice."""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from flask import Response, current_app, request
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import HTTPException

from mealservice.core.auth import current_user
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, add_once, db, start_reading, start_writing
from mealservice.core.errors import (
    ApiError,
    Conflict,
    ValidationFailed,
    error_response,
    from_http_exception,
)

HEADER = "Idempotency-Key"
# A claim this old belongs to a request that died (a killed worker): the key is free again.
STALE_AFTER = timedelta(seconds=60)

# Visible ASCII: what travels in an HTTP header unchanged (a UUID, a terminal's counter).
KEY_PATTERN = r"^[!-~]{1,100}$"

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "pattern": KEY_PATTERN},
    "description": "repeat-safe key: a repeat with the same body gets the first response",
}


class IdempotentRequest(db.Model):
    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotent_requests_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[int | None]  # None while the first request is still running
    body: Mapped[str | None] = mapped_column(Text)


def idempotent(view):
    """Wrap a view (inside its permission check) so that it honours Idempotency-Key."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if re.fullmatch(KEY_PATTERN, key) is None:
            raise ValidationFailed({HEADER: ["Use 1 to 100 visible ASCII characters."]})
        fingerprint = request_fingerprint(request.path, request.get_data())
        user_id = current_user().id
        start_writing()
        claim = _claim(user_id, key, fingerprint)
        if isinstance(claim, Response):
            return claim
        start_reading()
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except (ApiError, HTTPException) as refusal:
            db.session.rollback()
            error = refusal if isinstance(refusal, ApiError) else from_http_exception(refusal)
            response = error_response(error)
            start_writing()
            _store(claim, response)
            db.session.commit()
            return response
        except Exception:
            # Not a refusal but a failure (the database gone, a bug): nothing was done, so
            # the key is let go at once and an honest retry may run.
            db.session.rollback()
            start_writing()
            db.session.execute(
                delete(IdempotentRequest).where(
                    IdempotentRequest.id == claim.id,
                    IdempotentRequest.claimed_at == claim.claimed_at,
                )
            )
            db.session.commit()
            raise
        if not _store(claim, response):
            # Held so long that a repeat took the key over: that one's work stands, ours
            # is undone before it could commit.
            db.session.rollback()
            return error_response(_taken_over())
        return response

    return wrapper


def request_fingerprint(path: str, raw: bytes) -> str:
    try:
        # The same JSON with its keys in another order is the same request.
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        # Not JSON (or absurdly nested): the bytes themselves are the request.
        canonical = raw
    return hashlib.sha256(path.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True)
class Claim:
    """Our claim on a key: its row, and the moment that makes it ours (a fencing token)."""

    id: int
    claimed_at: datetime


def _claim(user_id: int, key: str, fingerprint: str) -> Claim | Response:
    """Our claim on the key, or the response a repeat must get instead."""
    found = db.session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.user_id == user_id, IdempotentRequest.key == key
        )
    )
    if found is not None:
        if found.fingerprint != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request.",
            )
        if found.status is not None:
            replay = Response(found.body, status=found.status, mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        seen = found.claimed_at
        if seen > utcnow() - STALE_AFTER:
            raise _in_progress()
        # Two repeats may find the same dead claim; the condition lets one take it over.
        now = utcnow()
        taken_over = db.session.execute(
            update(IdempotentRequest)
            .where(
                IdempotentRequest.id == found.id,
                IdempotentRequest.status.is_(None),
                IdempotentRequest.claimed_at == seen,
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not taken_over:
            raise _in_progress()
        claim = Claim(found.id, now)
    else:
        row = IdempotentRequest(user_id=user_id, key=key, fingerprint=fingerprint)
        if not add_once(row):
            raise _in_progress()
        claim = Claim(row.id, row.claimed_at)
    db.session.commit()
    return claim


def _store(claim: Claim, response: Response) -> bool:
    """Store the response on our claim, in the current transaction; False when the claim
    is no longer ours (taken over) or no longer open."""
    return bool(
        db.session.execute(
            update(IdempotentRequest)
            .where(
                IdempotentRequest.id == claim.id,
                IdempotentRequest.status.is_(None),
                IdempotentRequest.claimed_at == claim.claimed_at,
            )
            .values(status=response.status_code, body=response.get_data(as_text=True))
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _taken_over() -> Conflict:
    return Conflict(
        "idempotency_in_progress",
        "This request ran so long that a repeat took its Idempotency-Key over; the repeat's"
        " answer stands.",
    )


def _in_progress() -> Conflict:
    return Conflict(
        "idempotency_in_progress", "A request with this Idempotency-Key is still running."
    )
