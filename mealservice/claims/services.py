"""Monthly claims: made from the stored meals, checked, closed to change, reviewed.

Totals are SQL sums of the meals' priced snapshots, never recomputed prices; the canteen's
operating (or, for a meal point, management) subsidy is its own line. Once a claim exists
its month is closed to new scans, voids and orders, so what the claim says stays true."""

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from mealservice.claims.anomalies import Anomaly, check_month, claimed_meals, find_anomalies
from mealservice.claims.models import (
    CHECKED_CODES,
    Claim,
    ClaimAnomaly,
    ClaimReview,
    ClaimStatus,
    Decision,
    RejectedLine,
)
from mealservice.core.auth import district_scope, ensure_canteen_in_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import db, insert_rows
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.core.periods import month_bounds, month_of, previous_month
from mealservice.core.privacy import mask_name
from mealservice.elders.models import Elder
from mealservice.meals.models import Meal
from mealservice.places import registry
from mealservice.places.models import Canteen, FilingStatus

log = logging.getLogger(__name__)


# Months.


def grace_days() -> int:
    return current_app.config["CLAIM_GRACE_DAYS"]


def month_has_ended(canteen: Canteen, month: str, today: date | None = None) -> bool:
    """The month is over and so is its grace period, longer than an offline scan waits."""
    _, last = month_bounds(month)
    today = today or canteen.district.local_today()
    return today > last + timedelta(days=grace_days())


# Totals and the claim's body.


def _with_operating(totals: dict | None, canteen: Canteen) -> dict:
    totals = dict(
        totals or {"meals": 0, "subsidized_meals": 0, "meal_subsidy_fen": 0,
                   "delivery_subsidy_fen": 0}
    )  # fmt: skip
    totals["operating_subsidy_fen"] = canteen.monthly_operating_subsidy_fen
    totals["total_fen"] = (
        totals["meal_subsidy_fen"]
        + totals["delivery_subsidy_fen"]
        + totals["operating_subsidy_fen"]
    )
    return totals


def preview(canteen: Canteen, month: str) -> dict:
    """The body a claim made now would have, for any month, saving nothing."""
    first, last = month_bounds(month)
    checked = check_month(first, last, [canteen.id])
    totals = checked.totals.get(canteen.id)
    anomalies = checked.anomalies.get(canteen.id, [])
    return {
        "id": None,
        "canteen_id": canteen.id,
        "month": month,
        "revision": None,
        "status": "preview",
        "totals": _with_operating(totals, canteen),
        "anomalies": [anomaly.as_dict() for anomaly in anomalies],
    }


# Making claims.


def make_claim(actor, canteen: Canteen, month: str, today: date | None = None) -> Claim:
    """A manager's claim for a month that has ended; one per canteen and month."""
    if not month_has_ended(canteen, month, today):
        _, last = month_bounds(month)
        opens_on = last + timedelta(days=grace_days() + 1)
        raise Conflict(
            "month_not_ended",
            f"A claim for {month} can be made after its grace period, from {opens_on:%Y-%m-%d}.",
            {"month": month, "grace_days": grace_days(), "opens_on": opens_on.isoformat()},
        )
    if db.session.scalar(
        select(exists().where(Claim.canteen_id == canteen.id, Claim.month == month))
    ):
        raise _claim_exists(canteen, month)
    ensure_claimable(canteen, month)
    return db.session.get(Claim, _make(actor.username, [canteen], month, revision=1)[0])


def ensure_claimable(canteen: Canteen, month: str) -> None:
    """A month is claimed only by a place filed (备案) with civil affairs and on the
    blacklist (失信黑名单) on none of its days; a month that ended before a blacklisting
    began can still be claimed and reviewed."""
    refusal = claim_refusal(canteen, month)
    if refusal is not None:
        raise refusal


def claim_refusal(canteen: Canteen, month: str) -> Conflict | None:
    return claim_refusals([canteen], month).get(canteen.id)


def claim_refusals(canteens: list[Canteen], month: str) -> dict[int, Conflict]:
    """Why each of the canteens may not claim the month, by canteen id (none: it may), in
    one look at the blacklist however many there are."""
    first, last = month_bounds(month)
    blacklisted = registry.blacklistings_during([canteen.id for canteen in canteens], first, last)
    refusals = {}
    for canteen in canteens:
        entry = blacklisted.get(canteen.id)
        if canteen.filing_status != FilingStatus.FILED:
            refusals[canteen.id] = Conflict(
                "canteen_not_filed",
                f"{canteen.name} is not filed with civil affairs: "
                "its claims are refused until it is.",
                {"filing_status": canteen.filing_status},
            )
        elif entry is not None:
            refusals[canteen.id] = Conflict(
                "canteen_blacklisted",
                f"{canteen.name} is on the blacklist in {month}: {entry.reason}",
                {
                    "starts_on": entry.starts_on.isoformat(),
                    "ends_on": entry.ends_on.isoformat() if entry.ends_on else None,
                },
            )
    return refusals


