"""Taking an order by telephone (代订): many elders have no smartphone and ring the
canteen. Staff who may place orders find the elder by name and the phone's last four
digits (the counter's look-up, written to the personal-data access log), pick a meal of
their canteen and the way to eat it, and place the order through the one owner of
placing orders (meals.orders.place_order). The order names the staff member who placed
it, and the family's order history says it was placed by the canteen."""

from datetime import timedelta

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mealservice.accounts.models import User
from mealservice.core.auth import ADMIN, CASHIER, MANAGER, canteen_scope, require_permission
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import ApiError, NotFound
from mealservice.core.forms import number_of
from mealservice.core.i18n import yuan
from mealservice.core.refusals import ORDERING, explain
from mealservice.elders.services import get_elder
from mealservice.meals import orders
from mealservice.meals.models import PAYMENTS, Order
from mealservice.meals.pages import bp
from mealservice.meals.services import lookup_elders
from mealservice.menus.diet import clashes_by_option
from mealservice.menus.models import Menu, MenuStatus
from mealservice.places.models import Slot
from mealservice.places.services import get_canteen

# Who places an order "for" the elder as the canteen: staff, not the family or the elder.
STAFF_ROLES = frozenset({ADMIN, MANAGER, CASHIER})

PHONE_ORDER = "phone order"  # the reason the look-up writes in the access log

# What the family's history shows beside such an order.
PLACED_BY_CANTEEN = _l("Placed by the canteen")


def placed_by_canteen(order: Order) -> bool:
    """Whether staff placed the order for the elder (by telephone), as the family's
    history says: 由食堂代订. Usernames are looked up once per request."""
    known = g.setdefault("staff_usernames", {})
    if order.placed_by not in known:
        role = db.session.scalar(select(User.role).where(User.username == order.placed_by))
        known[order.placed_by] = role in STAFF_ROLES
    return known[order.placed_by]


@bp.app_context_processor
def phone_order_helpers():
    return {"placed_by_canteen": placed_by_canteen, "placed_by_canteen_words": PLACED_BY_CANTEEN}


def _staff_and_canteen():
    """Staff who may both place orders and look elders up, and their canteen (an
    administrator names one with `?canteen=`)."""
    user = require_permission("orders.place")
    require_permission("elders.lookup")
    canteen_id = canteen_scope(user)
    if canteen_id is None and user.role == ADMIN:
        canteen_id = number_of(request.values.get("canteen"))
    if canteen_id is None:
        raise NotFound("canteen")
    return user, get_canteen(user, canteen_id)


def _open_menus(canteen) -> list[Menu]:
    """The canteen's published menus of today and tomorrow still open for ordering."""
    today = canteen.district.local_today()
    now = utcnow()
    menus = db.session.scalars(
        select(Menu).where(
            Menu.canteen_id == canteen.id,
            Menu.date.between(today, today + timedelta(days=1)),
            Menu.status == MenuStatus.PUBLISHED,
        )
    ).all()
    slots = list(Slot)
    return sorted(
        (menu for menu in menus if menu.ordering_open(now)),
        key=lambda menu: (menu.date, slots.index(menu.slot)),
    )


def _page(user, canteen, *, elder=None, matches=None, searched=False, error=None, status=200):
    menus = _open_menus(canteen) if elder is not None else []
    options = [option for menu in menus for option in menu.options]
    return (
        render_template(
            "ordering/phone_order.html",
            canteen=canteen,
            elder=elder,
            matches=matches or [],
            searched=searched,
            menus=menus,
            clashes=clashes_by_option(elder, options) if elder is not None else {},
            payments=PAYMENTS,
            name=request.values.get("name", ""),
            phone_last4=request.values.get("phone_last4", ""),
            error_text=error,
            admin_canteen=canteen.id if user.role == ADMIN else None,
        ),
        status,
    )


@bp.get("/phone-order")
def phone_order():
    """Step 1: the elder, by name and the phone's last four digits. Step 2 (`?elder=`):
    the canteen's meals open for ordering, each with the ways to eat it."""
    user, canteen = _staff_and_canteen()
    elder_id = number_of(request.args.get("elder"))
    if elder_id is not None:
        return _page(user, canteen, elder=get_elder(user, elder_id))
    name = (request.args.get("name") or "").strip()
    last4 = (request.args.get("phone_last4") or "").strip()
    if not name and not last4:
        return _page(user, canteen)
    if not name or len(name) > 50 or not (len(last4) == 4 and last4.isascii() and last4.isdigit()):
        error = _("Give the elder's full name and the last 4 digits of their phone.")
        return _page(user, canteen, error=error, status=422)
    matches = lookup_elders(user, canteen, name, last4, PHONE_ORDER)
    return _page(user, canteen, matches=matches, searched=True)


@bp.post("/phone-order")
def place_phone_order():
    user, canteen = _staff_and_canteen()
    elder = get_elder(user, number_of(request.form.get("elder")) or 0)
    menu_id = number_of(request.form.get("menu")) or 0
    option_id = number_of(request.form.get("option")) or 0
    channel = request.form.get("channel") or ""
    data = {"elder_id": elder.id, "menu_id": menu_id, "option_id": option_id, "channel": channel}
    payment = request.form.get("payment") or ""
    if payment:
        data["payment"] = {"method": payment}
    try:
        menu = db.session.get(Menu, menu_id)
        if menu is None or menu.canteen_id != canteen.id or channel not in PAYMENTS:
            raise NotFound("meal")
        placed = orders.place_order(user, data)
    except ApiError as error:
        return _page(
            user, canteen, elder=elder, error=explain(error, ORDERING), status=error.status
        )
    flash(
        _(
            "Ordered for %(name)s (order %(id)s). Tell them: %(pays)s to pay.",
            name=elder.name,
            id=placed.id,
            pays=yuan(placed.elder_pays_fen),
        ),
        "success",
    )
    return redirect(url_for("meals_pages.order_detail", order_id=placed.id))
