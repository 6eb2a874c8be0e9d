"""What elders tell the packages above them, which listen without elders knowing them."""

from blinker import Namespace

signals = Namespace()

# An elder's status, or the date it took effect, changed: sent with `since`, the earliest
# day whose meals the change may bear on.
elder_status_changed = signals.signal("elder-status-changed")

# Asked before a status change, to show what it would close: sent with `preview`, a
# services.StatusPreview the packages above add to (the orders cancelled and refunded, the
# standing orders stopped) from the same queries their receivers of elder_status_changed
# act on. Read-only: a receiver writes nothing.
elder_status_previewing = signals.signal("elder-status-previewing")
