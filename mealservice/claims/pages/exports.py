"""The claims on paper: a claim's printable page (A4, summary, anomalies, every line,
the elders masked) and a district's month of claims, with the workbook links."""

from collections import Counter

from flask import render_template, request, url_for
from flask_babel import gettext as _

from mealservice.claims import services
from mealservice.claims.pages import bp
from mealservice.claims.pages.claims import STATUS_WORDS
from mealservice.claims.summary import district_summary as summary_of
from mealservice.claims.wording import ANOMALY_WORDS, claim_anomaly_rows
from mealservice.core.auth import require_permission
from mealservice.core.clock import utcnow
from mealservice.core.i18n import local_time
from mealservice.core.periods import is_month, previous_month
from mealservice.places.services import get_district


def _names() -> dict:
    """The claim pages' words for statuses, anomalies and slots: one wording everywhere."""
    return {"statuses": STATUS_WORDS, "anomaly_names": ANOMALY_WORDS}


@bp.get("/claims/<id:claim_id>/print")
def print_claim(claim_id: int):
    user = require_permission("claims.read", scope=services.get_claim, claim_id=claim_id)
    claim = services.get_claim(user, claim_id)
    timezone = claim.canteen.district.effective_timezone
    # A printed claim is read whole: every line, as the workbook has them.
    lines, _more = services.lines(claim)
    return render_template(
        "claims/print.html",
        claim=claim,
        lines=lines,
        anomaly_counts=sorted(Counter(a.code for a in claim.anomalies).items()),
        anomalies=claim_anomaly_rows(claim),
        made_at=local_time(claim.made_at, timezone),
        now_local=local_time(utcnow(), timezone),
        **_names(),
    )


@bp.get("/districts/<code:code>/claims-summary")
def district_summary(code: str):
    user = require_permission("claims.summary", scope=get_district, code=code)
    district = get_district(user, code)
    default = previous_month(district.local_today())
    month = request.args.get("month", "").strip() or default
    errors = []
    if not is_month(month):
        errors.append(_("The month must look like 2026-10."))
        month = default
    return render_template(
        "claims/summary.html",
        district=district,
        month=month,
        errors=errors,
        summary=summary_of(district.code, month),
        xlsx_url=url_for("claims.claims_summary_xlsx", code=district.code, month=month),
        **_names(),
    )