def _claim_exists(canteen: Canteen, month: str) -> Conflict:
    return Conflict(
        "claim_exists",
        f"{canteen.name} already has a claim for {month}.",
        {"canteen_id": canteen.id, "month": month},
    )


def _make(by: str, canteens: list[Canteen], month: str, revision: int) -> list[int]:
    """Claims for several canteens of one month in one set of passes over the meals,
    written in one statement per table; the new claims' ids, in the canteens' order. A
    claim made meanwhile for one of them fails them all (409 `claim_exists`): the
    scheduler's next run makes the rest."""
    first, last = month_bounds(month)
    checked = check_month(first, last, [canteen.id for canteen in canteens])
    rows = [
        {
            "canteen_id": canteen.id,
            "district_code": canteen.district_code,
            "month": month,
            "revision": revision,
            "made_by": by,
            **_with_operating(checked.totals.get(canteen.id), canteen),
        }
        for canteen in canteens
    ]
    names = ", ".join(canteen.name for canteen in canteens)
    try:
        with db.session.begin_nested():
            # One INSERT of every row, returning only the ids (one claim per canteen in
            # it): no ORM object per claim, and no order to keep, which SQLite would have
            # kept by writing the claims one statement at a time.
            made = dict(insert_rows(Claim.__table__, rows, Claim.canteen_id, Claim.id).all())
    except IntegrityError as exc:
        raise Conflict(
            "claim_exists", f"A claim for {month} exists already ({names}).", {"month": month}
        ) from exc
    _add_anomalies(
        (made[canteen.id], anomaly)
        for canteen in canteens
        for anomaly in checked.anomalies.get(canteen.id, [])
    )
    # From now on the month's meals are what the claims list.
    registry.close_months([canteen.id for canteen in canteens], month)
    log.info("%s claims made for %s (revision %s) by %s", len(made), month, revision, by)
    return [made[canteen.id] for canteen in canteens]


def _add_anomalies(found: Iterable[tuple[int, Anomaly]]) -> None:
    """Write (claim id, anomaly) pairs, however many claims they span."""
    rows = [
        {
            "claim_id": claim_id,
            "code": anomaly.code,
            "elder_id": anomaly.elder_id,
            "meal_ids": sorted(anomaly.meal_ids),
            "detail": anomaly.detail,
        }
        for claim_id, anomaly in found
    ]
    if rows:
        # Not the ORM's bulk path: it splits the rows into one INSERT per run of rows with
        # the same columns set (an over_capacity anomaly has no elder).
        insert_rows(ClaimAnomaly.__table__, rows)


def make_due_claims(now: datetime | None = None) -> int:
    """The scheduler's job: last month's claim for every canteen whose district's grace
    period has passed and that has none yet. Idempotent: a canteen with a claim is skipped."""
    now = now or utcnow()
    made = 0
    canteens = db.session.scalars(select(Canteen).order_by(Canteen.id)).all()
    by_month: dict[str, list[Canteen]] = {}
    for canteen in canteens:
        month = previous_month(canteen.district.local(now).date())
        if month_has_ended(canteen, month, canteen.district.local(now).date()):
            by_month.setdefault(month, []).append(canteen)
    for month, due in by_month.items():
        # Every claim of the month, a few hundred ids at most: no IN list of the canteens
        # due, whose parameters the driver would parse one by one.
        have = set(db.session.scalars(select(Claim.canteen_id).where(Claim.month == month)))
        refused = claim_refusals(due, month)
        missing = [
            canteen for canteen in due if canteen.id not in have and canteen.id not in refused
        ]
        if not missing:
            continue
        try:
            with db.session.begin_nested():
                made += len(_make("scheduler", missing, month, revision=1))
        except Conflict as conflict:
            # Another scheduler made them a moment ago: nothing is left to do this run.
            if conflict.code != "claim_exists":
                raise
    return made


def resubmit(actor, claim: Claim) -> Claim:
    """A rejected claim made again as the next revision, from the same stored meals."""
    if claim.status != ClaimStatus.REJECTED:
        raise Conflict(
            "claim_not_rejected",
            "Only a rejected claim can be made again.",
            {"status": claim.status},
        )
    latest = db.session.scalar(
        select(func.max(Claim.revision)).where(
            Claim.canteen_id == claim.canteen_id, Claim.month == claim.month
        )
    )
    if latest != claim.revision:
        raise _claim_exists(claim.canteen, claim.month)
    ensure_claimable(claim.canteen, claim.month)
    claim_id = _make(actor.username, [claim.canteen], claim.month, revision=claim.revision + 1)[0]
    return db.session.get(Claim, claim_id)


