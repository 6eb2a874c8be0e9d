"""The home of elders and their relatives: what the elder can eat today and tomorrow.

Today's remaining meals first, then tomorrow's, lunch before dinner; each at the elder's
usual place when it serves that meal, else at the nearest place that does. What the elder
pays is the largest number on the page, each way to eat it one tap from the confirmation;
a meal already booked shows its order instead."""

from datetime import timedelta

from flask import render_template
from flask_babel import gettext as _

from mealservice.core.auth import require_permission
from mealservice.meals import habits
from mealservice.meals.pages import bp
from mealservice.meals.pages.ordering import (
    _chosen_elder,
    _deliverable,
    _elders_of,
    _home_of,
    _int_arg,
    _may_dine_in,
    elder_pays,
)
from mealservice.menus.diet import clashes_by_option
from mealservice.menus.services import open_menus
from mealservice.places.models import Slot


@bp.get("/what-to-eat")
def what_to_eat():
    user = require_permission("orders.place")
    elders = _elders_of(user)
    elder = _chosen_elder(user, elders, _int_arg("elder"))
    if elder is None:
        return render_template("ordering/pick_elder.html", elders=elders, pick="what_to_eat")
    today = elder.community.district.local_today()
    days = (today, today + timedelta(days=1))
    booked = habits.booked_orders(elder.id, days)
    usual = habits.usual_canteen_id(elder.id, today)
    home = _home_of(elder)
    shown = []
    for day, word in zip(days, (_("Today"), _("Tomorrow")), strict=True):
        meals = []
        # Nearest first: the first open menu of a slot is the nearest place serving it.
        menus = open_menus(day, near=home)
        for slot in Slot:
            if (order := booked.get((day, str(slot)))) is not None:
                meals.append({"slot": slot, "booked": order})
                continue
            serving = [menu for menu, _distance in menus if menu.slot == slot]
            if not serving:
                continue
            menu = next((m for m in serving if m.canteen_id == usual), serving[0])
            meals.append({"slot": slot, "menu": menu, "choices": _choices(elder, menu)})
        shown.append({"date": day, "word": word, "meals": meals})
    options = [
        choice["option"]
        for day in shown
        for meal in day["meals"]
        for choice in meal.get("choices", ())
    ]
    return render_template(
        "ordering/home.html",
        elder=elder,
        days=shown,
        several=len(elders) > 1,
        usual=usual,
        clashes=clashes_by_option(elder, options),
    )


def _choices(elder, menu) -> list[dict]:
    """Each option of the menu with what the elder pays each way it can be had."""
    ways = [
        channel
        for channel, offered in (("delivery", _deliverable(menu)), ("dine_in", _may_dine_in(menu)))
        if offered
    ]
    choices = []
    for option in menu.options:
        pays = {channel: elder_pays(elder, menu, option, channel) for channel in ways}
        pays = {channel: fen for channel, fen in pays.items() if fen is not None}
        if pays:
            choices.append({"option": option, "pays": pays})
    return choices
