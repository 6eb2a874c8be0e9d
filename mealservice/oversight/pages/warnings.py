"""Oversight pages: satisfaction per meal place in a month, and the review of the
personal-data access log. Plain GET forms that work without script."""

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mealservice.core.auth import ADMIN, require_permission
from mealservice.core.db import db
from mealservice.core.forms import kept_query_args, number_of, page_arg
from mealservice.core.periods import is_month, month_of
from mealservice.core.schemas import page_of_query
from mealservice.elders import access
from mealservice.elders.models import Access
from mealservice.oversight.pages import bp
from mealservice.oversight.services.satisfaction import SCORES, district_satisfaction
from mealservice.places.models import Canteen, District
from mealservice.places.services import get_district

ENTRIES_PER_PAGE = 50

ACCESS_WORDS = {
    Access.COUNTER_LOOKUP: _l("Looked up at the counter"),
    Access.CARDLESS_SCAN: _l("Served without a card"),
    Access.RECORD_READ: _l("Read the elder's record from outside the district"),
}


# Satisfaction


def _district_of(user) -> District | None:
    """An official's or a manager's own district; the one an administrator picked."""
    if user.role != ADMIN:
        return get_district(user, user.district_code)
    code = (request.args.get("district") or "").strip()
    return get_district(user, code) if code else None


@bp.get("/satisfaction")
def satisfaction():
    """The month's ratings per meal place: an official's district, a manager's own
    place, the district an administrator picks (`?district=`)."""
    user = require_permission("ratings.read")
    district = _district_of(user)
    text = (request.args.get("month") or "").strip()
    month = text if is_month(text) else None
    if month is None and district is not None:
        month = month_of(district.local_today())
    body = district_satisfaction(user, district, month) if district is not None else None
    return render_template(
        "oversight/satisfaction.html",
        district=district,
        districts=(
            db.session.scalars(select(District).order_by(District.code)).all()
            if user.role == ADMIN
            else []
        ),
        month=month,
        bad_month=bool(text) and not is_month(text),
        body=body,
        scores=SCORES,
    )


# The access log


def _filters() -> tuple[dict, str | None]:
    username = (request.args.get("username") or "").strip()[:64]
    text = (request.args.get("elder_id") or "").strip()
    elder_id = number_of(text) or None
    error = None
    if text and elder_id is None:
        error = _("Elder number: give the elder's number, such as 42.")
    return {"username": username or None, "elder_id": elder_id}, error


def _pager_args(**changes) -> dict:
    return kept_query_args(("username", "elder_id"), **changes)


@bp.get("/access-log")
def access_log():
    """Who reached which elder's personal data, newest first, by user and by elder."""
    user = require_permission("access_log.read")
    filters, error = _filters()
    page = page_arg()
    found = (
        {"items": [], "next": None}
        if error
        else page_of_query(access.access_log_query(user, **filters), page, ENTRIES_PER_PAGE)
    )
    entries = access.with_elder_names(found["items"])
    canteens = {
        canteen.id: canteen
        for canteen in db.session.scalars(
            select(Canteen).where(Canteen.id.in_({e["canteen_id"] for e in entries} - {None}))
        )
    }
    zones = {
        district.code: district.effective_timezone
        for district in db.session.scalars(
            select(District).where(District.code.in_({e["district_code"] for e in entries}))
        )
    }
    return render_template(
        "oversight/access_log.html",
        entries=entries,
        canteens=canteens,
        zones=zones,
        access_words=ACCESS_WORDS,
        username=request.args.get("username", ""),
        elder_id=request.args.get("elder_id", ""),
        error_text=error,
        page=page,
        next_page=found["next"],
        pager_args=_pager_args,
    )