# Checking again when today's facts change.


def recheck(claim: Claim) -> None:
    """Run the checks of an undecided claim again (an elder's status or the holiday
    calendar changed after it was made); its totals stand, the meals being unchanged."""
    first, last = month_bounds(claim.month)
    anomalies = find_anomalies(first, last, [claim.canteen_id]).get(claim.canteen_id, [])
    # A failed phone check is no check on the meals: it stays.
    db.session.execute(
        delete(ClaimAnomaly).where(
            ClaimAnomaly.claim_id == claim.id, ClaimAnomaly.code.in_(CHECKED_CODES)
        )
    )
    db.session.expire(claim, ["anomalies"])
    claim.checked_at = utcnow()
    _add_anomalies((claim.id, anomaly) for anomaly in anomalies)
    db.session.flush()


def recheck_undecided(since: date | None = None, on: date | None = None) -> int:
    """Recheck the undecided claims of months from `since` on, or of the month of `on`."""
    query = select(Claim).where(Claim.status == ClaimStatus.SUBMITTED)
    if since is not None:
        query = query.where(Claim.month >= month_of(since))
    if on is not None:
        query = query.where(Claim.month == month_of(on))
    claims = db.session.scalars(query).all()
    for claim in claims:
        recheck(claim)
    return len(claims)


# Reading claims.


