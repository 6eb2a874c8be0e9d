"""Elder cards: issuing, revoking, and the keys and images behind them."""

import hashlib
import io
import os

import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import func, select

from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import Conflict, NotFound
from mealservice.elders.card_codec import CardClaims, encode_card
from mealservice.elders.models import Card, Elder
from mealservice.elders.services import elders_query, is_active_on


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


def issue_card(actor_name: str, elder: Elder) -> Card:
    """A new card for the elder; it supersedes every earlier one."""
    today = elder.community.district.local_today()
    if not is_active_on(elder, today):
        raise Conflict(
            "elder_inactive",
            f"The elder is {elder.status} since {elder.status_since}; no card is issued.",
        )
    latest = db.session.scalar(select(func.max(Card.generation)).where(Card.elder_id == elder.id))
    years = current_app.config["CARD_VALID_YEARS"]
    card = Card(
        id=os.urandom(8).hex(),
        elder_id=elder.id,
        generation=(latest or 0) + 1,
        key_id=current_app.config["CARD_KEY_ID"],
        expires_on=today.replace(year=today.year + years, day=min(today.day, 28)),
        issued_by=actor_name,
    )
    db.session.add(card)
    db.session.flush()
    return card


def payload_of(card: Card) -> str:
    # Ed25519 signatures are deterministic, so a card's payload can be made again at will.
    claims = CardClaims(card.key_id, bytes.fromhex(card.id), card.generation, card.expires_on)
    return encode_card(claims, signing_key())


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
    if card.revoked_at is not None:
        raise Conflict(
            "card_revoked",
            "The card is already revoked.",
            {"revoked_at": card.revoked_at.isoformat(), "reason": card.revoke_reason},
        )
    card.revoked_at = utcnow()
    card.revoke_reason = reason
    db.session.flush()
    return card


def latest_generation(elder_id: int) -> int | None:
    return db.session.scalar(select(func.max(Card.generation)).where(Card.elder_id == elder_id))


def is_superseded(card: Card) -> bool:
    return card.generation < latest_generation(card.elder_id)
