"""The QR payload of an elder card: compact, signed, and free of personal data.

Layout before encoding (14 bytes, then a 64-byte Ed25519 signature over them):
format version (1) · key id (1) · random card id (8) · card generation (2) ·
expiry as days since 2020-01-01 (2).

Ed25519 rather than a shared secret: a terminal holds only public keys, so a stolen one
cannot forge cards. Base45 (RFC 9285, as the EU health-certificate QR codes use) keeps the
text inside the QR alphanumeric alphabet, so the code stays at a low version that cheap
scanners read at a glance."""

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import base45
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "MS1:"
FORMAT_VERSION = 1
EPOCH = date(2020, 1, 1)
CLAIMS = struct.Struct(">BB8sHH")
SIGNATURE_BYTES = 64


class InvalidCard(ValueError):
    """Not one of our cards: garbage, tampered with, or signed by an unknown key."""


@dataclass(frozen=True)
class CardClaims:
    key_id: int
    card_id: bytes
    generation: int
    expires_on: date

    def __post_init__(self):
        if len(self.card_id) != 8:
            raise ValueError("a card id is 8 random bytes")
        if not (0 <= self.key_id < 256 and 0 <= self.generation < 65536):
            raise ValueError("key id or generation out of range")
        if not (EPOCH <= self.expires_on < EPOCH + timedelta(days=65536)):
            raise ValueError("expiry out of range")


def encode_card(claims: CardClaims, private_key: Ed25519PrivateKey) -> str:
    body = CLAIMS.pack(
        FORMAT_VERSION,
        claims.key_id,
        claims.card_id,
        claims.generation,
        (claims.expires_on - EPOCH).days,
    )
    return PREFIX + base45.b45encode(body + private_key.sign(body)).decode()


def decode_card(payload: str, public_keys: Mapping[int, Ed25519PublicKey]) -> CardClaims:
    """The card's claims if its signature holds under the key it names; else InvalidCard.

    Needs no database: revocation, supersession and expiry are judged by the caller."""
    text = payload.strip()
    if not text.startswith(PREFIX):
        raise InvalidCard("not a mealservice card")
    try:
        raw = base45.b45decode(text[len(PREFIX) :])
    except (ValueError, KeyError):
        raise InvalidCard("the code is damaged") from None
    if len(raw) != CLAIMS.size + SIGNATURE_BYTES:
        raise InvalidCard("the code is damaged")
    body, signature = raw[: CLAIMS.size], raw[CLAIMS.size :]
    version, key_id, card_id, generation, days = CLAIMS.unpack(body)
    if version != FORMAT_VERSION:
        raise InvalidCard("an unknown card format")
    key = public_keys.get(key_id)
    if key is None:
        raise InvalidCard("signed by an unknown or retired key")
    try:
        key.verify(signature, body)
    except InvalidSignature:
        raise InvalidCard("the signature does not hold") from None
    return CardClaims(key_id, card_id, generation, EPOCH + timedelta(days=days))
