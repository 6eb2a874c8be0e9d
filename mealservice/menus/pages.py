"""The manager's menu pages: a week at a glance, adding, editing and publishing menus,
copying last week, and the kitchen's printable counts."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    StringField,
)
from wtforms.validators import InputRequired, NumberRange, Optional

from mealservice.core.auth import require_permission
from mealservice.core.errors import ApiError, NotFound, flatten_messages
from mealservice.core.forms import YuanField, number_of
from mealservice.core.refusals import explain
from mealservice.menus import services
from mealservice.menus.models import MenuStatus
from mealservice.menus.schemas import MenuIn, MenuPatchIn
from mealservice.places.services import get_canteen

bp = Blueprint("menus_pages", __name__)

MAX_OPTIONS = 10
# Managers type dishes with Chinese or Western commas alike.
DISH_SEPARATORS = re.compile(r"[,，、;；]")
TAG_FIELDS = {"soft": "soft", "low_salt": "low_salt", "low_sugar": "low_sugar"}
WEEKDAYS = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]


class OptionForm(Form):
    # A plain Form: the menu form around it carries the one CSRF token.
    id = HiddenField()
    name = StringField(_l("Option name"))
    dishes = StringField(_l("Dishes (comma separated)"))
    price = YuanField(_l("Price (yuan)"))
    delivery_fee = YuanField(_l("Delivery fee (yuan)"))
    soft = BooleanField(_l("Soft"))
    low_salt = BooleanField(_l("Low salt"))
    low_sugar = BooleanField(_l("Low sugar"))


class MenuForm(FlaskForm):
    seats = IntegerField(_l("Seats"), validators=[InputRequired(), NumberRange(min=0)])
    order_cutoff = DateTimeLocalField(
        _l("Ordering closes"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )
    delivery_capacity = IntegerField(
        _l("Delivery capacity"), validators=[Optional(), NumberRange(min=0)]
    )
    options = FieldList(FormField(OptionForm), min_entries=1, max_entries=MAX_OPTIONS)


class MenuFormErrors:
    """Refusals from the schema or the services, put on the fields they name."""

    FIELDS = {"price_fen": "price", "delivery_fee_fen": "delivery_fee", "tags": "name"}

    def __init__(self, form: MenuForm, rows: list[int]):
        self.form = form
        self.rows = rows  # the form row of each option sent, by its index in the body
        self.general: list[str] = []

    def add(self, key: str, messages: list[str]) -> None:
        parts = key.split(".")
        if parts[0] in ("seats", "order_cutoff", "delivery_capacity"):
            self.form[parts[0]].errors = [*self.form[parts[0]].errors, *messages]
        elif parts[0] == "options" and len(parts) >= 3 and parts[1].isdigit():
            row = self.form.options[self.rows[int(parts[1])]]
            name = self.FIELDS.get(parts[2], parts[2])
            field = row[name] if name in ("name", "dishes", "price", "delivery_fee") else row.name
            field.errors = [*field.errors, *messages]
        else:
            self.general.extend(messages)


def _menu_of(user, canteen_id: int, menu_id: int):
    menu = services.get_menu(user, menu_id)
    if menu.canteen_id != canteen_id:
        raise NotFound("menu")
    return menu


def _week_of(canteen, text: str | None) -> date:
    if text:
        try:
            return services.week_start(date.fromisoformat(text))
        except ValueError:
            flash(_("The week must be given as a date such as 2026-11-23."), "error")
    return services.week_start(canteen.district.local_today())


def _plan_url(canteen_id: int, week: date) -> str:
    return url_for("menus_pages.plan", canteen_id=canteen_id, week=week.isoformat())


@bp.get("/canteens/<id:canteen_id>/menus/plan")
def plan(canteen_id: int):
    user = require_permission("menus.write", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    monday = _week_of(canteen, request.args.get("week"))
    menus = services.week_menus(canteen, monday)
    days = [monday + timedelta(days=n) for n in range(7)]
    return render_template(
        "menus/plan.html",
        canteen=canteen,
        monday=monday,
        previous_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
        days=days,
        slots=services.planned_slots(canteen),
        menus=menus,
        drafts=any(
            menu.status == MenuStatus.DRAFT and services.changeable(canteen, menu.date)
            for menu in menus.values()
        ),
        today=canteen.district.local_today(),
        changeable={day: services.changeable(canteen, day) for day in days},
        weekdays=WEEKDAYS,
        zone=canteen.district.effective_timezone,
    )


@bp.post("/canteens/<id:canteen_id>/menus/copy-week")
def copy_week(canteen_id: int):
    user = require_permission("menus.write", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    monday = _week_of(canteen, request.form.get("week"))
    try:
        created, skipped = services.copy_week(canteen, monday - timedelta(days=7), monday)
    except ApiError as error:
        flash(explain(error), "error")
    else:
        kept = sum(1 for s in skipped if s["reason"] == "exists")
        if created:
            flash(
                _(
                    "%(n)s draft menus copied from last week; %(kept)s existing menus kept.",
                    n=len(created),
                    kept=kept,
                ),
                "success",
            )
        else:
            flash(_("Nothing to copy: last week has no menus for the days still ahead."), "error")
    return redirect(_plan_url(canteen.id, monday))


@bp.post("/canteens/<id:canteen_id>/menus/publish-week")
def publish_week(canteen_id: int):
    user = require_permission("menus.write", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    monday = _week_of(canteen, request.form.get("week"))
    published = services.publish_week(canteen, monday)
    flash(_("%(n)s menus published.", n=len(published)), "success")
    return redirect(_plan_url(canteen.id, monday))


@bp.post("/canteens/<id:canteen_id>/menus/<id:menu_id>/publish")
def publish_menu(canteen_id: int, menu_id: int):
    user = require_permission("menus.write", scope=get_canteen, canteen_id=canteen_id)
    menu = _menu_of(user, canteen_id, menu_id)
    try:
        services.publish_menu(menu)
    except ApiError as error:
        flash(explain(error), "error")
    else:
        flash(_("The menu of %(day)s is published.", day=menu.date.isoformat()), "success")
    return redirect(_plan_url(canteen_id, services.week_start(menu.date)))


@bp.route("/canteens/<id:canteen_id>/menus/new", methods=["GET", "POST"])
def new_menu(canteen_id: int):
    user = require_permission("menus.write", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        abort(404)
    slot = request.args.get("slot")
    if slot not in services.planned_slots(canteen):
        abort(404)
    zone = ZoneInfo(canteen.district.effective_timezone)
    if request.method == "GET":
        opens = canteen.district.slot_windows[slot][0]
        starts = datetime.combine(day, datetime.strptime(opens, "%H:%M").time())
        form = MenuForm(
            formdata=None,
            data={
                "seats": canteen.seats_per_meal,
                # By default ordering closes an hour before the meal begins.
                "order_cutoff": starts - timedelta(hours=1),
                "options": [{}],
            },
        )
    else:
        form = MenuForm()
    errors: list[str] = []
    if form.validate_on_submit():
        payload, rows, row_errors = _payload(form, zone, {})
        payload.update(date=day.isoformat(), slot=slot, status=MenuStatus.DRAFT.value)
        if not row_errors:
            report = MenuFormErrors(form, rows)
            try:
                menu = services.create_menu(canteen, MenuIn().load(payload))
            except ValidationError as error:
                for key, messages in flatten_messages(error.messages).items():
                    report.add(key, messages)
            except ApiError as error:
                _report(report, error)
            else:
                flash(_("The menu was added as a draft."), "success")
                return redirect(_plan_url(canteen.id, services.week_start(menu.date)))
            errors = report.general
    return _menu_page(canteen, None, day, slot, form, errors)


@bp.route("/canteens/<id:canteen_id>/menus/<id:menu_id>/edit", methods=["GET", "POST"])
def edit_menu(canteen_id: int, menu_id: int):
    user = require_permission("menus.write", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    menu = _menu_of(user, canteen_id, menu_id)
    zone = ZoneInfo(canteen.district.effective_timezone)
    if request.method == "GET":
        form = MenuForm(formdata=None, data=_form_data(menu, zone))
    else:
        form = MenuForm()
    errors: list[str] = []
    if form.validate_on_submit():
        current = {option.id: option for option in menu.options}
        payload, rows, row_errors = _payload(form, zone, current)
        if not row_errors:
            report = MenuFormErrors(form, rows)
            try:
                services.update_menu(menu, MenuPatchIn().load(payload))
            except ValidationError as error:
                for key, messages in flatten_messages(error.messages).items():
                    report.add(key, messages)
            except ApiError as error:
                _report(report, error, _rows_by_option_id(form))
            else:
                flash(_("The menu was saved."), "success")
                return redirect(_plan_url(canteen.id, services.week_start(menu.date)))
            errors = report.general
    return _menu_page(canteen, menu, menu.date, menu.slot, form, errors)


def _menu_page(canteen, menu, day: date, slot: str, form: MenuForm, errors: list[str]):
    if request.method == "GET" and len(form.options) < MAX_OPTIONS:
        form.options.append_entry()  # a blank row to add an option
    return render_template(
        "menus/edit.html",
        canteen=canteen,
        menu=menu,
        day=day,
        slot=slot,
        form=form,
        errors=errors,
        plan_week=services.week_start(day),
        past=not services.changeable(canteen, day),
    )


def _form_data(menu, zone: ZoneInfo) -> dict:
    return {
        "seats": menu.seats,
        "order_cutoff": menu.order_cutoff.astimezone(zone).replace(tzinfo=None),
        "delivery_capacity": menu.delivery_capacity,
        "options": [
            {
                "id": str(option.id),
                "name": option.name,
                "dishes": "，".join(option.dishes),
                "price": option.price_fen,
                "delivery_fee": option.delivery_fee_fen,
                **{field: tag in option.tags for field, tag in TAG_FIELDS.items()},
            }
            for option in menu.options
        ],
    }


def _payload(form: MenuForm, zone: ZoneInfo, current: dict) -> tuple[dict, list[int], bool]:
    """The form as the API's body; rows left blank are left out (an existing option
    cleared is removed). Returns the body, the form row of each option sent, and whether
    a row was refused on its own."""
    options, rows, refused = [], [], False
    for index, entry in enumerate(form.options):
        row = entry.form
        name = (row["name"].data or "").strip()
        option_id = number_of(row["id"].data)
        if not name and row["price"].data is None and not row["price"].errors:
            continue
        if not name:
            row["name"].errors = [*row["name"].errors, _("Give the option a name.")]
            refused = True
        if row["price"].data is None and not row["price"].errors:
            row["price"].errors = [*row["price"].errors, _("Give the price in yuan.")]
            refused = True
        if row["price"].errors or row["delivery_fee"].errors:
            refused = True
            continue
        kept_tags = [
            tag for tag in getattr(current.get(option_id), "tags", []) if tag not in TAG_FIELDS
        ]
        option = {
            "name": name,
            "price_fen": row["price"].data,
            "delivery_fee_fen": row["delivery_fee"].data or 0,
            "dishes": [
                d.strip() for d in DISH_SEPARATORS.split(row["dishes"].data or "") if d.strip()
            ],
            "tags": [tag for field, tag in TAG_FIELDS.items() if row[field].data] + kept_tags,
        }
        if option_id in current:
            option["id"] = option_id
        options.append(option)
        rows.append(index)
    cutoff = form.order_cutoff.data.replace(tzinfo=zone)
    payload = {
        "seats": form.seats.data,
        "order_cutoff": cutoff.isoformat(),
        "delivery_capacity": form.delivery_capacity.data,
        "options": options,
    }
    return payload, rows, refused


def _rows_by_option_id(form: MenuForm) -> dict[int, int]:
    return {
        number_of(entry.form["id"].data): index
        for index, entry in enumerate(form.options)
        if number_of(entry.form["id"].data) is not None
    }


def _report(report: MenuFormErrors, error: ApiError, rows_by_id: dict | None = None) -> None:
    """Undo what the refused change wrote and put the reasons beside the fields they name."""
    text = explain(error)
    if error.fields:
        for key, messages in error.fields.items():
            report.add(key, messages)
        return
    if error.code == "seats_below_booked":
        report.add("seats", [text])
    elif error.code == "delivery_below_booked":
        report.add("delivery_capacity", [text])
    elif error.code == "option_in_use" and rows_by_id and error.detail["option_id"] in rows_by_id:
        row = report.form.options[rows_by_id[error.detail["option_id"]]]
        row.name.errors = [*row.name.errors, text]
    else:
        report.general.append(text)
