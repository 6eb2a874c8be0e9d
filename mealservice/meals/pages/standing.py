"""Standing orders on a page: a relative (or the elder) sees the elder's standing orders,
makes one (slot, way to eat, weekdays, preferred dish, payment), stops one, and adds or
lifts a hold for dates away; a manager does the same at their own canteen.

The form is read into the API's own input (StandingOrderIn, HoldIn) and handed to the one
owner of standing orders (meals.standing); refusals are shown as sentences."""

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mealservice.core.auth import LINKED_ELDER_ROLES, canteen_scope, may, require_permission
from mealservice.core.db import db
from mealservice.core.errors import ApiError, ValidationFailed, flatten_messages
from mealservice.core.forms import number_of
from mealservice.core.i18n import TAG_WORDS
from mealservice.core.refusals import ORDERING, explain
from mealservice.elders.models import Elder
from mealservice.elders.services import get_elder
from mealservice.meals import orders, standing
from mealservice.meals.models import PAYMENTS, StandingOrder
from mealservice.meals.pages import bp
from mealservice.meals.pages.ordering import _chosen_elder
from mealservice.meals.schemas import HoldIn, StandingOrderIn
from mealservice.places.models import Canteen
from mealservice.places.services import get_canteen

WEEKDAY_WORDS = (
    _l("Mon"),
    _l("Tue"),
    _l("Wed"),
    _l("Thu"),
    _l("Fri"),
    _l("Sat"),
    _l("Sun"),
)

FIELD_NAMES = {
    "elder_id": _l("Elder"),
    "canteen_id": _l("Meal place"),
    "slot": _l("Meal"),
    "channel": _l("How to eat"),
    "weekdays": _l("Weekdays"),
    "preferred_tag": _l("Preferred dish"),
    "address": _l("Address"),
    "payment_method": _l("Payment"),
    "starts_on": _l("First day away"),
    "ends_on": _l("Last day away"),
    "reason": _l("Reason"),
}

standing_order_in = StandingOrderIn()
hold_in = HoldIn()


def _loaded(schema, raw: dict) -> dict:
    try:
        return schema.load(raw)
    except ma.ValidationError as error:
        raise ValidationFailed(flatten_messages(error.messages)) from None


def _explained(error: ApiError) -> str:
    """A refusal in the ordering pages' words; bad input names each field and its reason
    (the ordering pages' one sentence for every bad form would not say which)."""
    audience = "" if error.fields else ORDERING
    return explain(error, audience, field_names={k: str(v) for k, v in FIELD_NAMES.items()})


def _elders_of(user) -> list[Elder]:
    """Whose standing orders the page is about: a family's or elder's linked elders; for
    staff the elder named by `?elder=`, if any."""
    if user.role in LINKED_ELDER_ROLES:
        return orders.ordering_elders(user)
    elder_id = number_of(request.values.get("elder"))
    return [get_elder(user, elder_id)] if elder_id is not None else []


def _canteens_for(user, elder: Elder | None) -> list[Canteen]:
    """The places a standing order may be made at: a manager's own; the places of the
    elder's district for a relative."""
    own = canteen_scope(user)
    if own is not None:
        return [get_canteen(user, own)]
    if elder is None:
        return []
    return list(
        db.session.scalars(
            select(Canteen)
            .where(Canteen.district_code == elder.community.district_code)
            .order_by(Canteen.name)
        )
    )


def _page(user, *, values=None, error=None, status=200):
    elders = _elders_of(user)
    elder = _chosen_elder(user, elders, number_of(request.values.get("elder")))
    if user.role in LINKED_ELDER_ROLES and elder is None and len(elders) > 1:
        return render_template("ordering/standing_pick.html", elders=elders), status
    found = db.session.scalars(
        standing.standing_orders_query(user, elder_id=elder.id if elder else None)
    ).all()
    return (
        render_template(
            "ordering/standing.html",
            elder=elder,
            several=len(elders) > 1,
            standing_orders=found,
            canteens=_canteens_for(user, elder),
            payments=PAYMENTS,
            weekday_words=WEEKDAY_WORDS,
            tags=TAG_WORDS,
            values=values or {"weekdays": ["0", "1", "2", "3", "4"]},
            error_text=error,
            may_write=may(user, "standing_orders.write"),
            timezone=user_timezone(elder, found),
        ),
        status,
    )


