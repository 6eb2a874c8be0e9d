"""Card test vectors shared by the two decoders of a card's payload: the service's
(mealservice/elders/card_codec.py) and the counter page's offline one
(static/js/cashier/codec.js, run on the same file by tests/browser/test_card_codec.py).

tests/data/card_vectors.json is made by `build_vectors` below, from the encoder and a key
that signs nothing else; `.venv/bin/python -m tests.elders.test_card_vectors` writes it
again. Every vector holds a payload and `decoded`, what the page's decodeCard yields (null
when the page refuses it); the service either reads it as those claims under `key_id` or
refuses it with InvalidCard(`error`). The page cannot check a signature, so a forged card
or one signed by an unknown key is refused by the service and read by the page."""

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mealservice.elders.card_codec import (
    CLAIMS,
    EPOCH,
    FORMAT_VERSION,
    PREFIX,
    CardClaims,
    InvalidCard,
    decode_card,
    encode_card,
)

VECTORS_FILE = Path(__file__).resolve().parents[1] / "data" / "card_vectors.json"

# The vectors' key, known to everyone: it signs no real card.
SEED = hashlib.sha256(b"mealservice card test vectors").digest()
KEY_ID = 7
UNKNOWN_KEY_ID = 9


def vector_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(SEED)


def keys() -> dict:
    return {KEY_ID: vector_key().public_key()}


def as_decoded(claims: CardClaims) -> dict:
    """The claims as codec.js's decodeCard yields them."""
    return {
        "cardId": claims.card_id.hex(),
        "generation": claims.generation,
        "expiresOn": claims.expires_on.isoformat(),
    }


def build_vectors() -> dict:
    key = vector_key()
    printed = CardClaims(KEY_ID, bytes.fromhex("0123456789abcdef"), 3, date(2029, 12, 31))
    read = [
        ("a card as printed", printed),
        (
            "the smallest fields: a card id of zeros, generation 0, expiring on the epoch",
            CardClaims(KEY_ID, bytes(8), 0, EPOCH),
        ),
        (
            "the largest fields: a card id of ones, generation 65535, the last expiry day",
            CardClaims(KEY_ID, b"\xff" * 8, 65535, EPOCH + timedelta(days=65535)),
        ),
        (
            "the byte order: generation 256, expiring 256 days after the epoch",
            CardClaims(KEY_ID, bytes.fromhex("00ff10ee20dd30cc"), 256, EPOCH + timedelta(256)),
        ),
        (
            "expiring on a leap day",
            CardClaims(KEY_ID, bytes.fromhex("a1b2c3d4e5f60718"), 12, date(2028, 2, 29)),
        ),
    ]
    vectors = [
        {
            "name": name,
            "payload": encode_card(claims, key),
            "key_id": claims.key_id,
            "decoded": as_decoded(claims),
        }
        for name, claims in read
    ]
    payload = encode_card(printed, key)
    vectors.append(
        {
            "name": "a scanner's blanks and line end around the payload",
            "payload": f" \t{payload}\r\n",
            "key_id": KEY_ID,
            "decoded": as_decoded(printed),
        }
    )

    def refused(name: str, payload: str, error: str, decoded: dict | None = None) -> dict:
        return {"name": name, "payload": payload, "error": error, "decoded": decoded}

    raw = base45.b45decode(payload.removeprefix(PREFIX))
    forged = bytearray(raw)
    forged[11] ^= 0x01  # the generation's low byte, changed by hand: 3 → 2
    next_version = bytes([FORMAT_VERSION + 1]) + raw[1 : CLAIMS.size]
    foreign = CardClaims(UNKNOWN_KEY_ID, bytes.fromhex("fedcba9876543210"), 1, date(2027, 6, 30))
    damaged = "the code is damaged"
    vectors += [
        refused("nothing", "", "not a mealservice card"),
        refused("another code", "HELLO-WORLD", "not a mealservice card"),
        refused("the prefix in small letters", "ms1:" + payload[4:], "not a mealservice card"),
        refused("the prefix alone", PREFIX, damaged),
        refused("cut short by one group", payload[:-3], damaged),
        refused("a stray character after the code", payload + "0", damaged),
        refused("a small letter inside the code", payload[:10] + "a" + payload[11:], damaged),
        refused("a group above 65535", PREFIX + ":::" + payload[7:], damaged),
        refused(
            "a format version after ours",
            PREFIX + base45.b45encode(next_version + key.sign(next_version)).decode(),
            "an unknown card format",
        ),
        refused(
            "a generation changed by hand",
            PREFIX + base45.b45encode(bytes(forged)).decode(),
            "the signature does not hold",
            as_decoded(CardClaims(KEY_ID, printed.card_id, 2, printed.expires_on)),
        ),
        refused(
            "signed by a key the service does not hold",
            encode_card(foreign, key),
            "signed by an unknown or retired key",
            as_decoded(foreign),
        ),
    ]
    return {
        "about": (
            "Card payloads and what they decode to, for mealservice/elders/card_codec.py and "
            "static/js/cashier/codec.js alike. Made by tests/elders/test_card_vectors.py."
        ),
        "key": {
            "key_id": KEY_ID,
            "seed_hex": SEED.hex(),
            "public_key_hex": key.public_key().public_bytes_raw().hex(),
        },
        "vectors": vectors,
    }


def load_vectors() -> dict:
    return json.loads(VECTORS_FILE.read_text(encoding="utf-8"))


def write_vectors() -> None:
    text = json.dumps(build_vectors(), ensure_ascii=False, indent=2) + "\n"
    VECTORS_FILE.write_text(text, encoding="utf-8")


# Missing, the file fails the test of the encoder below (and `python -m` can write it).
VECTORS = load_vectors()["vectors"] if VECTORS_FILE.exists() else []
READ = [vector for vector in VECTORS if "error" not in vector]
REFUSED = [vector for vector in VECTORS if "error" in vector]


@pytest.mark.parametrize("vector", READ, ids=[vector["name"] for vector in READ])
def test_the_service_reads_each_card_as_its_vector_says(vector):
    claims = decode_card(vector["payload"], keys())
    assert claims.key_id == vector["key_id"]
    assert as_decoded(claims) == vector["decoded"]


@pytest.mark.parametrize("vector", REFUSED, ids=[vector["name"] for vector in REFUSED])
def test_the_service_refuses_each_bad_payload_for_its_vectors_reason(vector):
    with pytest.raises(InvalidCard) as refusal:
        decode_card(vector["payload"], keys())
    assert str(refusal.value) == vector["error"]


def test_the_vectors_are_what_the_encoder_makes_with_their_key():
    # Ed25519 signs deterministically: the same claims and key make the same payload. A
    # change to the format shows here: write the file again, and codec.js must follow.
    assert load_vectors() == build_vectors()


def test_only_what_needs_the_signature_is_read_by_the_page_and_refused_by_the_service():
    page_reads = {vector["name"] for vector in REFUSED if vector["decoded"] is not None}
    assert page_reads == {
        "a generation changed by hand",
        "signed by a key the service does not hold",
    }
    assert READ and all(vector["decoded"] is not None for vector in READ)


if __name__ == "__main__":
    write_vectors()
