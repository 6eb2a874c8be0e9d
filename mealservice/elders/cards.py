"""Elder cards: issuing, revoking, judging, and the keys and images behind them."""

import base64
import hashlib
import io
import os
from dataclasses import dataclass
from datetime import date, datetime

import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import aliased, joinedload

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, add_unique, db
from mealservice.core.errors import ApiError, Conflict, NotFound, ValidationFailed
from mealservice.elders.card_codec import CardClaims, InvalidCard, decode_card, encode_card
from mealservice.elders.models import Card, Elder, ElderStatus
from mealservice.elders.services import elders_query, is_active_on
from mealservice.places.models import Community


def signing_key() -> Ed25519PrivateKey:
    # The configured secret is a long random string; its SHA-256 is the 32-byte seed.
    seed = hashlib.sha256(current_app.config["CARD_SIGNING_KEY"].encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def verifying_keys() -> dict[int, Ed25519PublicKey]:
    """The current key and every retired key not yet removed from CARD_RETIRED_KEYS.

    Derived once per configuration of the app, since every scan needs them."""
    config = current_app.config
    settings = (config["CARD_SIGNING_KEY"], config["CARD_KEY_ID"], config["CARD_RETIRED_KEYS"])
    cached = current_app.extensions.get("mealservice.card_keys")
    if cached is None or cached[0] != settings:
        cached = current_app.extensions["mealservice.card_keys"] = (settings, _keys_from_config())
    return cached[1]


def _keys_from_config() -> dict[int, Ed25519PublicKey]:
    keys = {}
    for entry in filter(None, current_app.config["CARD_RETIRED_KEYS"].split(",")):
        key_id, _, public_hex = entry.strip().partition(":")
        keys[int(key_id)] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    keys[current_app.config["CARD_KEY_ID"]] = signing_key().public_key()
    return keys


def public_keys() -> list[dict]:
    """The card-verifying public keys, current and retired, for a terminal to check a
    card's signature while offline: each key's id and its raw 32 bytes, base64url
    without padding. Public by nature; the signing key never leaves the service."""
    return [
        {
            "key_id": key_id,
            "public_key": base64.urlsafe_b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
            .rstrip(b"=")
            .decode(),
        }
        for key_id, key in sorted(verifying_keys().items())
    ]


def issue_card(actor_name: str, elder: Elder) -> Card:
    """A new card for the elder; it supersedes every earlier one.

    Issues for one elder at the same moment take turns: the elder's row is locked first
    (PostgreSQL; SQLite's writers queue already), so each reads the generation the one
    before it wrote. Should two still take one generation, its unique constraint makes the
    second a 409 `card_issued_meanwhile`, never a 500."""
    today = elder.community.district.local_today()
    if not is_active_on(elder, today):
        raise Conflict(
            "elder_inactive",
            f"The elder is {elder.status} since {elder.status_since}; no card is issued.",
        )
    db.session.execute(select(Elder.id).where(Elder.id == elder.id).with_for_update())
    latest = latest_generation(elder.id)
    years = current_app.config["CARD_VALID_YEARS"]
    card = Card(
        id=os.urandom(8).hex(),
        elder_id=elder.id,
        generation=(latest or 0) + 1,
        key_id=current_app.config["CARD_KEY_ID"],
        expires_on=today.replace(year=today.year + years, day=min(today.day, 28)),
        issued_by=actor_name,
    )
    return add_unique(
        card,
        "card_issued_meanwhile",
        "Another card was issued for this elder at the same moment; print that one, or"
        " issue again.",
        {"elder_id": elder.id},
    )


def payload_of(card: Card, key: Ed25519PrivateKey | None = None) -> str:
    """The card's signed payload; `key` saves deriving the signing key again when many
    cards are signed at once (a sheet to print)."""
    # Ed25519 signatures are deterministic, so a card's payload can be made again at will.
    claims = CardClaims(card.key_id, bytes.fromhex(card.id), card.generation, card.expires_on)
    return encode_card(claims, key or signing_key())


def png_of(payload: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(payload)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


def get_card(actor, card_id: str) -> Card:
    """A card of an elder the actor may see; anything else is not found."""
    card = db.session.get(Card, card_id)
    visible = card is not None and db.session.scalar(
        elders_query(actor).where(Elder.id == card.elder_id).with_only_columns(Elder.id)
    )
    if not visible:
        raise NotFound("card")
    return card


def revoke_card(card: Card, reason: str) -> Card:
    """Revoke a card once: a conditional UPDATE, so of two revokes at once the first one's
    time and reason stand and the second is a 409 `card_revoked` saying them."""
    revoked = db.session.execute(
        update(Card)
        .where(Card.id == card.id, Card.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(card)
    if revoked.rowcount != 1:
        raise Conflict(
            "card_revoked",
            "The card is already revoked.",
            {"revoked_at": card.revoked_at.isoformat(), "reason": card.revoke_reason},
        )
    return card


def latest_generation(elder_id: int) -> int | None:
    return db.session.scalar(select(func.max(Card.generation)).where(Card.elder_id == elder_id))


def is_superseded(card: Card) -> bool:
    return card.generation < latest_generation(card.elder_id)


# Judging a card: the one place that says whether a card works.

# What is wrong with a card the counter was shown, in the service's words.
CARD_PROBLEMS = {
    "card_revoked": "This card has been revoked.",
    "card_superseded": "This card was replaced by a newer card.",
    "card_expired": "This card has expired.",
}

_newer = aliased(Card)


def card_statement(*also):
    """The statement a card is judged by: the card with its elder, the elder's newest
    generation by the judged moment and `also`, scalar subqueries on the card's elder
    (`Card.elder_id`) that a caller reads in the same statement (a scan: the elder's
    booking and subsidized meals). Build it once: building costs more than running it."""
    return (
        select(
            Card,
            # The elder's newest card issued by the judged moment: offline scans are
            # judged then.
            select(func.max(_newer.generation))
            .where(
                _newer.elder_id == Card.elder_id,
                _newer.issued_at <= bindparam("at", type_=UTCDateTime),
            )
            .scalar_subquery(),
            *also,
        )
        # The elder's community and its district too: the answer gives the elder's age,
        # which the district's date decides (the counter's canteen is no ORM object that
        # would have brought the district into the session).
        .options(joinedload(Card.elder).joinedload(Elder.community).joinedload(Community.district))
        .where(Card.id == bindparam("card_id"))
    )


CARD_AND_NEWEST_GENERATION = card_statement()


@dataclass(frozen=True)
class Judgement:
    """The card shown (None for a look-up by elder id), its elder, and what was wrong with
    the card at the judged moment (None when it worked)."""

    card: Card | None
    elder: Elder
    problem: str | None
    # The values of the statement's `also` (card_statement); None for a look-up by elder.
    also: tuple | None = None

    def refusal(self) -> Conflict:
        # The elder's name as the counter's answer to a meal gives it: the cashier tells
        # the elder in front of them why, by name.
        detail = {"elder_id": self.elder.id, "elder_name": self.elder.name}
        return Conflict(self.problem, CARD_PROBLEMS[self.problem], detail)


def judge(
    district_code: str,
    data: dict,
    at: datetime,
    day: date,
    *,
    statement=CARD_AND_NEWEST_GENERATION,
    params: dict | None = None,
) -> Judgement:
    """Judge the card in `data["qr_payload"]` as it stood at `at` (local day `day`), or find
    the elder a counter names by `data["elder_id"]` in the counter's district.

    Used by scans (offline ones judged as the card stood then) and by top-ups. A payload
    that is not a card of this service is a 422 `card_invalid`. `statement` is one of
    `card_statement`'s, its own bound values in `params`."""
    if data.get("qr_payload") is None:
        elder = db.session.get(Elder, data["elder_id"])
        # The counter look-up finds elders of the canteen's own district only.
        if elder is None or elder.hukou_district != district_code:
            raise ValidationFailed(
                {"elder_id": ["No such elder is registered in this canteen's district."]}
            )
        return Judgement(None, elder, None)
    try:
        claims = decode_card(data["qr_payload"], verifying_keys())
    except InvalidCard as error:
        raise ApiError(422, "card_invalid", f"Not a valid elder card: {error}.") from None
    found = db.session.execute(
        statement, {"card_id": claims.card_id.hex(), "at": at, **(params or {})}
    ).first()
    if found is None or found[0].generation != claims.generation:
        raise ApiError(422, "card_invalid", "Not a valid elder card: unknown to this service.")
    card, newest, *also = found
    return Judgement(card, card.elder, _problem(card, newest, at, day), tuple(also))


def elder_shown(district, data: dict) -> Elder:
    """The elder a counter names by card, judged as it stands now, or by the look-up's
    `elder_id`, for counter business other than a meal (a top-up): a card that no longer
    works is refused; the elder's registry status does not stop money paid in."""
    now = utcnow()
    judged = judge(district.code, data, now, district.local(now).date())
    if judged.problem is not None:
        raise judged.refusal()
    return judged.elder


def _problem(card: Card, newest: int | None, at: datetime, day: date) -> str | None:
    if card.revoked_at is not None and card.revoked_at <= at:
        return "card_revoked"
    if newest is not None and newest > card.generation:
        return "card_superseded"
    if card.expires_on < day:
        return "card_expired"
    return None


def cards_not_working(district_code: str, today: date) -> dict[str, list[dict]]:
    """The unexpired cards of the district's elders that no longer work, as lists of card
    ids and generations (nothing personal) by why: `revoked`, `superseded` by a newer
    card, or their elder `inactive` (deceased or moved) as of today."""
    newest = (
        select(Card.elder_id, func.max(Card.generation).label("generation"))
        .group_by(Card.elder_id)
        .subquery()
    )
    gone = (Elder.status != ElderStatus.ACTIVE) & (Elder.status_since <= today)
    rows = db.session.execute(
        select(Card.id, Card.generation, Card.revoked_at, Card.generation < newest.c.generation)
        .join(Elder, Elder.id == Card.elder_id)
        .join(newest, newest.c.elder_id == Card.elder_id)
        .where(
            Elder.hukou_district == district_code,
            Card.expires_on >= today,
            Card.revoked_at.is_not(None) | (Card.generation < newest.c.generation) | gone,
        )
        .order_by(Card.id)
    )
    listed = {"revoked": [], "superseded": [], "inactive": []}
    for card_id, generation, revoked_at, superseded in rows:
        why = "revoked" if revoked_at is not None else "superseded" if superseded else "inactive"
        listed[why].append({"card_id": card_id, "generation": generation})
    return listed


def working_cards(district_code: str, today: date) -> list[tuple[str, int, Elder]]:
    """The cards that work today in the district, one per elder at most: each active
    elder's newest card, unrevoked and unexpired, as (card id, generation, elder), in one
    query whatever their number."""
    newest = (
        select(Card.elder_id, func.max(Card.generation).label("generation"))
        .group_by(Card.elder_id)
        .subquery()
    )
    active = (Elder.status == ElderStatus.ACTIVE) | (Elder.status_since > today)
    rows = db.session.execute(
        select(Card.id, Card.generation, Elder)
        .join(Elder, Elder.id == Card.elder_id)
        .join(
            newest,
            (newest.c.elder_id == Card.elder_id) & (newest.c.generation == Card.generation),
        )
        .where(
            Elder.hukou_district == district_code,
            Card.revoked_at.is_(None),
            Card.expires_on >= today,
            active,
        )
        .order_by(Elder.id)
    )
    return [tuple(row) for row in rows]
