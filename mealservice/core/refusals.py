"""The one table of refusal texts: what a person reads when the service refuses, by the
error code of the HTTP contract (API.md), in the reader's language.

Every page explains a refusal through `explain`, and the cashier page receives its part
of the table (`words_for("counter")`), so a code is worded in one place. Where a cashier
and a relative ordering on a phone need different sentences for the same code, the entry
holds one per audience: "counter" (the cashier page), "ordering" (elders and relatives),
"delivery" (the delivery pages); "" is everyone else.

Placeholders name keys of the refusal's `detail` (the cashier page fills its own)."""

from flask_babel import lazy_gettext as _l

from mealservice.core.db import db
from mealservice.core.errors import ApiError

# The audiences whose sentences differ from everyone else's.
COUNTER, ORDERING, DELIVERY = "counter", "ordering", "delivery"

WORDS = {
    # Cards and the counter
    "card_invalid": _l("This is not a valid meal card. Look the elder up by name."),
    "card_revoked": _l("This card has been cancelled (reported lost). Look the elder up."),
    "card_superseded": _l("This is an old card: a newer card was issued. Ask for it."),
    "card_expired": _l("This card has expired. A manager can issue a new one."),
    "card_issued_meanwhile": _l(
        "Another card was issued for this elder at the same moment. Print that one, or issue again."
    ),
    "elder_inactive": {
        "counter": _l("The elder is no longer registered as active."),
        "ordering": _l(
            "This elder can no longer order meals here. Please ask the community office."
        ),
    },
    "already_served": {
        "counter": _l("Already had this meal today."),
        "delivery": _l("The elder has had this meal meanwhile, so it is not sent again."),
    },
    "elder_not_deceased": _l(
        "Only a deceased elder's balance is paid out; a living elder spends it on meals."
    ),
    "nothing_owed": _l("The balance holds nothing to pay out."),
    "already_served_at": _l("Already had this meal at %(canteen)s at %(time)s."),
    "capacity_full": {
        "counter": _l("Every seat of this meal is taken."),
        "ordering": _l("This meal is full. Please choose another place or another meal."),
    },
    "no_menu": {
        "counter": _l("No menu is published for this meal."),
        "ordering": _l("There is no menu for this meal yet."),
    },
    "insufficient_balance": {
        "counter": _l("Not enough on the meal card."),
        "ordering": _l(
            "The meal balance is too low. Please top it up, or pay on delivery or at the counter."
        ),
    },
    "insufficient_balance_of": _l(
        "Not enough on the meal card: balance %(balance)s, needs %(needed)s."
    ),
    "outside_window": _l("Now is outside every meal window."),
    "reference_needed": _l("Type or scan the e-payment reference first."),
    "terminal_exists": _l("A terminal of this name is already registered here."),
    "terminal_revoked": _l("This terminal was already revoked."),
    "unauthorized": _l("Your login has ended. Log in again."),
    "forbidden": _l("You are not allowed to do this."),
    "not_found": _l("Not found."),
    "other": _l("Not accepted: %(message)s"),
    "validation_error": {
        "counter": _l("The scan was not accepted: %(reasons)s"),
        "ordering": _l("Something in the form is not right. Please check and try again."),
        "delivery": _l("Something in the form is not right. Please check and try again."),
    },
    # Ordering
    "cutoff_passed": _l(
        "Ordering for this meal has closed, so it can no longer be ordered or cancelled."
    ),
    "already_ordered": _l("This elder already has this meal ordered."),
    "no_delivery": _l(
        "This place does not deliver this meal. Please book a seat or choose another place."
    ),
    "order_closed": {
        "ordering": _l("This order is already cancelled or finished and cannot be changed."),
        "delivery": _l("This delivery is already finished."),
    },
    "already_dispatched": _l("The meal is already on its way and can no longer be cancelled."),
    "already_rated": _l("This meal has already been rated."),
    "standing_order_exists": _l(
        "The elder already has a standing order for this meal on some of these weekdays."
    ),
    "standing_order_stopped": _l("This standing order has been stopped."),
    # Delivery
    "ordering_open": _l(
        "Families can still order and cancel this meal until its ordering cutoff. Make the"
        " runs after the cutoff."
    ),
    "no_orders": _l("There are no confirmed delivery orders left to put in a run for this meal."),
    "wrong_code": _l("That code is not right. Please ask the elder for the code again."),
    "rate_limited": {
        "delivery": _l(
            "Too many wrong codes were typed. Wait %(minutes)s minutes and try again, or ask"
            " the manager to settle this delivery."
        ),
    },
    "not_a_volunteer_run": _l("This meal is carried by a delivery platform, not by volunteers."),
    "order_not_failed": _l("Only a failed delivery can be sent out again."),
    "run_done": _l("Every stop of this run is already settled."),
    "already_followed_up": _l("Someone already followed this alert up."),
    # Menus
    "seats_below_booked": _l(
        "%(seats_used)s seats are already booked or used: seats cannot go below that."
    ),
    "delivery_below_booked": _l(
        "%(delivery_used)s deliveries are already ordered: the capacity cannot go below that."
    ),
    "option_in_use": _l("This option was already ordered or served, so it cannot be removed."),
    "menu_in_past": _l("This menu is of a past date and can no longer change."),
    "menu_in_use": _l("This menu was already ordered; it stays published."),
    "menu_exists": _l("There is already a menu for this date and meal."),
    # Claims and oversight
    "month_not_ended": _l(
        "The claim for %(month)s can be made from %(opens_on)s, once the month and its "
        "%(grace_days)s days of grace are over."
    ),
    "claim_exists": _l("This meal place already has a claim for %(month)s."),
    "claim_decided": _l("This claim is already decided, and a decision is final."),
    "claim_not_rejected": _l("Only a rejected claim can be made again."),
    "sample_recorded": _l("The outcome of this check is already recorded."),
    "sample_drawn_meanwhile": _l(
        "Someone drew lines of this claim at the same moment. Please draw again."
    ),
    "already_lifted": _l("This blacklist entry is already lifted."),
    "canteen_not_filed": _l(
        "This meal place is not filed with civil affairs: its claims are refused until it is."
    ),
    "canteen_blacklisted": {
        "": _l("This meal place is on the blacklist in that month: its claims are refused."),
        "ordering": _l(
            "This meal place is on the district's blacklist, so its orders are cancelled and"
            " money paid ahead is refunded. Please choose another place."
        ),
    },
    "already_recorded": _l("The result of this inspection is already recorded."),
    "no_inspectors": _l("The district has no active inspector to draw."),
    # Accounts
    "username_taken": _l("This username is taken. Choose another."),
    "already_deactivated": _l("This account is already deactivated."),
    "already_active": _l("This account is already active."),
    "own_account": _l(
        "Not on your own account: change your own password with your current one, and ask"
        " another administrator to deactivate your account."
    ),
}


