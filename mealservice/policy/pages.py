"""Office pages for subsidy policy: a district's versions with their tiers, a new version
with a preview of what it changes, and the statutory holiday calendar.

The form is read into the API's own input (PolicyIn), so the page and the API refuse the
same things in the same words, and the version is made by the one service that makes
them (policy.services.create_policy); the preview prices through policy.preview."""

from datetime import date

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mealservice.core.auth import ADMIN, may, require_permission
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import ApiError, ValidationFailed, flatten_messages
from mealservice.core.forms import fen_to_yuan_text, number_of, yuan_to_fen
from mealservice.core.refusals import explain
from mealservice.elders.models import Category
from mealservice.places.models import District
from mealservice.places.services import get_district
from mealservice.policy import preview, services
from mealservice.policy.models import SubsidyPolicy
from mealservice.policy.pricing import TIER_CHANNELS
from mealservice.policy.schemas import PolicyIn

bp = Blueprint("policy_pages", __name__)

# Rows of tiers the form offers; a version rarely has more than a handful.
TIER_ROWS = 8

CATEGORY_WORDS = {
    Category.EXTREME_POVERTY: _l("Extreme poverty (dispersed support)"),
    Category.MINIMUM_ALLOWANCE: _l("Minimum living allowance"),
    Category.LOW_INCOME: _l("Low income"),
    Category.DISABLED: _l("Unable to care for themselves"),
    Category.LIVING_ALONE: _l("Living alone"),
    Category.EMPTY_NEST: _l("Empty nest"),
    Category.LEFT_BEHIND: _l("Left behind"),
    Category.HANDICAPPED: _l("Disability"),
    Category.FAMILY_PLANNING_SPECIAL: _l("Family-planning special family"),
}

CHANNEL_WORDS = {
    "dine_in": _l("Dine-in"),
    "delivery": _l("Delivery"),
    "any": _l("Dine-in or delivery"),
}

FIELD_NAMES = {
    "effective_from": _l("Effective from"),
    "max_meals_per_slot": _l("Meals per slot"),
    "max_subsidized_per_day": _l("Subsidized meals per day"),
    "delivery_subsidy_fen": _l("Delivery subsidy"),
    "tiers": _l("Tiers"),
    "name": _l("name"),
    "min_age": _l("minimum age"),
    "categories": _l("categories"),
    "channel": _l("channel"),
    "amount_fen": _l("amount"),
}

policy_in = PolicyIn()


@bp.app_context_processor
def policy_words():
    return {"category_words": CATEGORY_WORDS, "channel_words": CHANNEL_WORDS}


def _district(user) -> tuple[District, list[District]]:
    """The district the page is about: the user's own; the one an administrator picks
    (`?district=`, else the first)."""
    if user.role != ADMIN:
        return get_district(user, user.district_code), []
    districts = list(db.session.scalars(select(District).order_by(District.code)))
    code = (request.values.get("district") or "").strip()
    if code:
        return get_district(user, code), districts
    if not districts:
        raise ValidationFailed({"district": ["No district is registered yet."]})
    return districts[0], districts


# The versions


@bp.get("/policies")
def policies():
    """A district's versions, newest first, each with its tiers and limits."""
    user = require_permission("policies.read")
    district, districts = _district(user)
    versions = db.session.scalars(services.policies_query(district)).all()
    in_force = services.current_version(district.code, district.local_today())
    return render_template(
        "policy/policies.html",
        district=district,
        districts=districts,
        versions=versions,
        in_force=in_force,
        may_write=may(user, "policies.write"),
    )


def _field_name(path: str) -> str:
    """ "tiers.2.amount_fen" → "Tier 3 amount"."""
    parts = path.split(".")
    if parts[0] == "tiers" and len(parts) == 3 and parts[1].isdigit():
        return _(
            "Tier %(n)s %(field)s", n=int(parts[1]) + 1, field=FIELD_NAMES.get(parts[2], parts[2])
        )
    return str(FIELD_NAMES.get(path, path))


def _yuan_field(form, name: str, errors: dict, field: str, *, optional: bool = True):
    text = (form.get(name) or "").strip()
    if not text:
        return None if optional else 0
    try:
        return yuan_to_fen(text)
    except ValueError:
        errors[field] = [_("Enter an amount in yuan, such as 12.50.")]
        return None


def _whole(form, name: str, errors: dict, field: str) -> int | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    value = number_of(text, 1000)
    if value is None:
        errors[field] = [_("Give a whole number.")]
    return value


def read_form(form) -> dict:
    """The form as PolicyIn's input, loaded by it; ValidationFailed names the fields."""
    errors: dict[str, list[str]] = {}
    tiers = []
    for row in range(TIER_ROWS):
        name = (form.get(f"tier-{row}-name") or "").strip()
        amount = (form.get(f"tier-{row}-amount") or "").strip()
        if not name and not amount:
            continue
        position = len(tiers)
        tier = {
            "name": name,
            "channel": form.get(f"tier-{row}-channel") or "any",
            "amount_fen": _yuan_field(
                form, f"tier-{row}-amount", errors, f"tiers.{position}.amount_fen", optional=False
            ),
        }
        min_age = _whole(form, f"tier-{row}-min_age", errors, f"tiers.{position}.min_age")
        if min_age is not None:
            tier["min_age"] = min_age
        categories = form.getlist(f"tier-{row}-categories")
        if categories:
            tier["categories"] = categories
        tiers.append(tier)
    raw = {
        "effective_from": (form.get("effective_from") or "").strip(),
        "no_subsidy_on_holidays": form.get("no_subsidy_on_holidays") == "1",
        "refuse_beyond_limit": form.get("refuse_beyond_limit") == "1",
        "delivery_subsidy_fen": _yuan_field(
            form, "delivery_subsidy", errors, "delivery_subsidy_fen", optional=False
        ),
        "tiers": tiers,
    }
    for name in ("max_meals_per_slot", "max_subsidized_per_day"):
        value = _whole(form, name, errors, name)
        if value is not None:
            raw[name] = value
    if errors:
        raise ValidationFailed(errors)
    try:
        return policy_in.load(raw)
    except ma.ValidationError as error:
        raise ValidationFailed(flatten_messages(error.messages)) from None


