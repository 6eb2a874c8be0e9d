"""Delivery pages: the manager's runs, the volunteer's drops, route sheets and labels, and
the welfare alerts a delivery nobody answered raises.

Plain forms; every refusal of the services is a sentence on the page, never an error
page. The courier's papers carry the phone masked and never the ID number or the code the
elder gives at the door."""

from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from mealservice.accounts.models import User
from mealservice.core.auth import VOLUNTEER, may, require_permission
from mealservice.core.db import db
from mealservice.core.errors import ApiError, NotFound, ValidationFailed
from mealservice.core.forms import number_of
from mealservice.core.i18n import SLOT_WORDS
from mealservice.core.refusals import DELIVERY, explain
from mealservice.delivery import services
from mealservice.delivery.models import DeliveryRun, RunStatus
from mealservice.delivery.platforms.base import configured_platforms
from mealservice.elders.access import record_access
from mealservice.elders.models import Access, AlertKind, Elder, WelfareAlert
from mealservice.meals.models import Meal, Order, OrderStatus
from mealservice.meals.orders import get_order
from mealservice.places.models import Canteen, Community, Slot
from mealservice.places.services import get_canteen

bp = Blueprint("delivery_pages", __name__)

SLOTS = tuple(Slot)

# How far a delivery got, in words: the order's status, and while it is on its way the
# stage the platform last reported.
STAGE_WORDS = {
    "confirmed": _l("Waiting to dispatch"),
    "dispatched": _l("Dispatched"),
    "accepted": _l("Accepted"),
    "picked_up": _l("Picked up"),
    "delivered": _l("Delivered"),
    "failed": _l("Delivery failed"),
}

# A refused run's form fields in words (the service names them in English for the API).
RUN_FIELD_WORDS = {
    "volunteer_id": _l("Choose the volunteer who carries this run."),
    "platform": _l("Choose who delivers this run."),
}

PLATFORM_WORDS = {"volunteer": _l("Volunteer"), "simulator": _l("Simulator")}

FAILURE_WORDS = {
    "no_answer": _l("Nobody answered the door"),
    "platform_lost": _l("The delivery platform lost it; money paid ahead is refunded"),
    "not_delivered": _l("Not delivered, as the manager recorded; money paid ahead is refunded"),
}

ALERT_KIND_WORDS = {
    "no_answer": _l("Nobody answered the door at a meal delivery"),
    "absent": _l("A regular diner has not come for days"),
    "no_delivery": _l("A meal delivery never arrived: the platform lost it"),
}


def stage_of(order: Order) -> str:
    """The key into STAGE_WORDS for an order (the JavaScript computes the same)."""
    if order.status == OrderStatus.DISPATCHED and order.delivery_stage:
        return order.delivery_stage
    return order.status


def proof_of(order: Order, *, names: bool = False) -> str:
    """How a delivered order was proven, in words: the code the elder gave a volunteer at
    the door, or a manager settling it by hand (with who did it for staff, `names`); a
    platform's own proof says only that the platform reported it."""
    if order.status != OrderStatus.DELIVERED:
        return ""
    how, _colon, who = (order.proof or "").partition(":")
    if how == services.PROOF_DOOR_CODE:
        if names:
            return _("confirmed with the code at the door by %(who)s", who=who)
        return _("confirmed with the code at the door")
    if how == services.PROOF_BY_HAND:
        if names:
            return _("confirmed by hand by the manager %(who)s", who=who)
        return _("confirmed by hand by the canteen's manager")
    return _("reported by the delivery platform")


def masked_phone(phone: str | None) -> str:
    """The phone as a courier may see it: the first three and last four digits."""
    return services.mask_phone(phone) or "****"


@bp.app_context_processor
def delivery_words():
    return {
        "stage_words": STAGE_WORDS,
        "stage_of": stage_of,
        "failure_words": FAILURE_WORDS,
        "alert_kind_words": ALERT_KIND_WORDS,
        "masked_phone": masked_phone,
        "proof_of": proof_of,
    }


def _date_arg(source, default: date) -> date:
    try:
        return date.fromisoformat(source.get("date", ""))
    except ValueError:
        return default


def _slot_arg(source) -> str | None:
    slot = source.get("slot") or None
    return slot if slot in SLOTS else None


def _platform_words(name: str) -> str:
    return str(PLATFORM_WORDS.get(name, name))


# The manager's page


def _volunteers(canteen: Canteen) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == VOLUNTEER, User.canteen_id == canteen.id, User.active)
            .order_by(User.username)
        )
    )


