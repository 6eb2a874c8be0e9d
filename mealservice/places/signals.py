"""What places tell the packages above them, which listen without places knowing them."""

from blinker import Namespace

signals = Namespace()

# A canteen (the sender) was put on the blacklist: sent with the BlacklistEntry, `entry`.
canteen_blacklisted = signals.signal("canteen-blacklisted")