def get_claim(actor, claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound("claim")
    ensure_canteen_in_scope(actor, claim.canteen, "claim")
    return claim


def claims_query(actor, district: str | None, month: str | None, status: str | None):
    query = select(Claim).order_by(Claim.month.desc(), Claim.canteen_id, Claim.revision.desc())
    scope = district_scope(actor)
    if scope is not None:
        query = query.where(Claim.district_code == scope)
    if actor.canteen_id is not None:
        query = query.where(Claim.canteen_id == actor.canteen_id)
    if district:
        query = query.where(Claim.district_code == district)
    if month:
        query = query.where(Claim.month == month)
    if status:
        query = query.where(Claim.status == status)
    return query


def claim_body(claim: Claim) -> dict:
    return {
        "id": claim.id,
        "canteen_id": claim.canteen_id,
        "canteen_name": claim.canteen.name,
        "month": claim.month,
        "revision": claim.revision,
        "status": claim.status,
        "totals": {
            "meals": claim.meals,
            "subsidized_meals": claim.subsidized_meals,
            "meal_subsidy_fen": claim.meal_subsidy_fen,
            "delivery_subsidy_fen": claim.delivery_subsidy_fen,
            "operating_subsidy_fen": claim.operating_subsidy_fen,
            "total_fen": claim.total_fen,
        },
        "approved_fen": claim.approved_fen,
        "made_by": claim.made_by,
        "made_at": claim.made_at,
        "checked_at": claim.checked_at,
        "anomalies": [
            {"code": a.code, "meal_ids": a.meal_ids, "elder_id": a.elder_id, "detail": a.detail}
            for a in claim.anomalies
        ],
        "reviews": claim.reviews,
    }


# The lines' order, on every page and in every export.
LINE_ORDER = (Meal.date, Meal.served_at, Meal.id)


def lines_query(claim: Claim):
    """One line per meal of the claim, with the elder and any rejection."""
    first, last = month_bounds(claim.month)
    return (
        select(Meal, Elder.name, RejectedLine.reason)
        .join(Elder, Elder.id == Meal.elder_id)
        .outerjoin(
            RejectedLine,
            (RejectedLine.meal_id == Meal.id) & (RejectedLine.claim_id == claim.id),
        )
        .where(*claimed_meals(first, last, [claim.canteen_id]))
        .order_by(*LINE_ORDER)
    )


def line_pages(claim: Claim, meal_ids, per_page: int) -> dict[int, int]:
    """The page of the claim's lines each of `meal_ids` is on, for those that are lines
    of the claim (a meal voided since the check is not)."""
    ids = set(meal_ids)
    if not ids:
        return {}
    first, last = month_bounds(claim.month)
    numbered = (
        select(Meal.id, func.row_number().over(order_by=LINE_ORDER).label("position"))
        .join(Elder, Elder.id == Meal.elder_id)
        .where(*claimed_meals(first, last, [claim.canteen_id]))
        .subquery()
    )
    rows = db.session.execute(
        select(numbered.c.id, numbered.c.position).where(numbered.c.id.in_(ids))
    )
    return {meal_id: (position - 1) // per_page + 1 for meal_id, position in rows}


def lines(claim: Claim, page: int = 1, per_page: int | None = None) -> tuple[list[dict], bool]:
    """A page of the claim's lines (all of them without `per_page`), and whether more follow."""
    query = lines_query(claim)
    if per_page is not None:
        query = query.limit(per_page + 1).offset((page - 1) * per_page)
    flagged: dict[int, list[str]] = {}
    for anomaly in claim.anomalies:
        for meal_id in anomaly.meal_ids:
            flagged.setdefault(meal_id, []).append(anomaly.code)
    rows = db.session.execute(query).all()
    more = per_page is not None and len(rows) > per_page
    return [line_of(meal, name, reason, flagged) for meal, name, reason in rows[:per_page]], more


def line_of(meal: Meal, elder_name: str, rejected_reason: str | None, flagged: dict) -> dict:
    return {
        "meal_id": meal.id,
        "date": meal.date,
        "slot": meal.slot,
        "channel": meal.channel,
        "source": meal.source,
        "served_at": meal.served_at,
        "elder_id": meal.elder_id,
        "elder": mask_name(elder_name),
        "tier": meal.tier,
        "reason": meal.reason,
        "price_fen": meal.price_fen,
        "delivery_fee_fen": meal.delivery_fee_fen,
        "subsidy_fen": meal.subsidy_fen,
        "delivery_subsidy_fen": meal.delivery_subsidy_fen,
        "elder_pays_fen": meal.elder_pays_fen,
        "conflict": meal.conflict,
        "anomalies": flagged.get(meal.id, []),
        "rejected": rejected_reason is not None,
        "rejected_reason": rejected_reason,
    }


# Review.


def review(
    actor,
    claim: Claim,
    decision: str,
    reason: str,
    rejected_meal_ids: list[int] | None = None,
    line_reasons: dict[int, str] | None = None,
) -> Claim:
    """An official's decision, final once made: approve (all lines, or all but the ones
    rejected, each with its reason) or reject the whole claim."""
    if decision not in set(Decision):
        raise ValidationFailed({"decision": ["Choose approve or reject."]})
    if not reason.strip():
        raise ValidationFailed({"reason": ["Give the reason for the decision."]})
    if claim.decided:
        raise _decided(claim)
    if decision == Decision.APPROVE:
        # No public money for a month the place spent on the blacklist, or unfiled.
        ensure_claimable(claim.canteen, claim.month)
    rejected = sorted(set(rejected_meal_ids or []))
    if decision == Decision.REJECT and rejected:
        raise ValidationFailed(
            {"rejected_meal_ids": ["Rejecting the claim rejects every line; name none."]}
        )
    line_reasons = line_reasons or {}
    unknown_reasons = sorted(set(line_reasons) - set(rejected))
    if unknown_reasons:
        raise ValidationFailed(
            {"line_reasons": [f"Meals {_ids(unknown_reasons)} are not among the rejected lines."]}
        )
    rejected_fen = 0
    if rejected:
        first, last = month_bounds(claim.month)
        found = db.session.execute(
            select(Meal.id, Meal.subsidy_fen + Meal.delivery_subsidy_fen).where(
                *claimed_meals(first, last, [claim.canteen_id]), Meal.id.in_(rejected)
            )
        ).all()
        strangers = sorted(set(rejected) - {meal_id for meal_id, _ in found})
        if strangers:
            raise ValidationFailed(
                {"rejected_meal_ids": [f"Meals {_ids(strangers)} are not lines of this claim."]}
            )
        rejected_fen = sum(amount for _, amount in found)

    if decision == Decision.REJECT:
        status, approved_fen = ClaimStatus.REJECTED, 0
    elif rejected:
        status, approved_fen = ClaimStatus.PARTIALLY_APPROVED, claim.total_fen - rejected_fen
    else:
        status, approved_fen = ClaimStatus.APPROVED, claim.total_fen
    # The condition makes two officials deciding at once decide once.
    decided = db.session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.SUBMITTED)
        .values(status=status, approved_fen=approved_fen)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(claim)
    if not decided:
        raise _decided(claim)
    db.session.add(
        ClaimReview(
            claim_id=claim.id,
            decision=decision,
            status=status,
            reason=reason,
            approved_fen=approved_fen,
            rejected_meals=len(rejected),
            decided_by=actor.username,
        )
    )
    db.session.add_all(
        RejectedLine(claim_id=claim.id, meal_id=meal_id, reason=line_reasons.get(meal_id, reason))
        for meal_id in rejected
    )
    db.session.flush()
    db.session.expire(claim, ["reviews"])
    log.info("claim %s %s by %s", claim.id, status, actor.username)
    return claim


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _decided(claim: Claim) -> Conflict:
    return Conflict(
        "claim_decided",
        f"The claim is already decided ({claim.status}); a decision is final.",
        {"status": claim.status},
    )
