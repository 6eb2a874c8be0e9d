"""What balances ask of the packages above them, which answer without balances knowing them."""

from blinker import Namespace

signals = Namespace()

# The balance history is being worded: sent with `meal_ids` and `order_ids`, those its
# movements name; receivers return {("meals" | "orders", id): history.Purchase}.
purchases_wanted = signals.signal("purchases-wanted")