def _deliveries_page(
    user, canteen: Canteen, day: date, slot: str | None, *, error_text=None, status=200, form=None
):
    found = services.canteen_delivery_orders(canteen, day, slot)
    runs: dict[int, DeliveryRun] = {}
    for run_id in sorted({o.run_id for o in found if o.run_id is not None}):
        runs[run_id] = db.session.get(DeliveryRun, run_id)
    volunteers = _volunteers(canteen)
    left = services.runs_left_by_deactivated_volunteers(canteen)
    # Every run's volunteer by name, a deactivated one too (marked on the page).
    names = {v.id: v.username for v in volunteers}
    names.update({run.volunteer_id: name for run, name in left})
    html = render_template(
        "delivery/deliveries.html",
        canteen=canteen,
        day=day,
        slot=slot,
        slots=SLOTS,
        waiting=[o for o in found if o.run_id is None],
        runs=[
            {"run": run, "orders": [o for o in found if o.run_id == run.id]}
            for run in runs.values()
        ],
        platforms=[(name, _platform_words(name)) for name in configured_platforms()],
        platform_words=_platform_words,
        volunteers=volunteers,
        volunteer_names=names,
        left_runs=left,
        left_volunteer_ids={run.volunteer_id for run, _name in left},
        may_write=may(user, "delivery_runs.write"),
        error_text=error_text,
        form=form or {},
        timezone=canteen.district.effective_timezone,
        # The JSON delivery.js polls; built here so the page needs no inline script.
        refresh_url=f"/api/v1/canteens/{canteen.id}/deliveries?"
        + urlencode({"date": day.isoformat(), **({"slot": slot} if slot else {})}),
        stage_word_texts={key: str(words) for key, words in STAGE_WORDS.items()},
        failure_word_texts={key: str(words) for key, words in FAILURE_WORDS.items()},
    )
    return html, status


