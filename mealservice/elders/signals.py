"""What elders tell the packages above them, which listen without elders knowing them."""

from blinker import Namespace

signals = Namespace()

# An elder's status, or the date it took effect, changed: sent with `since`, the earliest
# day whose meals the change may bear on.
elder_status_changed = signals.signal("elder-status-changed")
