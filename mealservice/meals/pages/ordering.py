"""Ordering pages for elders and their relatives: nearby menus by walking distance, a
confirmation with the subsidy and what to pay, the order's status, the history with
cancel and rating, and the manager's view of the ratings.

Plain forms, few taps, large type: many readers are elders on a phone. Every refusal of
the services is shown as a plain sentence on the page, never as an error page."""

from datetime import timedelta
from math import ceil

from babel.dates import format_skeleton
from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from mealservice.balances.services import balance_of
from mealservice.core.auth import LINKED_ELDER_ROLES, may, require_permission
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import ApiError, NotFound
from mealservice.core.forms import number_of
from mealservice.core.refusals import ORDERING, explain, words
from mealservice.elders.models import Elder
from mealservice.elders.services import get_elder
from mealservice.meals import habits, orders
from mealservice.meals.models import PAYMENTS, Meal, OrderPayment, OrderStatus, Rating
from mealservice.meals.pages import bp
from mealservice.meals.services import quote, quote_menu
from mealservice.menus.diet import clashes_by_option, diet_clashes
from mealservice.menus.models import Menu, MenuOption, MenuStatus
from mealservice.menus.services import open_menus
from mealservice.places import registry
from mealservice.places.models import Function, Slot
from mealservice.places.services import get_canteen

# The places listed first: a short page on a phone. The nearest that delivers is added.
NEAREST_PLACES = 5

# An elder's walking pace: about 80 metres a minute, so 1 km is the "15-minute circle".
WALKING_M_PER_MIN = 80

STATUS_WORDS = {
    OrderStatus.CONFIRMED: _l("Confirmed"),
    OrderStatus.CANCELLED: _l("Cancelled"),
    OrderStatus.CONSUMED: _l("Eaten"),
    OrderStatus.NO_SHOW: _l("Did not come"),
    OrderStatus.DISPATCHED: _l("On the way"),
    OrderStatus.DELIVERED: _l("Delivered"),
    OrderStatus.FAILED: _l("Delivery failed"),
}

PAYMENT_WORDS = {
    OrderPayment.BALANCE: _l("From the meal balance"),
    OrderPayment.ON_DELIVERY: _l("Pay on delivery"),
    OrderPayment.AT_COUNTER: _l("Pay at the counter"),
}


SCORE_WORDS = {
    1: _l("Very poor"),
    2: _l("Poor"),
    3: _l("All right"),
    4: _l("Good"),
    5: _l("Very good"),
}


@bp.app_template_filter("day_words")
def day_words(day) -> str:
    """A date as people say it: 11月25日周三, Wed, Nov 25."""
    return format_skeleton("MMMEd", day, locale=str(get_locale()))


@bp.app_context_processor
def ordering_words():
    return {
        "status_words": STATUS_WORDS,
        "payment_words": PAYMENT_WORDS,
        "score_words": SCORE_WORDS,
        # Why the registry cancelled an order, as the family reads it.
        "cancel_reason_words": lambda code: words(code, ORDERING) or "",
    }


# Whose meals: a family account orders for its elders, an elder for themself; staff who
# may order name the elder with `?elder=`.


def _elders_of(user) -> list[Elder]:
    if user.role in LINKED_ELDER_ROLES:
        return orders.ordering_elders(user)
    elder_id = _int_arg("elder")
    return [get_elder(user, elder_id)] if elder_id is not None else []


def _chosen_elder(user, elders: list[Elder], elder_id: int | None) -> Elder | None:
    """The elder named by the request, among those the user orders for (404 if not one of
    them); the only one when there is just one; None when the user must still choose."""
    if elder_id is not None:
        for elder in elders:
            if elder.id == elder_id:
                return elder
        raise NotFound("elder")
    return elders[0] if len(elders) == 1 else None


def _int_arg(name: str, source=None) -> int | None:
    return number_of((source or request.args).get(name))


def _home_of(elder: Elder) -> tuple[float, float] | None:
    if elder.lat is not None:
        return elder.lat, elder.lng
    community = elder.community
    return (community.lat, community.lng) if community.lat is not None else None


