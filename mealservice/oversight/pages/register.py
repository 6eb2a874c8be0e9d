"""Oversight pages: a meal place's register (filing, grade, blacklist) for the district's
officials, read-only for its manager; random inspections for officials (the draw) and
inspectors (the checklist); and the published results, open to everyone.

Plain forms that work without script; every refusal of the services is a sentence on the
page, next to the form it refuses."""

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mealservice.core.auth import ADMIN, MANAGER, may, require_permission
from mealservice.core.db import db
from mealservice.core.errors import ApiError, NotFound, ValidationFailed
from mealservice.core.forms import fen_to_yuan_text, number_of, page_arg, yuan_error, yuan_to_fen
from mealservice.core.refusals import explain
from mealservice.core.schemas import page_of_query
from mealservice.oversight.models import CHECKLIST, InspectionResult
from mealservice.oversight.pages import bp
from mealservice.oversight.services import inspections
from mealservice.oversight.views.register import oversight_body
from mealservice.places import registry
from mealservice.places.models import District, FilingStatus
from mealservice.places.services import get_canteen, get_district

INSPECTIONS_PER_PAGE = 50
PUBLIC_PER_PAGE = 50

FILING_WORDS = {
    FilingStatus.NOT_FILED: _l("Not filed"),
    FilingStatus.FILED: _l("Filed"),
    FilingStatus.WITHDRAWN: _l("Filing withdrawn"),
}

RESULT_WORDS = {
    InspectionResult.PASSED: _l("Passed"),
    InspectionResult.RECTIFY: _l("Passed, to be rectified"),
    InspectionResult.FAILED: _l("Failed"),
}

CHECKLIST_WORDS = {
    "food_safety_licence": _l("Food business licence in date"),
    "kitchen_hygiene": _l("Kitchen hygiene"),
    "food_samples_kept": _l("Food samples kept for 48 hours"),
    "prices_displayed": _l("Prices displayed"),
    "subsidy_notice_displayed": _l("Subsidy policy displayed"),
    "fire_safety": _l("Fire safety"),
    "accessible_seating": _l("Seating and passages suited to elders"),
    "meal_records_match": _l("Meal records match what is seen"),
}

FIELD_NAMES = {
    "status": _l("Filing status"),
    "filing_number": _l("Filing number"),
    "filed_on": _l("Date filed"),
    "grade": _l("Grade"),
    "graded_on": _l("Date graded"),
    "operating_subsidy_fen": _l("Monthly operating subsidy"),
    "reason": _l("Reason"),
    "starts_on": _l("First day"),
    "ends_on": _l("Last day"),
    "count": _l("Number of places"),
    "district": _l("District"),
    "result": _l("Result"),
    "checklist": _l("Checklist"),
    "findings": _l("Findings"),
}


@bp.app_context_processor
def oversight_words():
    return {
        "filing_words": FILING_WORDS,
        "inspection_result_words": RESULT_WORDS,
        "checklist_words": CHECKLIST_WORDS,
    }


def refusal_text(error: ApiError) -> str:
    """Undo what the refused change wrote; say why, naming the oversight pages' fields."""
    return explain(error, field_names=FIELD_NAMES)


def _date_field(name: str, required: bool = False) -> date | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        if required:
            raise ValidationFailed({name: [_("Give a date.")]})
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed({name: [_("Give the date as YYYY-MM-DD.")]}) from None


# A place's register


def _canteen_page(user, canteen, *, error_text=None, error_form=None, form=None, status=200):
    body = oversight_body(user, canteen)
    return render_template(
        "oversight/canteen_oversight.html",
        canteen=canteen,
        body=body,
        statuses=tuple(FilingStatus),
        may_file=may(user, "filing.write"),
        may_grade=may(user, "grading.write"),
        may_blacklist=may(user, "blacklist.write"),
        for_the_place=user.role == MANAGER,
        subsidy_yuan=fen_to_yuan_text(canteen.monthly_operating_subsidy_fen),
        error_text=error_text,
        error_form=error_form,
        form=form or {},
        today=canteen.district.local_today(),
        timezone=canteen.district.effective_timezone,
    ), status


@bp.get("/canteens/<id:canteen_id>/oversight")
def canteen_oversight(canteen_id: int):
    user = require_permission("oversight.read", get_canteen, canteen_id=canteen_id)
    return _canteen_page(user, get_canteen(user, canteen_id))


