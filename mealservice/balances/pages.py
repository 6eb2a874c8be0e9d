"""Relatives' and elders' page for the prepaid meal balance (饭卡): what is left and every
top-up, meal and refund behind it."""

from babel.dates import format_skeleton
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from mealservice.balances import services
from mealservice.balances.history import Outcome, Purchase, purchases_of
from mealservice.balances.models import BalanceMovement, MovementKind, TopUpMethod
from mealservice.core.auth import LINKED_ELDER_ROLES, may, require_permission
from mealservice.core.db import db
from mealservice.core.errors import ApiError, NotFound
from mealservice.core.forms import number_of
from mealservice.core.i18n import SLOT_WORDS, yuan
from mealservice.core.refusals import explain
from mealservice.elders.models import Elder
from mealservice.elders.services import elders_query, get_elder, linked_elder_ids
from mealservice.places.models import Canteen

bp = Blueprint("balances_pages", __name__)


@bp.get("/balances")
def balances():
    """A family account's elders (or the elder's own), each with balance and history;
    staff who may read balances name one elder with `?elder=`."""
    user = require_permission("balances.read")
    if user.role in LINKED_ELDER_ROLES:
        elders = [db.session.get(Elder, elder_id) for elder_id in linked_elder_ids(user)]
    elif "elder" not in request.args:
        return render_template(
            "balances/owed.html",
            owed=services.owed_to_families(elders_query(user)),
            counter=_counter_of(user),
        )
    else:
        elder_id = number_of(request.args.get("elder"))
        if elder_id is None:
            raise NotFound("elder")
        elders = [get_elder(user, elder_id)]
    accounts = [
        {
            "elder": elder,
            "balance_fen": services.balance_of(elder.id),
            "owed_fen": services.owed_to_family(elder),
            "movements": _worded(services.history(elder.id)),
            "timezone": elder.community.district.effective_timezone,
        }
        for elder in elders
    ]
    return render_template("balances/balances.html", accounts=accounts, counter=_counter_of(user))


@bp.post("/balances/<id:elder_id>/payout")
def pay_out(elder_id: int):
    """A counter's staff pay a deceased elder's balance out to the family."""
    user = require_permission("balances.top_up")
    elder = get_elder(user, elder_id)
    counter = _counter_of(user)
    method, reference = request.form.get("method"), request.form.get("reference", "").strip()
    if counter is None:
        flash(_("Pay out at a meal place's counter, signed in as its staff."), "error")
    elif method not in {m.value for m in TopUpMethod}:
        flash(_("Choose how the money is paid out: cash or e-payment."), "error")
    elif method == TopUpMethod.E_PAYMENT and not reference:
        flash(_("Type the e-payment reference of the transfer to the family."), "error")
    else:
        try:
            movement = services.pay_out(user, counter, elder, method, reference or None)
        except ApiError as error:
            flash(explain(error), "error")
        else:
            flash(
                _(
                    "Paid %(amount)s out to the family of %(name)s.",
                    amount=yuan(-movement.amount_fen),
                    name=elder.name,
                ),
                "success",
            )
    return redirect(url_for(".balances", elder=elder.id))


def _worded(movements: list[BalanceMovement]) -> list[tuple[BalanceMovement, str]]:
    purchases = purchases_of(movements)
    return [
        (movement, movement_words(movement, purchases.get(movement.id))) for movement in movements
    ]


def movement_words(movement: BalanceMovement, purchase: Purchase | None) -> str:
    """What a movement of the history was, as the family reads it: a meal eaten is named
    as eaten, an order paid ahead as ordered for its day, and each refund by what it
    gave back (an order cancelled, a booking not taken up, a delivery that failed, a meal
    voided), from the fate of the meal or order it names."""
    place = movement.canteen.name
    if movement.kind == MovementKind.TOP_UP:
        return _("Top-up at %(place)s", place=place)
    if movement.kind == MovementKind.PAYOUT:
        return _("Paid out to the family at %(place)s", place=place)
    if purchase is None:  # a meal or order the packages above did not describe
        if movement.kind == MovementKind.MEAL:
            return _("Meal at %(place)s", place=place)
        return _("Refund at %(place)s", place=place)
    day = format_skeleton("MMMd", purchase.day, locale=str(get_locale()))
    meal = f"{day} {SLOT_WORDS[purchase.slot]}"
    outcome = purchase.outcome
    if movement.kind == MovementKind.MEAL:
        if not purchase.is_order:
            if outcome == Outcome.VOIDED:
                return _("%(meal)s at %(place)s, voided later", meal=meal, place=place)
            return _("Ate %(meal)s at %(place)s", meal=meal, place=place)
        if outcome == Outcome.EATEN:
            return _("Ate %(meal)s at %(place)s, ordered and paid ahead", meal=meal, place=place)
        if outcome == Outcome.DELIVERED:
            return _(
                "%(meal)s delivered from %(place)s, ordered and paid ahead", meal=meal, place=place
            )
        return _("Ordered %(meal)s (%(place)s), paid ahead", meal=meal, place=place)
    if not purchase.is_order:
        return _("Refund of the voided meal %(meal)s at %(place)s", meal=meal, place=place)
    if outcome == Outcome.CANCELLED:
        return _("Refund of the cancelled order for %(meal)s (%(place)s)", meal=meal, place=place)
    if outcome == Outcome.NOT_TAKEN_UP:
        return _(
            "Refund of the booking for %(meal)s (%(place)s), not taken up", meal=meal, place=place
        )
    # A delivery that failed, whether or not the order went out again since.
    return _("Refund of %(meal)s (%(place)s), not delivered", meal=meal, place=place)


def _counter_of(user) -> Canteen | None:
    """The counter where this user pays money in and out, if they may."""
    if not may(user, "balances.top_up") or user.canteen_id is None:
        return None
    return db.session.get(Canteen, user.canteen_id)