def user_timezone(elder: Elder | None, found: list[StandingOrder]) -> str | None:
    if elder is not None:
        return elder.community.district.effective_timezone
    return found[0].canteen.district.effective_timezone if found else None


def _back(elder_id: int | None):
    return redirect(url_for("meals_pages.standing_orders", elder=elder_id))


@bp.get("/standing-orders")
def standing_orders():
    """The elder's standing orders with their holds, and the form to make one."""
    user = require_permission("standing_orders.read")
    return _page(user)


def read_standing_form(form) -> dict:
    """The form as StandingOrderIn's input, loaded by it."""
    days = set(form.getlist("weekdays"))
    raw = {
        "elder_id": number_of(form.get("elder")),
        "canteen_id": number_of(form.get("canteen")),
        "slot": form.get("slot") or "",
        "channel": form.get("channel") or "",
        "weekdays": "".join("1" if str(day) in days else "0" for day in range(7)),
    }
    for name in ("preferred_tag", "payment_method", "address"):
        text = (form.get(name) or "").strip()
        if text and not (name == "address" and raw["channel"] != "delivery"):
            raw[name] = text
    return _loaded(standing_order_in, {k: v for k, v in raw.items() if v is not None})


@bp.post("/standing-orders")
def create_standing_order():
    user = require_permission("standing_orders.write")
    values = {
        key: request.form.getlist(key) if key == "weekdays" else request.form.get(key, "")
        for key in request.form
    }
    values.setdefault("weekdays", [])
    try:
        data = read_standing_form(request.form)
        made = standing.create_standing_order(user, data)
    except ApiError as error:
        return _page(user, values=values, error=_explained(error), status=error.status)
    flash(_("The standing order is made. Meals are ordered up to two days ahead."), "success")
    return _back(made.elder_id)


def _standing_order(user, standing_order_id: int) -> StandingOrder:
    return standing.get_standing_order(user, standing_order_id)


@bp.post("/standing-orders/<id:standing_order_id>/stop")
def stop_standing_order(standing_order_id: int):
    user = require_permission("standing_orders.write")
    found = _standing_order(user, standing_order_id)
    stopped = standing.stop_standing_order(user, found)
    cancelled = len(getattr(stopped, "cancelled_order_ids", []) or [])
    flash(
        _(
            "The standing order is stopped; %(n)s meals it had ordered are cancelled and refunded.",
            n=cancelled,
        ),
        "success",
    )
    return _back(found.elder_id)


@bp.post("/standing-orders/<id:standing_order_id>/holds")
def add_hold(standing_order_id: int):
    user = require_permission("standing_orders.write")
    found = _standing_order(user, standing_order_id)
    elder_id = found.elder_id
    raw = {
        name: (request.form.get(name) or "").strip() for name in ("starts_on", "ends_on", "reason")
    }
    try:
        data = _loaded(hold_in, raw)
        standing.add_hold(user, found, data["starts_on"], data["ends_on"], data["reason"])
    except ApiError as error:
        flash(_explained(error), "error")
    else:
        flash(
            _("No meals will be ordered on those days; they resume by themselves after."), "success"
        )
    return _back(elder_id)


@bp.post("/standing-orders/<id:standing_order_id>/holds/<id:hold_id>/remove")
def remove_hold(standing_order_id: int, hold_id: int):
    user = require_permission("standing_orders.write")
    found = _standing_order(user, standing_order_id)
    standing.remove_hold(user, found, standing.get_hold(found, hold_id))
    flash(_("The hold is lifted: meals are ordered again for those days."), "success")
    return _back(found.elder_id)