def _change(action: str, canteen_id: int, which: str, change, done: str):
    """Guard, apply `change(user, canteen)`, then redirect with `done`; a refusal is shown
    on the page beside the form `which`."""
    user = require_permission(action, get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    try:
        change(user, canteen)
    except ApiError as error:
        if error.status == 404:
            raise
        text = refusal_text(error)
        canteen = get_canteen(user, canteen_id)
        return _canteen_page(
            user,
            canteen,
            error_text=text,
            error_form=which,
            form=request.form,
            status=error.status,
        )
    flash(done, "success")
    return redirect(url_for("oversight_pages.canteen_oversight", canteen_id=canteen_id))


@bp.post("/canteens/<id:canteen_id>/oversight/filing")
def set_filing(canteen_id: int):
    def change(user, canteen):
        registry.set_filing(
            user,
            canteen,
            request.form.get("status", ""),
            request.form.get("filing_number"),
            _date_field("filed_on"),
        )

    return _change("filing.write", canteen_id, "filing", change, _("The filing is recorded."))


@bp.post("/canteens/<id:canteen_id>/oversight/grade")
def set_grade(canteen_id: int):
    def change(user, canteen):
        text = (request.form.get("grade") or "").strip()
        subsidy_text = (request.form.get("operating_subsidy") or "").strip()
        subsidy = None
        if subsidy_text:
            try:
                subsidy = yuan_to_fen(subsidy_text)
            except ValueError:
                raise ValidationFailed({"operating_subsidy_fen": [yuan_error()]}) from None
        registry.set_grade(
            user,
            canteen,
            number_of(text),
            _date_field("graded_on", required=True),
            subsidy,
        )

    return _change("grading.write", canteen_id, "grade", change, _("The grade is recorded."))


@bp.post("/canteens/<id:canteen_id>/oversight/blacklist")
def add_to_blacklist(canteen_id: int):
    def change(user, canteen):
        registry.add_to_blacklist(
            user,
            canteen,
            request.form.get("reason", ""),
            _date_field("starts_on", required=True),
            _date_field("ends_on"),
        )

    return _change(
        "blacklist.write",
        canteen_id,
        "blacklist",
        change,
        _("The meal place is put on the blacklist."),
    )


@bp.post("/canteens/<id:canteen_id>/oversight/blacklist/<id:entry_id>/lift")
def lift(canteen_id: int, entry_id: int):
    user = require_permission("blacklist.write", registry.get_blacklist_entry, entry_id=entry_id)
    entry = registry.get_blacklist_entry(user, entry_id)
    if entry.canteen_id != canteen_id:
        raise NotFound("blacklist entry")

    def change(user, canteen):
        registry.lift(user, entry)

    return _change(
        "blacklist.write", canteen_id, "lift", change, _("The blacklist entry is lifted.")
    )


# Random inspections


def _inspections_page(user, *, error_text=None, form=None, status=200):
    page = page_arg()
    found = page_of_query(inspections.inspections_query(user), page, INSPECTIONS_PER_PAGE)
    rows = inspections.inspection_bodies(found["items"])
    districts = (
        db.session.scalars(select(District).order_by(District.code)).all()
        if user.role == ADMIN
        else []
    )
    return render_template(
        "oversight/inspections.html",
        rows=rows,
        open_rows=[row for row in rows if row["result"] is None],
        page=page,
        next_page=found["next"],
        checklist=CHECKLIST,
        results=tuple(InspectionResult),
        may_draw=may(user, "inspections.draw"),
        may_record=may(user, "inspections.record"),
        is_inspector=user.role == "inspector",
        districts=districts,
        error_text=error_text,
        form=form or {},
    ), status


@bp.get("/inspections")
def inspection_list():
    """An inspector's drawn inspections, a form for each open one; an official's
    district's inspections and the draw."""
    user = require_permission("inspections.read")
    return _inspections_page(user)


@bp.post("/inspections/draw")
def draw_inspections():
    user = require_permission("inspections.draw")
    code = user.district_code if user.role != ADMIN else request.form.get("district", "")
    text = (request.form.get("count") or "").strip()
    try:
        if not code:
            raise ValidationFailed({"district": [_("Choose a district.")]})
        district = get_district(user, code)
        drawn = inspections.draw_inspections(user, district, number_of(text))
    except ApiError as error:
        return _inspections_page(
            user, error_text=refusal_text(error), form=request.form, status=error.status
        )
    flash(_("%(n)s meal places are drawn for inspection.", n=len(drawn)), "success")
    return redirect(url_for("oversight_pages.inspection_list"))


@bp.post("/inspections/<id:inspection_id>/record")
def record_inspection(inspection_id: int):
    user = require_permission(
        "inspections.record", inspections.get_inspection, inspection_id=inspection_id
    )
    inspection = inspections.get_inspection(user, inspection_id)
    ticked = set(request.form.getlist("met"))
    checklist = {item: item in ticked for item in CHECKLIST}
    try:
        inspections.record_result(
            user,
            inspection,
            request.form.get("result", ""),
            checklist,
            request.form.get("findings"),
        )
    except ApiError as error:
        if error.status == 404:
            raise
        return _inspections_page(
            user,
            error_text=refusal_text(error),
            form={"inspection_id": inspection_id, **request.form, "met": ticked},
            status=error.status,
        )
    flash(_("The inspection result is recorded."), "success")
    return redirect(url_for("oversight_pages.inspection_list"))


# Published results


@bp.get("/public/inspections")
def public_inspections():
    """Results of random inspections for everyone, per meal place, newest first. No login,
    and nobody's personal data."""
    district = (request.args.get("district") or "").strip()[:12] or None
    page = page_arg()
    items = inspections.public_results(
        district, limit=PUBLIC_PER_PAGE + 1, offset=(page - 1) * PUBLIC_PER_PAGE
    )
    places: dict[int, dict] = {}
    for item in items[:PUBLIC_PER_PAGE]:
        place = places.setdefault(
            item["canteen_id"],
            {
                "name": item["canteen_name"],
                "kind": item["kind"],
                "address": item["address"],
                "results": [],
            },
        )
        place["results"].append(item)
    return render_template(
        "oversight/public_inspections.html",
        places=list(places.values()),
        districts=db.session.scalars(select(District).order_by(District.code)).all(),
        district=district,
        page=page,
        next_page=page + 1 if len(items) > PUBLIC_PER_PAGE else None,
    )