def walking_minutes(metres: int) -> int:
    return max(1, ceil(metres / WALKING_M_PER_MIN))


def _deliverable(menu: Menu) -> bool:
    return Function.DELIVERY in menu.canteen.functions and (
        menu.delivery_capacity is None or menu.delivery_used < menu.delivery_capacity
    )


def _may_dine_in(menu: Menu) -> bool:
    return Function.DINE_IN in menu.canteen.functions and menu.seats_left > 0


def elder_pays(elder: Elder, menu: Menu, option: MenuOption, channel: str) -> int | None:
    """What the elder would pay for the option by that channel, from the one pricing
    function (the quote); None when it cannot be had (the slot's meal already taken, or
    the quote refused)."""
    try:
        price = quote(
            elder,
            menu.canteen,
            {"date": menu.date, "slot": menu.slot, "channel": channel, "option_id": option.id},
        )
    except ApiError:
        return None
    return _payable(price)


def _payable(price) -> int | None:
    """What the elder pays at a price, or None when the price refuses the meal."""
    return None if price is None or price.refusal else price.elder_pays_fen


def with_prices(elder: Elder, meal: dict) -> dict:
    """A meal of the menu list with what the elder pays for each option, each way, as
    elder_pays says, the menu's options priced together (quote_menu)."""
    menu = meal["menu"]
    channels = [
        channel
        for channel, offered in (("delivery", meal["delivers"]), ("dine_in", meal["dine_in"]))
        if offered
    ]
    try:
        prices = quote_menu(elder, menu, channels)
    except ApiError:
        prices = {}
    meal["pays"] = {
        option.id: {
            channel: _payable(prices.get(option.id, {}).get(channel)) for channel in channels
        }
        for option in menu.options
    }
    return meal


def _places(day, home: tuple[float, float] | None, everything: bool) -> tuple[list[dict], bool]:
    """The day's open menus grouped by place, nearest place first, its meals in slot order:
    the nearest few and the nearest that delivers, or every place; and whether some were
    left out."""
    places: dict[int, dict] = {}
    for menu, distance in open_menus(day, near=home):
        place = places.setdefault(
            menu.canteen_id,
            {
                "canteen": menu.canteen,
                "distance_m": distance,
                "minutes": walking_minutes(distance) if distance is not None else None,
                "timezone": menu.canteen.district.effective_timezone,
                "standing": registry.standing_of(menu.canteen, day),
                "meals": [],
            },
        )
        place["meals"].append(
            {"menu": menu, "delivers": _deliverable(menu), "dine_in": _may_dine_in(menu)}
        )
    for place in places.values():
        place["meals"].sort(key=lambda meal: list(Slot).index(meal["menu"].slot))
    found = list(places.values())
    if everything or len(found) <= NEAREST_PLACES:
        return found, False
    shown = found[:NEAREST_PLACES]
    delivering = (place for place in found if any(meal["delivers"] for meal in place["meals"]))
    nearest_delivering = next(delivering, None)
    if nearest_delivering is not None and nearest_delivering not in shown:
        shown.append(nearest_delivering)
    return shown, True


# Ordering


@bp.get("/order")
def order():
    """Step 1 (only with several elders): whose meal. Step 2: the open menus of today
    and tomorrow, nearest first, each option with one button per way to eat it."""
    user = require_permission("orders.place")
    elders = _elders_of(user)
    elder = _chosen_elder(user, elders, _int_arg("elder"))
    if elder is None:
        return render_template("ordering/pick_elder.html", elders=elders)
    district = elder.community.district
    today = district.local_today()
    home = _home_of(elder)
    everything = request.args.get("all") == "1"
    booked = habits.booked_orders(elder.id, (today, today + timedelta(days=1)))
    days = []
    for day, word in ((today, _("Today")), (today + timedelta(days=1), _("Tomorrow"))):
        places, more = _places(day, home, everything)
        for place in places:
            for meal in place["meals"]:
                menu = meal["menu"]
                meal["booked"] = booked.get((menu.date, str(menu.slot)))
                if meal["booked"] is None:
                    with_prices(elder, meal)
        days.append({"date": day, "word": word, "places": places, "more": more})
    options = [
        option
        for day in days
        for place in day["places"]
        for meal in place["meals"]
        for option in meal["menu"].options
    ]
    return render_template(
        "ordering/menus.html",
        elder=elder,
        days=days,
        several=len(elders) > 1,
        clashes=clashes_by_option(elder, options),
    )


