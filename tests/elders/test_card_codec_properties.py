"""Properties of the card payload over generated cards: it reads back to exactly what was
signed, any change to it is refused, and it never carries the elder's ID number."""

import re
from datetime import date, timedelta

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mealservice.core.idnumber import make_id_number
from mealservice.elders.card_codec import (
    EPOCH,
    PREFIX,
    CardClaims,
    InvalidCard,
    decode_card,
    encode_card,
)
from mealservice.elders.cards import payload_of
from mealservice.elders.models import Elder
from mealservice.elders.protection import id_number_lookup_hash
from tests import factories

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
bounded = settings(derandomize=True, max_examples=200, deadline=None, database=None)

claims = st.builds(
    CardClaims,
    key_id=st.integers(min_value=0, max_value=255),
    card_id=st.binary(min_size=8, max_size=8),
    generation=st.integers(min_value=0, max_value=65535),
    expires_on=st.dates(min_value=EPOCH, max_value=EPOCH + timedelta(days=65535)),
)
QR_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")


def keys_for(card: CardClaims):
    return {card.key_id: KEY.public_key()}


def signed_bytes(payload: str) -> bytes:
    return base45.b45decode(payload.removeprefix(PREFIX))


@bounded
@given(claims)
def test_a_payload_reads_back_to_exactly_its_claims(card):
    payload = encode_card(card, KEY)
    assert decode_card(payload, keys_for(card)) == card
    assert QR_ALPHANUMERIC.fullmatch(payload)


@bounded
@given(claims, st.data())
def test_changing_any_byte_of_what_was_signed_is_refused(card, data):
    raw = bytearray(signed_bytes(encode_card(card, KEY)))
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="position")
    raw[position] ^= data.draw(st.integers(min_value=1, max_value=255), label="flip")
    with pytest.raises(InvalidCard):
        decode_card(PREFIX + base45.b45encode(bytes(raw)).decode(), keys_for(card))


@bounded
@given(claims, st.data())
def test_changing_any_character_of_the_payload_is_refused(card, data):
    payload = encode_card(card, KEY)
    position = data.draw(st.integers(min_value=0, max_value=len(payload) - 1), label="position")
    character = data.draw(st.characters(codec="utf-8").filter(lambda c: c != payload[position]))
    tampered = payload[:position] + character + payload[position + 1 :]
    with pytest.raises(InvalidCard):
        decode_card(tampered, keys_for(card))


@bounded
@given(claims, st.integers(min_value=1, max_value=40))
def test_a_cut_or_lengthened_payload_is_refused(card, cut):
    payload = encode_card(card, KEY)
    for tampered in (payload[:-cut], payload + payload[-cut:]):
        with pytest.raises(InvalidCard):
            decode_card(tampered, keys_for(card))


@bounded
@given(claims)
def test_a_card_signed_with_another_key_is_refused(card):
    with pytest.raises(InvalidCard):
        decode_card(encode_card(card, OTHER_KEY), keys_for(card))
    with pytest.raises(InvalidCard):
        decode_card(encode_card(card, KEY), {(card.key_id + 1) % 256: KEY.public_key()})


# The examples share the `db` fixture's one rolled-back transaction; each registers an
# elder of its own, so nothing carries over from one to the next.
@settings(bounded, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2000, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    region=st.text(alphabet="0123456789", min_size=6, max_size=6),
)
def test_an_issued_cards_payload_never_holds_the_id_number(db, district, born, sequence, region):
    id_number = make_id_number(region, born, sequence)
    assume(
        db.session.scalar(
            select(Elder.id).where(Elder.id_number_hash == id_number_lookup_hash(id_number))
        )
        is None
    )
    elder = factories.create_elder(district, id_number=id_number)
    payload = payload_of(factories.create_card(elder))
    raw = signed_bytes(payload)
    for text in (id_number, id_number[6:14], id_number[:17]):
        assert text not in payload
        assert text.encode() not in raw
    # The signed part is the card's own fields and nothing else: 14 bytes and a signature.
    assert len(raw) == 14 + 64