def words(code: str, audience: str = "") -> str | None:
    """The sentence for `code` as the audience reads it, placeholders unfilled; None when
    the table has none for them."""
    entry = WORDS.get(code)
    if isinstance(entry, dict):
        entry = entry.get(audience)
    return None if entry is None else str(entry)


def words_for(audience: str) -> dict[str, str]:
    """The audience's part of the table, for a page's script to word refusals itself."""
    table = {}
    for code in WORDS:
        sentence = words(code, audience)
        if sentence is not None:
            table[code] = sentence
    return table


def explain(error: ApiError, audience: str = "", field_names: dict | None = None) -> str:
    """Answer a refusal a page met: undo everything the request wrote, so that neither what
    the page shows next nor the request's commit sees half a change, then say why in the
    reader's language. The one place a page request rolls back.

    Without a sentence in the table, a refusal naming form fields lists their reasons
    (after each field's name, where `field_names` gives names); any other gives the
    service's own sentence."""
    db.session.rollback()
    sentence = words(error.code, audience)
    if sentence is not None:
        try:
            return sentence % (error.detail or {}) if "%(" in sentence else sentence
        except KeyError:
            return error.message
    if error.fields:
        if field_names is None:
            return "; ".join(reason for reasons in error.fields.values() for reason in reasons)
        return " ".join(
            f"{field_names.get(name, name)}: {' '.join(reasons)}"
            for name, reasons in error.fields.items()
        )
    return error.message
