"""What each movement of a balance's history paid for. Meals and orders sit above
balances, so their day, slot and fate are asked for through a signal, in the words of
`Outcome`, and the history is worded from them in one place (pages.movement_words)."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from mealservice.balances.models import BalanceMovement
from mealservice.balances.signals import purchases_wanted


class Outcome(StrEnum):
    """What became of a meal or an order paid from the balance."""

    AHEAD = "ahead"  # an order still to come (or on its way)
    EATEN = "eaten"  # a meal served at the counter, or a booking eaten there
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    NOT_TAKEN_UP = "not_taken_up"  # a booking nobody came for
    NOT_DELIVERED = "not_delivered"
    VOIDED = "voided"  # a meal served, then voided at the counter


@dataclass(frozen=True)
class Purchase:
    """A meal or an order as its movements name it."""

    is_order: bool
    day: date
    slot: str
    outcome: Outcome


def purchases_of(movements: list[BalanceMovement]) -> dict[int, Purchase]:
    """Each movement's purchase, by the movement's id (top-ups and payouts buy nothing)."""
    meal_ids = {m.meal_id for m in movements if m.meal_id is not None}
    order_ids = {m.order_id for m in movements if m.order_id is not None}
    if not meal_ids and not order_ids:
        return {}
    found: dict[tuple[str, int], Purchase] = {}
    for _receiver, answer in purchases_wanted.send(None, meal_ids=meal_ids, order_ids=order_ids):
        found.update(answer or {})
    named = {
        movement.id: ("orders", movement.order_id)
        if movement.order_id is not None
        else ("meals", movement.meal_id)
        for movement in movements
    }
    return {movement_id: found[key] for movement_id, key in named.items() if key in found}
