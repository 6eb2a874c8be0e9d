"""The counter page's card decoder (static/js/cashier/codec.js) in Chromium, on the card
vectors the service's decoder is held to (tests/elders/test_card_vectors.py): the two read
every payload alike, so what the page judges offline is what the service will judge."""

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
