"""A district's month of claims at a glance: one row per canteen, its latest claim
revision for the month (or none yet), and the district's totals.

One query answers for every canteen: the latest revision per canteen and the anomaly
count per claim are grouped subqueries joined to the district's canteens."""

from collections import Counter

from sqlalchemy import and_, func, select

from mealservice.claims.models import Claim, ClaimAnomaly
from mealservice.core.db import db
from mealservice.places.models import Canteen

FIGURES = (
    "meals",
    "subsidized_meals",
    "meal_subsidy_fen",
    "delivery_subsidy_fen",
    "operating_subsidy_fen",
    "total_fen",
)


def district_summary(district_code: str, month: str) -> dict:
    """Every canteen of the district with its latest claim for `month`; a canteen without
    a claim has a row of nulls. Totals add the claims there are; `approved_fen` adds the
    decided ones (None while none is decided)."""
    of_month = and_(Claim.district_code == district_code, Claim.month == month)
    latest = (
        select(Claim.canteen_id, func.max(Claim.revision).label("revision"))
        .where(of_month)
        .group_by(Claim.canteen_id)
        .subquery()
    )
    anomalies = (
        select(ClaimAnomaly.claim_id, func.count().label("count"))
        .join(Claim, Claim.id == ClaimAnomaly.claim_id)
        .where(of_month)
        .group_by(ClaimAnomaly.claim_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Canteen.id.label("canteen_id"),
            Canteen.name.label("canteen_name"),
            Canteen.kind.label("canteen_kind"),
            Claim.id.label("claim_id"),
            Claim.status,
            Claim.revision,
            *(getattr(Claim, figure) for figure in FIGURES),
            Claim.approved_fen,
            func.coalesce(anomalies.c.count, 0).label("anomalies"),
        )
        .select_from(Canteen)
        .outerjoin(latest, latest.c.canteen_id == Canteen.id)
        .outerjoin(
            Claim,
            and_(
                Claim.canteen_id == Canteen.id,
                Claim.month == month,
                Claim.revision == latest.c.revision,
            ),
        )
        .outerjoin(anomalies, anomalies.c.claim_id == Claim.id)
        .where(Canteen.district_code == district_code)
        .order_by(Canteen.id)
    ).mappings()
    items = [_item(row) for row in rows]
    return {
        "district_code": district_code,
        "month": month,
        "items": items,
        "totals": _totals(items),
    }


def _item(row) -> dict:
    item = dict(row)
    if item["claim_id"] is None:
        item["anomalies"] = None
    return item


def _totals(items: list[dict]) -> dict:
    claimed = [item for item in items if item["claim_id"] is not None]
    decided = [item["approved_fen"] for item in claimed if item["approved_fen"] is not None]
    return {
        "canteens": len(items),
        "claims": len(claimed),
        "by_status": dict(Counter(item["status"] for item in claimed)),
        **{figure: sum(item[figure] for item in claimed) for figure in FIGURES},
        "approved_fen": sum(decided) if decided else None,
        "anomalies": sum(item["anomalies"] for item in claimed),
    }
