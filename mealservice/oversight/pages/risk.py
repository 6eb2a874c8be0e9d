"""Risk and random checks for people: the district's canteens ranked by risk, with the
formula and its weights written out, and a claim's random checks (随机抽查), drawn and
recorded with plain forms.

Elders are masked on every row, their phones too: the official calling looks the full
number up in the elder registry."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mealservice.claims import sampling, services
from mealservice.claims.models import Claim, ClaimStatus, SampleOutcome
from mealservice.claims.pages.claims import STATUS_WORDS
from mealservice.claims.wording import ANOMALY_WORDS
from mealservice.core.auth import canteen_scope, may, require_permission
from mealservice.core.errors import ApiError
from mealservice.core.forms import number_of
from mealservice.core.periods import is_month, previous_month
from mealservice.core.refusals import explain
from mealservice.oversight.pages import bp
from mealservice.oversight.services.risk import MONTHS_COVERED, WEIGHTS, district_risk
from mealservice.places.services import get_district

CODE_WORDS = ANOMALY_WORDS

OUTCOME_WORDS = {
    SampleOutcome.PENDING: _l("Not called yet"),
    SampleOutcome.CONFIRMED: _l("Confirmed by the elder"),
    SampleOutcome.FAILED: _l("Failed: the meal did not happen as claimed"),
    SampleOutcome.UNREACHABLE: _l("Could not reach the elder"),
}


# Risk


@bp.get("/districts/<code:code>/risk")
def risk(code: str):
    """The district's canteens, highest risk first, over the three months ending with
    `?month=` (default: last month). A manager sees their own canteen."""
    user = require_permission("risk.read", scope=get_district, code=code)
    district = get_district(user, code)
    text = request.args.get("month", "").strip()
    month = text if is_month(text) else previous_month(district.local_today())
    body = district_risk(district.code, month, canteen_scope(user))
    return render_template(
        "oversight/risk.html",
        district=district,
        month=month,
        month_text=text,
        bad_month=bool(text) and month != text,
        body=body,
        weights=sorted(WEIGHTS.items(), key=lambda pair: (-pair[1], pair[0])),
        code_words=CODE_WORDS,
        months_covered=MONTHS_COVERED,
    )


# Random checks of a claim


def refusal_text(error: ApiError) -> str:
    """Undo what the refused change wrote; say why, the form's fields in the page's words."""
    text = explain(error)
    if "size" in (error.fields or {}):
        return _("Number of lines: draw from 1 to %(n)s.", n=sampling.MAX_SIZE)
    if "outcome" in (error.fields or {}):
        return _("Outcome: choose what the call found.")
    if "note" in (error.fields or {}):
        return _("Note: at most %(n)s characters.", n=sampling.NOTE_MAX)
    return text


def _samples_page(user, claim: Claim, *, error_text=None, size=None, status=200):
    checks = sampling.samples(claim)
    submitted = claim.status == ClaimStatus.SUBMITTED
    outcomes = [o for o in sampling.RECORDED_OUTCOMES if submitted or o != SampleOutcome.FAILED]
    return render_template(
        "oversight/samples.html",
        claim=claim,
        checks=checks,
        pending=sum(1 for check in checks if check["outcome"] == SampleOutcome.PENDING),
        may_draw=submitted and may(user, "samples.write"),
        may_record=may(user, "samples.write"),
        outcomes=outcomes,
        outcome_words=OUTCOME_WORDS,
        status_words=STATUS_WORDS,
        size=size if size is not None else sampling.DEFAULT_SIZE,
        max_size=sampling.MAX_SIZE,
        note_max=sampling.NOTE_MAX,
        error_text=error_text,
        timezone=claim.canteen.district.effective_timezone,
    ), status


@bp.get("/claims/<id:claim_id>/samples")
def samples(claim_id: int):
    user = require_permission("samples.read", scope=services.get_claim, claim_id=claim_id)
    return _samples_page(user, services.get_claim(user, claim_id))


@bp.post("/claims/<id:claim_id>/samples")
def draw_samples(claim_id: int):
    """Draw N lines of an undecided claim at random; then the checks."""
    user = require_permission("samples.write", scope=services.get_claim, claim_id=claim_id)
    claim = services.get_claim(user, claim_id)
    text = (request.form.get("size") or "").strip()
    size = number_of(text) or 0
    try:
        checks = sampling.draw_sample(user, claim, size)
    except ApiError as error:
        error_text = refusal_text(error)
        claim = services.get_claim(user, claim_id)
        return _samples_page(user, claim, error_text=error_text, size=text, status=error.status)
    if checks:
        flash(_("Lines drawn for checking: %(n)s.", n=len(checks)), "success")
    else:
        flash(_("Every line of this claim has been drawn already."), "notice")
    return redirect(url_for("oversight_pages.samples", claim_id=claim.id))


@bp.post("/samples/<id:sample_id>/outcome")
def record_outcome(sample_id: int):
    """What the call found, recorded once; then the checks."""
    user = require_permission("samples.write", scope=sampling.get_sample, sample_id=sample_id)
    check = sampling.get_sample(user, sample_id)
    claim_id = check.claim_id
    try:
        sampling.record_outcome(
            user, check, request.form.get("outcome", ""), request.form.get("note")
        )
    except ApiError as error:
        error_text = refusal_text(error)
        claim = services.get_claim(user, claim_id)
        return _samples_page(user, claim, error_text=error_text, status=error.status)
    if check.outcome == SampleOutcome.FAILED:
        flash(
            _("Recorded. The line failed the check and is now an anomaly of the claim."), "success"
        )
    else:
        flash(_("Recorded: %(outcome)s.", outcome=OUTCOME_WORDS[check.outcome]), "success")
    return redirect(
        url_for("oversight_pages.samples", claim_id=claim_id, _anchor=f"sample-{check.id}")
    )
