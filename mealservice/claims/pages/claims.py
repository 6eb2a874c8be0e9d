"""Claim pages: the list of monthly subsidy claims, a manager making and previewing one,
and an official's review of a claim, its anomalies first and its lines underneath.

Plain forms that work without script; every refusal of the services is a sentence on the
page. Elders' names are masked on every line, as services.lines gives them."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mealservice.claims import services
from mealservice.claims.models import Claim, ClaimAnomaly, ClaimStatus, Decision
from mealservice.claims.pages import bp
from mealservice.claims.wording import ANOMALY_WORDS, anomaly_rows, claim_anomaly_rows
from mealservice.core.auth import ADMIN, may, require_permission
from mealservice.core.db import db
from mealservice.core.errors import ApiError, ValidationFailed
from mealservice.core.forms import kept_query_args, number_of, page_arg
from mealservice.core.i18n import yuan
from mealservice.core.periods import is_month, previous_month
from mealservice.core.refusals import explain
from mealservice.core.schemas import page_of_query
from mealservice.places.models import Canteen, District
from mealservice.places.services import get_canteen

CLAIMS_PER_PAGE = 50
LINES_PER_PAGE = 100
REASON_MAX = 500  # ClaimReview.reason

STATUS_WORDS = {
    ClaimStatus.SUBMITTED: _l("Awaiting review"),
    ClaimStatus.APPROVED: _l("Approved"),
    ClaimStatus.PARTIALLY_APPROVED: _l("Partly approved"),
    ClaimStatus.REJECTED: _l("Rejected"),
    "preview": _l("Preview, not saved"),
}


DECISION_WORDS = {Decision.APPROVE: _l("Approve"), Decision.REJECT: _l("Reject")}

FIELD_NAMES = {
    "month": _l("Month"),
    "decision": _l("Decision"),
    "reason": _l("Reason"),
    "rejected_meal_ids": _l("Rejected lines"),
    "line_reasons": _l("Rejected lines"),
    "canteen_id": _l("Meal place"),
}


@bp.app_context_processor
def claim_words():
    return {
        "claim_status_words": STATUS_WORDS,
        "anomaly_words": ANOMALY_WORDS,
        "claim_list_args": _pager_args,
    }


def refusal_text(error: ApiError) -> str:
    """Undo what the refused change wrote; say why, naming the claim pages' fields."""
    return explain(error, field_names=FIELD_NAMES)


def _month_arg(text: str | None) -> str | None:
    text = (text or "").strip()
    return text if is_month(text) else None


# The list, and making a claim


def _own_canteen(user) -> Canteen | None:
    return db.session.get(Canteen, user.canteen_id) if user.canteen_id else None


def _list_page(user, *, error_text=None, make_month=None, status=200):
    args = request.args
    month = _month_arg(args.get("month"))
    claim_status = args.get("status") if args.get("status") in tuple(ClaimStatus) else None
    district = (args.get("district") or None) if user.role == ADMIN else None
    page = page_arg()
    query = services.claims_query(user, district, month, claim_status).options(
        selectinload(Claim.canteen)
    )
    found = page_of_query(query, page, CLAIMS_PER_PAGE)
    ids = [claim.id for claim in found["items"]]
    anomalies = dict(
        db.session.execute(
            select(ClaimAnomaly.claim_id, func.count())
            .where(ClaimAnomaly.claim_id.in_(ids))
            .group_by(ClaimAnomaly.claim_id)
        ).all()
    ) if ids else {}  # fmt: skip
    canteen = _own_canteen(user)
    default_month = previous_month(canteen.district.local_today()) if canteen else None
    html = render_template(
        "claims/list.html",
        claims=found["items"],
        anomaly_counts=anomalies,
        page=page,
        next_page=found["next"],
        month=month,
        month_text=args.get("month", ""),
        bad_month=bool(args.get("month")) and month is None,
        chosen_status=claim_status,
        statuses=tuple(ClaimStatus),
        district=district,
        districts=(
            db.session.scalars(select(District).order_by(District.code)).all()
            if user.role == ADMIN
            else []
        ),
        may_make=canteen is not None and may(user, "claims.make"),
        may_preview=may(user, "claims.preview"),
        canteen=canteen,
        make_month=make_month or default_month,
        error_text=error_text,
    )
    return html, status