def _initial(district: District) -> dict:
    """The form filled from the version in force (or empty), to change what must change."""
    today = district.local_today()
    version_id = services.current_version(district.code, today)
    values: dict = {"no_subsidy_on_holidays": "1", "refuse_beyond_limit": "1"}
    if version_id is None:
        values.update(max_meals_per_slot="1", delivery_subsidy="0.00")
        return values
    version = db.session.get(SubsidyPolicy, version_id)
    values = {
        "no_subsidy_on_holidays": "1" if version.no_subsidy_on_holidays else "",
        "refuse_beyond_limit": "1" if version.refuse_beyond_limit else "",
        "max_meals_per_slot": str(version.max_meals_per_slot),
        "max_subsidized_per_day": str(version.max_subsidized_per_day or ""),
        "delivery_subsidy": fen_to_yuan_text(version.delivery_subsidy_fen),
    }
    for row, tier in enumerate(version.tiers[:TIER_ROWS]):
        values[f"tier-{row}-name"] = tier.name
        values[f"tier-{row}-min_age"] = "" if tier.min_age is None else str(tier.min_age)
        values[f"tier-{row}-channel"] = tier.channel
        values[f"tier-{row}-amount"] = fen_to_yuan_text(tier.amount_fen)
        values[f"tier-{row}-categories"] = list(tier.categories or [])
    return values


def _form_values(form) -> dict:
    values = {key: form.get(key, "") for key in form}
    for row in range(TIER_ROWS):
        values[f"tier-{row}-categories"] = form.getlist(f"tier-{row}-categories")
    return values


def _new_version_page(district, districts, values, *, error=None, shown=None, status=200):
    return (
        render_template(
            "policy/new_version.html",
            district=district,
            districts=districts,
            values=values,
            rows=range(TIER_ROWS),
            categories=list(Category),
            channels=TIER_CHANNELS,
            error_text=error,
            preview=shown,
            no_tier=preview.NO_TIER,
            sample_days=preview.SAMPLE_DAYS,
        ),
        status,
    )


@bp.get("/policies/new")
def new_version():
    user = require_permission("policies.write")
    district, districts = _district(user)
    return _new_version_page(district, districts, _initial(district))


@bp.post("/policies/new")
def create_version():
    """`action=preview` prices the district's recent meals under the proposed version and
    shows the difference, writing nothing; `action=create` makes the version."""
    user = require_permission("policies.write")
    district, districts = _district(user)
    values = _form_values(request.form)
    try:
        data = read_form(request.form)
        if request.form.get("action") != "create":
            shown = preview.preview_version(district, data, district.local_today())
            return _new_version_page(district, districts, values, shown=shown)
        version = services.create_policy(user.username, district, data)
    except ApiError as error:
        names = {path: _field_name(path) for path in (error.fields or {})}
        return _new_version_page(
            district,
            districts,
            values,
            error=explain(error, field_names=names),
            status=error.status,
        )
    flash(
        _("The new version starts on %(day)s.", day=version.effective_from.isoformat()), "success"
    )
    return redirect(url_for("policy_pages.policies", district=district.code))


# Holidays


def _year() -> int:
    year = number_of(request.args.get("year"), 2100)
    return year if year is not None and year >= 2000 else utcnow().year


@bp.get("/holidays")
def holidays():
    user = require_permission("holidays.read")
    year = _year()
    return render_template(
        "policy/holidays.html",
        year=year,
        holidays=db.session.scalars(services.holidays_query(year)).all(),
        may_write=may(user, "holidays.write"),
    )


@bp.post("/holidays")
def add_holiday():
    """A statutory holiday added (or renamed); claims re-check their undecided meals
    through the signal the service sends."""
    require_permission("holidays.write")
    text = (request.form.get("day") or "").strip()
    name = (request.form.get("name") or "").strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        flash(_("Date: the date must look like 2026-11-24."), "error")
        return redirect(url_for("policy_pages.holidays"))
    if not name or len(name) > 60 or "\x00" in name:
        flash(_("Name: give the holiday's name, up to 60 characters."), "error")
        return redirect(url_for("policy_pages.holidays", year=day.year))
    services.set_holiday(day, name)
    flash(_("%(day)s is a holiday: %(name)s.", day=day.isoformat(), name=name), "success")
    return redirect(url_for("policy_pages.holidays", year=day.year))


@bp.post("/holidays/<date:day>/remove")
def remove_holiday(day: date):
    require_permission("holidays.write")
    try:
        services.remove_holiday(day)
    except ApiError as error:
        flash(explain(error), "error")
    else:
        flash(_("%(day)s is no longer a holiday.", day=day.isoformat()), "success")
    return redirect(url_for("policy_pages.holidays", year=day.year))