@bp.get("/canteens/<id:canteen_id>/deliveries")
def deliveries(canteen_id: int):
    """A slot's delivery orders (or the day's), the runs they went out in with their status
    kept fresh by delivery.js, the form that makes runs, and re-dispatch for failures."""
    user = require_permission("delivery_runs.write", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    day = _date_arg(request.args, canteen.district.local_today())
    return _deliveries_page(user, canteen, day, _slot_arg(request.args))


@bp.post("/canteens/<id:canteen_id>/deliveries/runs")
def make_runs(canteen_id: int):
    user = require_permission("delivery_runs.write", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    day = _date_arg(request.form, canteen.district.local_today())
    slot = _slot_arg(request.form)
    platform = request.form.get("platform", "")
    volunteer_id = number_of(request.form.get("volunteer_id")) or None
    try:
        if slot is None:
            raise ValidationFailed({"slot": ["Choose a meal."]})
        made = services.make_runs(user, canteen, day, slot, platform, volunteer_id=volunteer_id)
    except ApiError as error:
        text = explain(error, DELIVERY)
        named = [
            str(RUN_FIELD_WORDS[name]) for name in error.fields or {} if name in RUN_FIELD_WORDS
        ]
        text = " ".join(named) or text
        return _deliveries_page(
            user, canteen, day, slot, error_text=text, status=error.status, form=request.form
        )
    flash(_("%(count)s runs made.", count=len(made)), "success")
    return redirect(
        url_for("delivery_pages.deliveries", canteen_id=canteen.id, date=day.isoformat(), slot=slot)
    )


@bp.post("/delivery-runs/<id:run_id>/volunteer")
def give_run(run_id: int):
    """Give a run whose volunteer's account was deactivated to another volunteer."""
    user = require_permission("delivery_runs.write")
    run = services.get_run(user, run_id)
    back = url_for(
        "delivery_pages.deliveries", canteen_id=run.canteen_id, date=run.date.isoformat()
    )
    chosen = request.form.get("volunteer_id") or ""
    volunteer_id = int(chosen) if chosen.isascii() and chosen.isdigit() and len(chosen) < 10 else 0
    try:
        services.give_run_to(user, run, volunteer_id)
    except ApiError as error:
        flash(explain(error, DELIVERY), "error")
    else:
        flash(_("Run %(id)s is given to another volunteer.", id=run.id), "success")
    return redirect(back)


@bp.post("/orders/<id:order_id>/redispatch")
def redispatch(order_id: int):
    user = require_permission("delivery_runs.write")
    order = get_order(user, order_id)
    back = url_for(
        "delivery_pages.deliveries",
        canteen_id=order.canteen_id,
        date=order.date.isoformat(),
        slot=order.slot,
    )
    try:
        services.redispatch(user, order, request.form.get("platform") or None)
    except ApiError as error:
        flash(explain(error, DELIVERY), "error")
    else:
        flash(_("Order %(id)s is on its way again.", id=order_id), "success")
    return redirect(back)


# The courier's papers


def _stops(run: DeliveryRun) -> list[Order]:
    """The run's orders in the order a courier walks them: by community, then address."""
    found = services.run_orders(run)
    return sorted(found, key=lambda o: (o.elder.community.name, o.address or "", o.id))


def _run_for_papers(run_id: int) -> tuple[DeliveryRun, list[Order]]:
    user = require_permission("delivery_runs.read")
    run = services.get_run(user, run_id)
    return run, _stops(run)


@bp.get("/delivery-runs/<id:run_id>/sheet")
def route_sheet(run_id: int):
    run, stops = _run_for_papers(run_id)
    return render_template(
        "delivery/sheet.html", run=run, stops=stops, platform_words=_platform_words
    )


@bp.get("/delivery-runs/<id:run_id>/labels")
def labels(run_id: int):
    run, stops = _run_for_papers(run_id)
    return render_template("delivery/labels.html", run=run, stops=stops)


# The volunteer's drops


def _my_runs(user, run_id: str) -> list[DeliveryRun]:
    if (asked := number_of(run_id)) is not None:
        return [services.get_run(user, asked)]
    if user.role != VOLUNTEER:
        return []
    canteen = db.session.get(Canteen, user.canteen_id)
    today = canteen.district.local_today()
    return list(
        db.session.scalars(
            select(DeliveryRun)
            .where(DeliveryRun.volunteer_id == user.id, DeliveryRun.date == today)
            .order_by(DeliveryRun.slot, DeliveryRun.id)
        )
    )


def _drops_page(user, run_id: str, *, errors=None, status=200):
    runs = [{"run": run, "stops": _stops(run)} for run in _my_runs(user, run_id)]
    # The volunteer may need to call the elder from the door: the phone of a drop still to
    # be made on a run still under way is shown in full, and its showing logged.
    callable_ids = set()
    for entry in runs:
        run = entry["run"]
        if run.status != RunStatus.OPEN:
            continue
        calls = [o for o in entry["stops"] if o.status == OrderStatus.DISPATCHED]
        if calls:
            record_access(
                user, run.canteen, [o.elder_id for o in calls], Access.RECORD_READ, "volunteer drop"
            )
            callable_ids.update(o.id for o in calls)
    html = render_template(
        "delivery/my_drops.html",
        runs=runs,
        callable_ids=callable_ids,
        errors=errors or {},
        chosen=run_id,
    )
    return html, status


@bp.get("/my-drops")
def my_drops():
    """For a volunteer, the runs given to them today; with `?run=` one run's drops (a
    manager standing in). Each stop: the address, the masked phone, the door code."""
    user = require_permission("deliveries.confirm")
    return _drops_page(user, request.args.get("run", ""))


def _drop(user, run_id: int, order_id: int) -> tuple[DeliveryRun, Order]:
    run = services.get_run(user, run_id)
    for order in services.run_orders(run):
        if order.id == order_id:
            return run, order
    raise NotFound("order")


def _back_to_drops(run: DeliveryRun, user):
    if user.role == VOLUNTEER:
        return redirect(url_for("delivery_pages.my_drops"))
    return redirect(url_for("delivery_pages.my_drops", run=run.id))


@bp.post("/delivery-runs/<id:run_id>/drops/<id:order_id>/delivered")
def confirm_drop(run_id: int, order_id: int):
    user = require_permission("deliveries.confirm")
    run, order = _drop(user, run_id, order_id)
    code = (request.form.get("code") or "").strip()
    try:
        services.confirm_drop(user, order, code)
    except ApiError as error:
        text = explain(error, DELIVERY)
        chosen = "" if user.role == VOLUNTEER else str(run_id)
        return _drops_page(user, chosen, errors={order_id: text}, status=error.status)
    flash(_("Delivered to %(name)s.", name=order.elder.name), "success")
    return _back_to_drops(run, user)


@bp.post("/delivery-runs/<id:run_id>/drops/<id:order_id>/no-answer")
def no_answer(run_id: int, order_id: int):
    user = require_permission("deliveries.confirm")
    run, order = _drop(user, run_id, order_id)
    try:
        services.report_no_answer(user, order)
    except ApiError as error:
        flash(explain(error, DELIVERY), "error")
    else:
        flash(
            _("Recorded: nobody answered. The community has been alerted to check on the elder."),
            "success",
        )
    return _back_to_drops(run, user)


@bp.post("/delivery-runs/<id:run_id>/drops/<id:order_id>/by-hand")
def settle_by_hand(run_id: int, order_id: int):
    """A manager settles a drop the volunteer never confirmed at the door."""
    user = require_permission("delivery_runs.write")
    run, order = _drop(user, run_id, order_id)
    delivered = request.form.get("outcome") == "delivered"
    try:
        services.settle_drop_by_hand(user, order, delivered)
    except ApiError as error:
        flash(explain(error, DELIVERY), "error")
    else:
        if delivered:
            flash(_("Delivered to %(name)s.", name=order.elder.name), "success")
        else:
            flash(_("Recorded: not delivered. Money paid ahead is refunded."), "success")
    return _back_to_drops(run, user)


# Welfare alerts


def _alert_detail(alert: WelfareAlert, order: Order | None, district) -> str:
    """What the alert is about, in the reader's language, from the alert's order or, for
    an absence, the elder's last meal before it was raised (the stored `detail` is the
    record's text, in one language)."""
    if order is not None:
        return _(
            "Order %(id)s: %(meal)s on %(date)s",
            id=order.id,
            meal=SLOT_WORDS[order.slot],
            date=order.date.isoformat(),
        )
    if alert.kind == AlertKind.ABSENT:
        last_day = db.session.scalar(
            select(func.max(Meal.date)).where(
                Meal.elder_id == alert.elder_id,
                Meal.voided_at.is_(None),
                Meal.served_at <= alert.raised_at,
            )
        )
        if last_day is not None:
            raised_on = district.local(alert.raised_at).date() if district else last_day
            return _(
                "No meal for %(days)s days; the last on %(date)s",
                days=max((raised_on - last_day).days - 1, 0),
                date=last_day.isoformat(),
            )
    return ""


def _alerts_page(user, *, errors=None, notes=None, status=200):
    alerts = services.open_alerts(user)
    elders = {
        e.id: e
        for e in db.session.scalars(select(Elder).where(Elder.id.in_({a.elder_id for a in alerts})))
    }
    communities = {
        c.code: c
        for c in db.session.scalars(
            select(Community).where(Community.code.in_({a.community_code for a in alerts}))
        )
    }
    canteens = {
        c.id: c
        for c in db.session.scalars(
            select(Canteen).where(Canteen.id.in_({a.canteen_id for a in alerts if a.canteen_id}))
        )
    }
    orders = {
        o.id: o
        for o in db.session.scalars(
            select(Order).where(Order.id.in_({a.order_id for a in alerts if a.order_id}))
        )
    }
    rows = []
    for alert in alerts:
        canteen = canteens.get(alert.canteen_id)
        community = communities.get(alert.community_code)
        district = (canteen or community).district if (canteen or community) else None
        rows.append(
            {
                "alert": alert,
                "elder": elders.get(alert.elder_id),
                "community": community,
                "canteen": canteen,
                "timezone": canteen.district.effective_timezone if canteen else None,
                "detail": _alert_detail(alert, orders.get(alert.order_id), district),
            }
        )
    may_follow_up = may(user, "alerts.follow_up")
    if may_follow_up:
        # Whoever follows an alert up is shown the elder's phone, address and emergency
        # contact: each showing is a read of personal data, logged where it is reviewed.
        for row in rows:
            if row["elder"] is not None:
                record_access(
                    user,
                    row["canteen"],
                    [row["elder"].id],
                    Access.RECORD_READ,
                    "welfare alert follow-up",
                    district_code=row["alert"].district_code,
                )
    html = render_template(
        "delivery/alerts.html",
        rows=rows,
        errors=errors or {},
        notes=notes or {},
        may_follow_up=may_follow_up,
    )
    return html, status


@bp.get("/alerts")
def alerts():
    user = require_permission("alerts.read")
    return _alerts_page(user)


@bp.post("/alerts/<id:alert_id>/follow-up")
def follow_up(alert_id: int):
    user = require_permission("alerts.follow_up")
    note = (request.form.get("note") or "").strip()
    if not note:
        message = _("Please write what was done to check on the elder.")
        return _alerts_page(user, errors={alert_id: message}, status=422)
    try:
        services.follow_up_alert(user, alert_id, note)
    except ApiError as error:
        if error.status == 404:
            raise
        return _alerts_page(
            user,
            errors={alert_id: explain(error, DELIVERY)},
            notes={alert_id: note},
            status=error.status,
        )
    flash(_("The follow-up is recorded and the alert is closed."), "success")
    return redirect(url_for("delivery_pages.alerts"))