def _pager_args(**changes) -> dict:
    """The list's filters as query arguments, with `changes` made."""
    return kept_query_args(("month", "status", "district"), **changes)


@bp.get("/claims")
def claim_list():
    """Claims in the caller's scope, latest month first, by month, status and district."""
    user = require_permission("claims.read")
    return _list_page(user)


@bp.post("/claims/make")
def make():
    """A manager's claim for a month that has ended; then the claim's page."""
    user = require_permission("claims.make")
    text = (request.form.get("month") or "").strip()
    asked = number_of(request.form.get("canteen_id"))
    try:
        if user.canteen_id is None and asked is None:
            raise ValidationFailed({"canteen_id": [_("Choose a meal place.")]})
        canteen = get_canteen(user, user.canteen_id or asked)
        month = _month_arg(text)
        if month is None:
            raise ValidationFailed(
                {"month": [_("Give the month as year and month, such as 2026-10.")]}
            )
        claim = services.make_claim(user, canteen, month)
    except ApiError as error:
        if error.status == 404:
            raise
        return _list_page(
            user, error_text=refusal_text(error), make_month=text, status=error.status
        )
    flash(_("The claim for %(month)s is made.", month=claim.month), "success")
    return redirect(url_for("claims_pages.claim_page", claim_id=claim.id))


@bp.get("/claims/preview")
def preview():
    """What a claim would say now, for any month, saving nothing. A manager previews their
    own meal place; an official or an administrator chooses one (`?canteen_id=`)."""
    user = require_permission("claims.preview")
    own = _own_canteen(user)
    asked = number_of(request.args.get("canteen_id"))
    canteen = None
    if asked is not None:
        user = require_permission("claims.preview", scope=get_canteen, canteen_id=asked)
        canteen = get_canteen(user, asked)
    elif own is not None:
        canteen = own
    month = _month_arg(request.args.get("month"))
    bad_month = bool(request.args.get("month")) and month is None
    if month is None and canteen is not None:
        month = previous_month(canteen.district.local_today())
    body = services.preview(canteen, month) if canteen is not None and month else None
    canteens = []
    if own is None:
        query = select(Canteen).order_by(Canteen.name, Canteen.id)
        if user.role != ADMIN:
            query = query.where(Canteen.district_code == user.district_code)
        canteens = db.session.scalars(query).all()
    return render_template(
        "claims/preview.html",
        canteen=canteen,
        canteens=canteens,
        month=month,
        month_text=request.args.get("month", ""),
        bad_month=bad_month,
        body=body,
        anomalies=(
            anomaly_rows(body["anomalies"], canteen.district.effective_timezone) if body else []
        ),
        may_make=own is not None and may(user, "claims.make"),
    )


# One claim: its anomalies, its lines, its review


def _latest_revision(claim: Claim) -> int:
    return db.session.scalar(
        select(func.max(Claim.revision)).where(
            Claim.canteen_id == claim.canteen_id, Claim.month == claim.month
        )
    )


def _claim_page(user, claim: Claim, *, errors=None, error_text=None, form=None, status=200):
    page = page_arg()
    lines, more = services.lines(claim, page, LINES_PER_PAGE)
    form = form or {}
    chosen = form.get("rejected_meal_ids", [])
    on_page = {line["meal_id"] for line in lines}
    timezone = claim.canteen.district.effective_timezone
    anomalies = claim_anomaly_rows(claim)
    return render_template(
        "claims/claim.html",
        claim=claim,
        anomalies=anomalies,
        meal_links=_meal_links(claim, anomalies, page),
        lines=lines,
        page=page,
        next_page=page + 1 if more else None,
        decision=claim.reviews[0] if claim.reviews else None,
        may_review=claim.status == ClaimStatus.SUBMITTED and may(user, "claims.review"),
        may_resubmit=(
            claim.status == ClaimStatus.REJECTED
            and may(user, "claims.make")
            and _latest_revision(claim) == claim.revision
        ),
        decisions=DECISION_WORDS,
        errors=errors or {},
        error_text=error_text,
        form=form,
        chosen=set(chosen),
        # Lines ticked on another page before a refusal, kept in the form.
        chosen_elsewhere=[meal_id for meal_id in chosen if meal_id not in on_page],
        reason_max=REASON_MAX,
        timezone=timezone,
        xlsx_url=f"/api/v1/claims/{claim.id}.xlsx",
        print_url=f"/claims/{claim.id}/print",
    ), status