def _choice_from(source) -> tuple[Elder, Menu, MenuOption, str]:
    """The elder, menu, option and channel a link or form names, all checked."""
    user = require_permission("orders.place")
    elder = _chosen_elder(user, _elders_of(user), _int_arg("elder", source))
    option = db.session.get(MenuOption, _int_arg("option", source) or 0)
    channel = source.get("channel")
    if elder is None or option is None or channel not in ("delivery", "dine_in"):
        raise NotFound("meal")
    menu = db.session.get(Menu, option.menu_id)
    if menu.status != MenuStatus.PUBLISHED:
        raise NotFound("meal")
    return elder, menu, option, channel


@bp.get("/order/confirm")
def confirm():
    """What the meal costs, the subsidy and what is left to pay, how to pay, one big
    button. Nothing is taken until it is pressed."""
    elder, menu, option, channel = _choice_from(request.args)
    return _confirmation(elder, menu, option, channel)


def _confirmation(elder, menu, option, channel, *, refusal=None, payment=None, status=200):
    try:
        price = quote(
            elder,
            menu.canteen,
            {"date": menu.date, "slot": menu.slot, "channel": channel, "option_id": option.id},
        )
    except ApiError as error:
        explained = explain(error, ORDERING)
        price, refusal = None, refusal or explained
    if refusal is None and not menu.ordering_open(utcnow()):
        refusal = words("cutoff_passed", ORDERING)
    booked = habits.booked_order(elder.id, menu.date, menu.slot)
    slot_taken = refusal is None and price is not None and price.refusal == "slot_limit"
    if booked is not None or slot_taken:
        refusal = words("already_ordered", ORDERING)
    # Only a choice that can succeed offers the button: a booked slot, a closed menu or a
    # meal already had would end in a refusal.
    can_order = (
        price is not None
        and price.refusal is None
        and booked is None
        and menu.ordering_open(utcnow())
    )
    balance = balance_of(elder.id)
    if payment not in PAYMENTS[channel]:
        # The balance is what relatives top up so the elder need not handle cash.
        enough = price is not None and 0 < price.elder_pays_fen <= balance
        payment = OrderPayment.BALANCE if enough else orders.payment_method(channel)
    html = render_template(
        "ordering/confirm.html",
        elder=elder,
        menu=menu,
        option=option,
        channel=channel,
        price=price,
        balance_fen=balance,
        payments=PAYMENTS[channel],
        payment=payment,
        refusal=refusal,
        booked=booked,
        can_order=can_order,
        clashes=diet_clashes(elder, [option]),
        timezone=menu.canteen.district.effective_timezone,
    )
    return html, status


@bp.post("/order")
def place():
    user = require_permission("orders.place")
    elder, menu, option, channel = _choice_from(request.form)
    payment = request.form.get("payment")
    data = {"elder_id": elder.id, "menu_id": menu.id, "option_id": option.id, "channel": channel}
    if payment in PAYMENTS[channel]:
        data["payment"] = {"method": payment}
    address = (request.form.get("address") or "").strip()
    if channel == "delivery" and address:
        data["address"] = address
    try:
        placed = orders.place_order(user, data)
    except ApiError as error:
        return _confirmation(
            elder,
            menu,
            option,
            channel,
            refusal=explain(error, ORDERING),
            payment=payment,
            status=error.status,
        )
    flash(_("Ordered. Your order number is %(id)s.", id=placed.id), "success")
    return redirect(url_for("meals_pages.order_detail", order_id=placed.id))


# One order, the history


@bp.get("/orders/<id:order_id>")
def order_detail(order_id: int):
    user = require_permission("orders.read")
    found = orders.get_order(user, order_id)
    menu = db.session.get(Menu, found.menu_id)
    return render_template(
        "ordering/order.html",
        order=found,
        menu=menu,
        cancellable=orders.cancellable(found, menu, utcnow()) and may(user, "orders.place"),
        timezone=found.canteen.district.effective_timezone,
    )


