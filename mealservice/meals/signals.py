"""What meals tell the packages above them, which listen without meals knowing them."""

from blinker import Namespace

signals = Namespace()

# A meal or an order is about to be written, or a meal voided, for canteen `sender` on
# `day`. A veto: a receiver that must refuse (the month is claimed) raises Conflict.
month_writing = signals.signal("meal-month-writing")


def ensure_month_open(canteen_id: int, day) -> None:
    """Ask the packages above whether the canteen's books for `day`'s month still take
    writes; the first that must refuse raises."""
    month_writing.send(canteen_id, day=day)
