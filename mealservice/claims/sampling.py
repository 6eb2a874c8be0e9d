"""Random checks of a claim's lines (随机抽查): an official draws lines at random, phones
the elders, and records what each call found. A line the elder denies becomes a
`sample_failed` anomaly of the claim, which the claim's checks keep when they run again.

Lines are drawn with the operating system's randomness, so nobody can predict or steer
which lines a canteen will be asked about."""

import logging
import random

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from mealservice.claims.anomalies import claimed_meals
from mealservice.claims.models import (
    AnomalyCode,
    Claim,
    ClaimAnomaly,
    ClaimStatus,
    SampleCheck,
    SampleOutcome,
)
from mealservice.claims.services import _decided
from mealservice.core.auth import ensure_canteen_in_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.core.periods import month_bounds
from mealservice.core.privacy import mask_name
from mealservice.delivery.services import mask_phone
from mealservice.elders.models import Elder
from mealservice.meals.models import Meal
from mealservice.places.models import Canteen

log = logging.getLogger(__name__)

DEFAULT_SIZE = 10
MAX_SIZE = 50
NOTE_MAX = 300  # SampleCheck.note
RECORDED_OUTCOMES = (SampleOutcome.CONFIRMED, SampleOutcome.FAILED, SampleOutcome.UNREACHABLE)

_random = random.SystemRandom()


def _ensure_submitted(claim: Claim) -> None:
    """Refuse unless the claim is still undecided, holding its row until the transaction
    ends: a review deciding it meanwhile waits, then decides with what was added."""
    still = db.session.scalar(
        select(Claim.id)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.SUBMITTED)
        .with_for_update()
    )
    if still is None:
        db.session.refresh(claim)
        raise _decided(claim)


def draw_sample(actor, claim: Claim, size: int = DEFAULT_SIZE) -> list[SampleCheck]:
    """Draw `size` of the claim's lines not drawn before, at random; fewer when fewer are
    left. Only an undecided claim is checked: 409 `claim_decided`."""
    if not 1 <= size <= MAX_SIZE:
        raise ValidationFailed({"size": [f"Draw from 1 to {MAX_SIZE} lines."]})
    _ensure_submitted(claim)
    first, last = month_bounds(claim.month)
    drawn_before = exists().where(SampleCheck.claim_id == claim.id, SampleCheck.meal_id == Meal.id)
    candidates = db.session.scalars(
        select(Meal.id).where(*claimed_meals(first, last, [claim.canteen_id]), ~drawn_before)
    ).all()
    chosen = sorted(_random.sample(candidates, min(size, len(candidates))))
    checks = [
        SampleCheck(claim_id=claim.id, meal_id=meal_id, drawn_by=actor.username)
        for meal_id in chosen
    ]
    try:
        with db.session.begin_nested():
            db.session.add_all(checks)
    except IntegrityError as exc:
        raise Conflict(
            "sample_drawn_meanwhile",
            "Someone drew lines of this claim at the same moment; draw again.",
            {"claim_id": claim.id},
        ) from exc
    log.info("%s lines of claim %s drawn for checking by %s", len(checks), claim.id, actor.username)
    return checks


def get_sample(actor, sample_id: int) -> SampleCheck:
    """A drawn check, if its claim is in the caller's scope (else 404)."""
    check = db.session.get(SampleCheck, sample_id)
    if check is None:
        raise NotFound("sample")
    claim = db.session.get(Claim, check.claim_id)
    ensure_canteen_in_scope(actor, claim.canteen, "sample")
    return check


def record_outcome(actor, check: SampleCheck, outcome: str, note: str | None = None) -> SampleCheck:
    """What the call found, recorded once (409 `sample_recorded`). A failed check adds a
    `sample_failed` anomaly to the claim, which must still be undecided (409
    `claim_decided`)."""
    if outcome not in RECORDED_OUTCOMES:
        raise ValidationFailed({"outcome": ["Choose confirmed, failed or unreachable."]})
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise ValidationFailed({"note": [f"At most {NOTE_MAX} characters."]})
    if check.outcome != SampleOutcome.PENDING:
        raise _recorded(check)
    claim = db.session.get(Claim, check.claim_id)
    if outcome == SampleOutcome.FAILED:
        _ensure_submitted(claim)
    # The condition makes two officials recording at once record once.
    recorded = db.session.execute(
        update(SampleCheck)
        .where(SampleCheck.id == check.id, SampleCheck.outcome == SampleOutcome.PENDING)
        .values(outcome=outcome, note=note, checked_by=actor.username, checked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(check)
    if not recorded:
        raise _recorded(check)
    if outcome == SampleOutcome.FAILED:
        elder_id = db.session.scalar(select(Meal.elder_id).where(Meal.id == check.meal_id))
        db.session.add(
            ClaimAnomaly(
                claim_id=claim.id,
                code=AnomalyCode.SAMPLE_FAILED,
                elder_id=elder_id,
                meal_ids=[check.meal_id],
                detail={"sample_id": check.id, "note": note},
            )
        )
        db.session.flush()
        db.session.expire(claim, ["anomalies"])
    log.info("sample %s of claim %s: %s, by %s", check.id, claim.id, outcome, actor.username)
    return check


def _recorded(check: SampleCheck) -> Conflict:
    return Conflict(
        "sample_recorded",
        f"The outcome of this check is already recorded ({check.outcome}).",
        {"outcome": check.outcome},
    )


def samples(claim: Claim, ids: list[int] | None = None) -> list[dict]:
    """The claim's drawn checks (only `ids`, when given) with the meal, the elder masked
    and what each call found, in the order drawn."""
    query = (
        select(SampleCheck, Meal.date, Meal.slot, Meal.elder_id, Canteen.id, Canteen.name)
        .add_columns(Elder.name, Elder.phone)
        .join(Meal, Meal.id == SampleCheck.meal_id)
        .join(Elder, Elder.id == Meal.elder_id)
        .join(Canteen, Canteen.id == Meal.canteen_id)
        .where(SampleCheck.claim_id == claim.id)
        .order_by(SampleCheck.id)
    )
    if ids is not None:
        query = query.where(SampleCheck.id.in_(ids))
    return [
        {
            "id": check.id,
            "claim_id": check.claim_id,
            "meal_id": check.meal_id,
            "date": day,
            "slot": slot,
            "canteen_id": canteen_id,
            "canteen": canteen_name,
            "elder_id": elder_id,
            "elder": mask_name(elder_name),
            "phone_masked": mask_phone(phone),
            "drawn_by": check.drawn_by,
            "drawn_at": check.drawn_at,
            "outcome": check.outcome,
            "note": check.note,
            "checked_by": check.checked_by,
            "checked_at": check.checked_at,
        }
        for check, day, slot, elder_id, canteen_id, canteen_name, elder_name, phone in (
            db.session.execute(query)
        )
    ]


def sample_item(check: SampleCheck) -> dict:
    return samples(db.session.get(Claim, check.claim_id), [check.id])[0]
