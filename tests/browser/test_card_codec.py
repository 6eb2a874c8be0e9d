"""The counter page's card decoder (static/js/cashier/codec.js) in Chromium, on the card
vectors the service's decoder is held to (tests/elders/test_card_vectors.py): the two read
every payload alike, so what the page judges offline is what the service will judge."""

import base64
from datetime import date

import base45
import pytest

from mealservice.elders.card_codec import EPOCH
from tests.browser.conftest import site_context
from tests.elders.test_card_vectors import load_vectors

pytestmark = [pytest.mark.browser, pytest.mark.live]

CODEC = "/static/js/cashier/codec.js"


def test_the_page_decodes_every_vector_as_the_service_says(browser, live_server):
    vectors = load_vectors()["vectors"]
    context = site_context(browser, live_server)
    try:
        page = context.new_page()
        # A page the service served, under its content security policy: the module is
        # imported as the counter page imports it.
        assert page.goto("/login").status == 200
        alphabet, epoch_ms, decoded = page.evaluate(
            """async ([codec, payloads]) => {
                const { BASE45, EPOCH_MS, decodeCard } = await import(codec);
                return [BASE45, EPOCH_MS, payloads.map((payload) => decodeCard(payload))];
            }""",
            [CODEC, [vector["payload"] for vector in vectors]],
        )
    finally:
        context.close()
    assert alphabet == base45.BASE45_CHARSET
    assert epoch_ms == (EPOCH - date(1970, 1, 1)).days * 86_400_000
    got = {vector["name"]: found for vector, found in zip(vectors, decoded, strict=True)}
    assert got == {vector["name"]: vector["decoded"] for vector in vectors}


def test_the_page_checks_a_cards_signature_with_the_public_key_alone(browser, live_server):
    """Offline the page checks signatures with the service's public keys (Ed25519 in Web
    Crypto): a printed card holds, a card with one byte of its signature changed does not,
    and a card signed by a key the page has not heard of is left for the service."""
    vectors = load_vectors()
    key = vectors["key"]
    public_key = base64.urlsafe_b64encode(bytes.fromhex(key["public_key_hex"])).rstrip(b"=")
    keys = [{"key_id": key["key_id"], "public_key": public_key.decode()}]
    signed = [v["payload"] for v in vectors["vectors"] if "error" not in v]
    body = bytearray(base45.b45decode(signed[0].strip()[4:]))
    body[-1] ^= 0x01
    tampered = "MS1:" + base45.b45encode(bytes(body)).decode()
    context = site_context(browser, live_server)
    try:
        page = context.new_page()
        assert page.goto("/login").status == 200
        verdicts = page.evaluate(
            """async ([codec, payloads, keys]) => {
                const { signatureHolds } = await import(codec);
                const other = keys.map((k) => Object.assign({}, k, { key_id: k.key_id + 1 }));
                return {
                    signed: await Promise.all(payloads.signed.map((p) => signatureHolds(p, keys))),
                    tampered: await signatureHolds(payloads.tampered, keys),
                    unknownKey: await signatureHolds(payloads.signed[0], other),
                    noKeys: await signatureHolds(payloads.signed[0], []),
                };
            }""",
            [CODEC, {"signed": signed, "tampered": tampered}, keys],
        )
    finally:
        context.close()
    assert verdicts == {
        "signed": [True] * len(signed),
        "tampered": False,
        "unknownKey": None,
        "noKeys": None,
    }
