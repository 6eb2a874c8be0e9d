import os
import re
from datetime import date

import base45
import pytest
import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mealservice.elders.card_codec import CardClaims, InvalidCard, decode_card, encode_card

KEY = Ed25519PrivateKey.generate()
OLD_KEY = Ed25519PrivateKey.generate()
CLAIMS = CardClaims(key_id=2, card_id=os.urandom(8), generation=3, expires_on=date(2029, 12, 31))


def keys():
    return {2: KEY.public_key()}


def test_a_card_reads_back_to_its_claims():
    assert decode_card(encode_card(CLAIMS, KEY), keys()) == CLAIMS


def test_the_payload_fits_the_qr_alphanumeric_mode_and_a_low_version():
    payload = encode_card(CLAIMS, KEY)
    assert re.fullmatch(r"[0-9A-Z $%*+\-./:]+", payload), "QR alphanumeric characters only"
    assert len(payload) == 4 + 117  # "MS1:" and 78 bytes in base45
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=True)
    assert code.version <= 6


def test_the_payload_carries_no_personal_data():
    # 78 bytes: the format, key id, card id, generation, expiry and the signature; nothing else.
    payload = encode_card(CLAIMS, KEY)
    assert len(base45.b45decode(payload.removeprefix("MS1:"))) == 14 + 64


def test_a_changed_byte_breaks_the_signature():
    raw = bytearray(base45.b45decode(encode_card(CLAIMS, KEY).removeprefix("MS1:")))
    raw[11] ^= 0x01  # the generation: a photocopied card "upgraded" by hand
    forged = "MS1:" + base45.b45encode(bytes(raw)).decode()
    with pytest.raises(InvalidCard, match="signature"):
        decode_card(forged, keys())


def test_a_card_signed_by_another_key_is_refused():
    with pytest.raises(InvalidCard, match="signature"):
        decode_card(encode_card(CLAIMS, Ed25519PrivateKey.generate()), keys())


def test_a_retired_key_still_verifies_until_it_is_removed():
    old = CardClaims(key_id=1, card_id=os.urandom(8), generation=1, expires_on=date(2027, 6, 30))
    payload = encode_card(old, OLD_KEY)
    assert decode_card(payload, {**keys(), 1: OLD_KEY.public_key()}) == old
    with pytest.raises(InvalidCard, match="unknown or retired key"):
        decode_card(payload, keys())


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("", "not a mealservice card"),
        ("hello", "not a mealservice card"),
        ("MS1:", "damaged"),
        ("MS1:!!!!", "damaged"),
        ("MS1:" + "0" * 117, "unknown card format"),
        ("MS1:ABC", "damaged"),
    ],
)
def test_garbage_is_refused_with_a_reason(payload, reason):
    with pytest.raises(InvalidCard, match=reason):
        decode_card(payload, keys())


def test_claims_out_of_range_are_a_programming_error():
    with pytest.raises(ValueError):
        CardClaims(key_id=1, card_id=b"short", generation=1, expires_on=date(2027, 1, 1))
    with pytest.raises(ValueError):
        CardClaims(key_id=1, card_id=os.urandom(8), generation=1, expires_on=date(2019, 1, 1))
