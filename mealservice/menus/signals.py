"""What menus tell the packages above them, which listen without menus knowing them."""

from blinker import Namespace

signals = Namespace()

# Vetoes sent before a menu changes in a way that could break what was ordered or served;
# a receiver that must refuse raises Conflict.
# Options `option_ids` are about to be removed from menu `sender`.
options_removing = signals.signal("menu-options-removing")
# Menu `sender` is about to go back to a draft.
menu_unpublishing = signals.signal("menu-unpublishing")
