"""A risk score per canteen, from what the claims of the last three months found.

risk = 100 × Σ (weight of the anomaly's code × meals the anomaly names)
           / Σ subsidized meals of the claims

over the latest revision of each canteen's claim for each of the three months ending with
the month asked for, whatever its status. A canteen without claims, or whose claims
subsidized no meal, scores 0. The weights say how strongly a finding suggests money paid
for meals that did not happen as claimed: a dead elder's card or a failed phone check
(5) more than a card used twice (3), more than a delivery left unconfirmed (2), more than a
busy day beyond the seats or an offline conflict (1).

Two grouped queries answer for the whole district: the claims' subsidized meals per
canteen, and the anomalies' meals per canteen and code."""

from sqlalchemy import and_, case, func, select

from mealservice.claims.models import AnomalyCode, Claim, ClaimAnomaly
from mealservice.core.db import db
from mealservice.core.periods import months_ending
from mealservice.places.models import Canteen

WEIGHTS: dict[str, int] = {
    AnomalyCode.DUPLICATE_IN_SLOT: 3,
    AnomalyCode.TWO_PLACES: 3,
    AnomalyCode.CARD_NOT_VALID: 3,
    AnomalyCode.ELDER_INACTIVE: 5,
    AnomalyCode.SAMPLE_FAILED: 5,
    AnomalyCode.HOLIDAY_SUBSIDY: 2,
    AnomalyCode.DELIVERY_UNCONFIRMED: 2,
    AnomalyCode.OVER_CAPACITY: 1,
    AnomalyCode.OFFLINE_CONFLICT: 1,
}

MONTHS_COVERED = 3


def district_risk(district_code: str, month: str, canteen_id: int | None = None) -> dict:
    """Every canteen of the district (only `canteen_id`, when given) with its risk over the
    three months ending with `month`, highest risk first."""
    months = months_ending(month, MONTHS_COVERED)
    in_window = and_(
        Claim.district_code == district_code, Claim.month.between(months[0], months[-1])
    )
    if canteen_id is not None:
        in_window = and_(in_window, Claim.canteen_id == canteen_id)
    latest = (
        select(Claim.canteen_id, Claim.month, func.max(Claim.revision).label("revision"))
        .where(in_window)
        .group_by(Claim.canteen_id, Claim.month)
        .subquery()
    )
    latest_claims = (
        select(Claim.id, Claim.canteen_id, Claim.month, Claim.subsidized_meals)
        .join(
            latest,
            and_(
                latest.c.canteen_id == Claim.canteen_id,
                latest.c.month == Claim.month,
                latest.c.revision == Claim.revision,
            ),
        )
        .subquery()
    )
    claims_of: dict[int, dict] = {}
    for row in db.session.execute(
        select(latest_claims.c.canteen_id, latest_claims.c.month, latest_claims.c.subsidized_meals)
    ):
        figures = claims_of.setdefault(row.canteen_id, {"months": [], "subsidized_meals": 0})
        figures["months"].append(row.month)
        figures["subsidized_meals"] += row.subsidized_meals

    named = func.json_array_length(ClaimAnomaly.meal_ids)
    # An anomaly naming no meal still counts once.
    meals = case((named < 1, 1), else_=named)
    by_code: dict[int, dict[str, dict]] = {}
    for row in db.session.execute(
        select(
            latest_claims.c.canteen_id,
            ClaimAnomaly.code,
            func.count().label("anomalies"),
            func.sum(meals).label("meals"),
        )
        .join(latest_claims, latest_claims.c.id == ClaimAnomaly.claim_id)
        .group_by(latest_claims.c.canteen_id, ClaimAnomaly.code)
    ):
        weight = WEIGHTS.get(row.code, 0)
        by_code.setdefault(row.canteen_id, {})[row.code] = {
            "anomalies": row.anomalies,
            "meals": int(row.meals),
            "weighted": weight * int(row.meals),
        }

    canteens = select(Canteen.id, Canteen.name).where(Canteen.district_code == district_code)
    if canteen_id is not None:
        canteens = canteens.where(Canteen.id == canteen_id)
    items = [
        _item(canteen.id, canteen.name, claims_of.get(canteen.id), by_code.get(canteen.id, {}))
        for canteen in db.session.execute(canteens.order_by(Canteen.id))
    ]
    items.sort(key=lambda item: (-item["risk"], item["canteen_id"]))
    return {
        "district_code": district_code,
        "month": month,
        "months": months,
        "weights": dict(WEIGHTS),
        "items": items,
    }


def _item(canteen_id: int, name: str, claims: dict | None, by_code: dict[str, dict]) -> dict:
    claims = claims or {"months": [], "subsidized_meals": 0}
    subsidized = claims["subsidized_meals"]
    weighted = sum(figures["weighted"] for figures in by_code.values())
    return {
        "canteen_id": canteen_id,
        "canteen_name": name,
        "months_covered": sorted(claims["months"]),
        "subsidized_meals": subsidized,
        "weighted_anomalies": weighted,
        "anomalies_by_code": dict(sorted(by_code.items())),
        "risk": risk_of(weighted, subsidized),
    }


def risk_of(weighted: int, subsidized_meals: int) -> float:
    return round(100 * weighted / subsidized_meals, 2) if subsidized_meals else 0.0
