"""Serving a demo meal as a counter would: at the elder's usual place, paid from the meal
balance while it lasts."""

from datetime import datetime
from types import SimpleNamespace

from mealservice.balances.services import balance_of
from mealservice.core.db import db
from mealservice.core.errors import ApiError
from mealservice.elders.cards import payload_of
from mealservice.elders.models import Card, Elder
from mealservice.meals.services import scan
from mealservice.places.models import Canteen


def usual_place(elder: Elder, places: list[Canteen]) -> Canteen:
    """The place nearest the elder's home: most elders eat round the corner."""
    home = (elder.lat, elder.lng) if elder.lat is not None else (30.27, 30.27)
    return min(places, key=lambda c: (c.lat - home[0]) ** 2 + (c.lng - home[1]) ** 2)


def serve(
    canteen: Canteen,
    card: Card,
    slot: str,
    moment: datetime,
    *,
    payload: str | None = None,
    may_have_balance: bool = True,
) -> None:
    """`payload`: the card's, made beforehand; `may_have_balance=False`: the elder is known
    to have no meal balance. Both spare a week of meals a look-up each."""
    counter = SimpleNamespace(username="seed-demo", role="cashier")
    scanned = {"qr_payload": payload or payload_of(card), "slot": slot}
    # Elders with a meal balance pay from it; when it runs short they pay cash.
    has_balance = may_have_balance and balance_of(card.elder_id)
    payments = [{"method": "balance"}, {"method": "cash"}] if has_balance else [{}]
    for payment in payments:
        try:
            with db.session.begin_nested():
                scan(counter, canteen, {**scanned, "payment": payment}, now=moment)
            return
        except ApiError as refusal:
            # A full canteen or an elder no longer active turns them away, as it would.
            if refusal.code != "insufficient_balance":
                return