def _meal_links(claim: Claim, anomalies: list[dict], page: int) -> dict[int, str]:
    """Where each meal an anomaly names is among the claim's lines: its row on this page,
    or on the page of lines that holds it."""
    meal_ids = {meal_id for anomaly in anomalies for meal_id in anomaly["meal_ids"]}
    links = {}
    for meal_id, on_page in services.line_pages(claim, meal_ids, LINES_PER_PAGE).items():
        anchor = f"meal-{meal_id}"
        links[meal_id] = (
            f"#{anchor}"
            if on_page == page
            else url_for("claims_pages.claim_page", claim_id=claim.id, page=on_page, _anchor=anchor)
        )
    return links


@bp.get("/claims/<id:claim_id>")
def claim_page(claim_id: int):
    user = require_permission("claims.read", scope=services.get_claim, claim_id=claim_id)
    return _claim_page(user, services.get_claim(user, claim_id))


def _review_form() -> tuple[dict, dict]:
    """The review form read and checked: its values, and a message per field wrong."""
    decision = request.form.get("decision", "")
    reason = (request.form.get("reason") or "").strip()
    errors = {}
    chosen = []
    for text in request.form.getlist("rejected_meal_ids"):
        if (meal_id := number_of(text)) is not None:
            chosen.append(meal_id)
        else:
            errors["rejected_meal_ids"] = _("Rejected lines: a line was not recognised.")
    if decision not in tuple(Decision):
        errors["decision"] = _("Decision: choose approve or reject.")
    if not reason:
        errors["reason"] = _("Reason: please write why you decide so.")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("Reason: at most %(n)s characters.", n=REASON_MAX)
    if decision == Decision.REJECT and chosen:
        errors["rejected_meal_ids"] = _(
            "Rejected lines: rejecting the claim rejects every line. Untick the lines, "
            "or approve the claim with the ticked lines rejected."
        )
    return {"decision": decision, "reason": reason, "rejected_meal_ids": chosen}, errors


@bp.post("/claims/<id:claim_id>/review")
def review(claim_id: int):
    """Approve (all lines, or all but the ticked ones) or reject, with the reason."""
    user = require_permission("claims.review", scope=services.get_claim, claim_id=claim_id)
    claim = services.get_claim(user, claim_id)
    form, errors = _review_form()
    if errors and not claim.decided:
        return _claim_page(user, claim, errors=errors, form=form, status=422)
    try:
        services.review(
            user, claim, form["decision"], form["reason"], form["rejected_meal_ids"] or None
        )
    except ApiError as error:
        if error.status == 404:
            raise
        text = refusal_text(error)
        claim = services.get_claim(user, claim_id)
        return _claim_page(user, claim, error_text=text, form=form, status=error.status)
    flash(
        _(
            "The claim is %(status)s: %(amount)s approved.",
            status=STATUS_WORDS[claim.status],
            amount=yuan(claim.approved_fen),
        ),
        "success",
    )
    return redirect(url_for("claims_pages.claim_page", claim_id=claim.id))


@bp.post("/claims/<id:claim_id>/resubmit")
def resubmit(claim_id: int):
    """A rejected claim made again as its next revision; then the new claim's page."""
    user = require_permission("claims.make", scope=services.get_claim, claim_id=claim_id)
    claim = services.get_claim(user, claim_id)
    try:
        made = services.resubmit(user, claim)
    except ApiError as error:
        text = refusal_text(error)
        claim = services.get_claim(user, claim_id)
        return _claim_page(user, claim, error_text=text, status=error.status)
    flash(_("Revision %(n)s of the claim is made.", n=made.revision), "success")
    return redirect(url_for("claims_pages.claim_page", claim_id=made.id))
