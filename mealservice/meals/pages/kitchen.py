"""The kitchen's printable counts for one meal: what to cook per option, dine-in and
delivery apart, the walk-ins so far and the diet portions."""

from flask import render_template, request
from flask_babel import gettext as _

from mealservice.core.auth import require_permission
from mealservice.core.clock import utcnow
from mealservice.core.errors import ApiError
from mealservice.core.forms import date_arg
from mealservice.core.i18n import local_time
from mealservice.meals.kitchen import kitchen_counts
from mealservice.meals.pages import bp
from mealservice.menus.services import KITCHEN_TAGS, planned_slots, week_start
from mealservice.places.models import slot_at
from mealservice.places.services import get_canteen


@bp.get("/canteens/<id:canteen_id>/kitchen")
def kitchen(canteen_id: int):
    user = require_permission("kitchen_counts.read", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    district = canteen.district
    slots = planned_slots(canteen)
    errors = []
    day = date_arg(district.local_today(), errors)
    slot = request.args.get("slot") or _slot_now(canteen, slots)
    if slot not in slots:
        errors.append(_("Pick one of the meals of the day."))
        slot = _slot_now(canteen, slots)
    counts = None
    if slot is not None:
        try:
            counts = kitchen_counts(canteen, day, slot)
        except ApiError as error:
            if error.code != "no_menu":
                raise
    return render_template(
        "meals/kitchen.html",
        canteen=canteen,
        counts=counts,
        day=day,
        plan_week=week_start(day),
        slot=slot,
        slots=slots,
        errors=errors,
        tags=KITCHEN_TAGS,
        zone=district.effective_timezone,
        now_local=local_time(utcnow(), district.effective_timezone),
    )


def _slot_now(canteen, slots: list[str]) -> str | None:
    """The meal being served now, else the next one today, else the day's first."""
    now = canteen.district.local(utcnow()).strftime("%H:%M")
    windows = canteen.district.slot_windows
    current = slot_at(windows, now)
    if current:
        return current
    ahead = [slot for slot in slots if windows[slot][0] > now]
    return (ahead or slots or [None])[0]