@bp.get("/orders/<id:order_id>/cancel")
def confirm_cancel(order_id: int):
    """Before an order is cancelled: what it was, and what goes back (the money paid from
    the meal balance, or nothing). Nothing changes until the button is pressed."""
    user = require_permission("orders.place")
    found = orders.get_order(user, order_id)
    menu = db.session.get(Menu, found.menu_id)
    return render_template(
        "ordering/cancel.html",
        order=found,
        cancellable=orders.cancellable(found, menu, utcnow()),
        back=request.args.get("back") if request.args.get("back") == "order" else None,
        timezone=found.canteen.district.effective_timezone,
    )


@bp.post("/orders/<id:order_id>/cancel")
def cancel(order_id: int):
    user = require_permission("orders.place")
    found = orders.get_order(user, order_id)
    elder_id = found.elder_id
    try:
        orders.cancel_order(user, found)
    except ApiError as error:
        flash(explain(error, ORDERING), "error")
    else:
        flash(_("The order is cancelled."), "success")
    if request.form.get("back") == "order":
        return redirect(url_for("meals_pages.order_detail", order_id=order_id))
    return redirect(url_for("meals_pages.history", elder=elder_id))


@bp.get("/orders")
def history():
    """An elder's orders with their status in words, cancel buttons where it is still
    possible, the meal balance, and the meals eaten with a rating form for those not
    rated yet."""
    user = require_permission("orders.read")
    elders = _elders_of(user)
    elder_id = _int_arg("elder")
    elder = _chosen_elder(user, elders, elder_id) if elder_id is not None else None
    if elder is None and elders:
        elder = elders[0]
    if elder is None:
        return render_template("ordering/history.html", elder=None, elders=elders)
    placed = orders.elder_orders(elder.id)
    menus = {
        menu.id: menu
        for menu in db.session.scalars(select(Menu).where(Menu.id.in_({o.menu_id for o in placed})))
    }
    now = utcnow()
    meals = orders.elder_meals(elder.id)
    ratings = {
        rating.meal_id: rating
        for rating in db.session.scalars(
            select(Rating).where(Rating.meal_id.in_([meal.id for meal in meals]))
        )
    }
    return render_template(
        "ordering/history.html",
        elder=elder,
        elders=elders,
        orders=[
            {"order": o, "cancellable": orders.cancellable(o, menus.get(o.menu_id), now)}
            for o in placed
        ],
        may_cancel=may(user, "orders.place"),
        may_rate=may(user, "ratings.write"),
        meals=[{"meal": meal, "rating": ratings.get(meal.id)} for meal in meals],
        balance_fen=balance_of(elder.id),
    )


@bp.post("/meals/<id:meal_id>/rating")
def rate(meal_id: int):
    user = require_permission("ratings.write")
    meal = db.session.get(Meal, meal_id)
    if meal is None or meal.elder_id not in {elder.id for elder in _elders_of(user)}:
        raise NotFound("meal")
    score = _int_arg("score", request.form)
    comment = (request.form.get("comment") or "").strip()[:300] or None
    if score is None or not 1 <= score <= 5:
        flash(_("Please choose from 1 to 5 stars."), "error")
    else:
        try:
            orders.rate_meal(user, meal, score, comment)
        except ApiError as error:
            flash(explain(error, ORDERING), "error")
        else:
            flash(_("Thank you for rating the meal."), "success")
    return redirect(url_for("meals_pages.history", elder=meal.elder_id, _anchor="meals"))


# The manager's view


@bp.get("/canteens/<id:canteen_id>/ratings")
def canteen_ratings(canteen_id: int):
    user = require_permission("ratings.read", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    count, average = db.session.execute(
        select(func.count(Rating.id), func.avg(Rating.score)).where(Rating.canteen_id == canteen.id)
    ).one()
    return render_template(
        "ordering/ratings.html",
        canteen=canteen,
        ratings=orders.canteen_ratings(canteen),
        count=count,
        average=average,
        timezone=canteen.district.effective_timezone,
    )
