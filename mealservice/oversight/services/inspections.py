"""Random inspections (双随机、一公开): the system draws the meal places to inspect and, for
each, the inspector, both at random; the inspector records a checklist; the results are
published without personal data.

Until its result is recorded an inspection is known only to the district's officials and
its inspector: the place itself does not learn it was drawn."""

import random
import uuid
from datetime import date

from sqlalchemy import Select, select, update

from mealservice.accounts.models import User
from mealservice.core.auth import (
    ADMIN,
    INSPECTOR,
    canteen_scope,
    district_scope,
    ensure_district_in_scope,
)
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.oversight.models import CHECKLIST, Inspection, InspectionResult
from mealservice.places.models import Canteen, District

FINDINGS_MAX = 1000  # Inspection.findings


def draw_inspections(actor, district: District, count: int, seed=None) -> list[Inspection]:
    """Draw `count` different places of the district and an active inspector of the
    district for each, all at random, as one draw. `seed` makes the draw repeatable (tests
    only); otherwise the system's random source decides."""
    canteen_ids = db.session.scalars(
        select(Canteen.id).where(Canteen.district_code == district.code).order_by(Canteen.id)
    ).all()
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(canteen_ids):
        message = (
            f"Draw from 1 to {len(canteen_ids)} places."
            if canteen_ids
            else "The district has no meal places to draw."
        )
        raise ValidationFailed({"count": [message]})
    inspector_ids = db.session.scalars(
        select(User.id)
        .where(User.role == INSPECTOR, User.district_code == district.code, User.active)
        .order_by(User.id)
    ).all()
    if not inspector_ids:
        raise Conflict("no_inspectors", "The district has no active inspector to draw.")
    chance = random.Random(seed) if seed is not None else random.SystemRandom()
    draw_id = uuid.uuid4().hex
    drawn_by = actor.username if actor is not None else "system"
    drawn_at = utcnow()
    inspections = [
        Inspection(
            district_code=district.code,
            canteen_id=canteen_id,
            inspector_id=chance.choice(inspector_ids),
            draw_id=draw_id,
            drawn_by=drawn_by,
            drawn_at=drawn_at,
        )
        for canteen_id in chance.sample(canteen_ids, count)
    ]
    db.session.add_all(inspections)
    db.session.flush()
    return inspections


def checklist_errors(checklist) -> list[str]:
    """Why a checklist is not exactly the items of CHECKLIST, each true or false."""
    if not isinstance(checklist, dict):
        return ["Give every checklist item as true (met) or false (not met)."]
    missing = [item for item in CHECKLIST if item not in checklist]
    unknown = sorted(str(item) for item in checklist if item not in CHECKLIST)
    not_boolean = [item for item in CHECKLIST if item in checklist and not isinstance(checklist[item], bool)]  # fmt: skip
    reasons = []
    if missing:
        reasons.append("Missing: " + ", ".join(missing) + ".")
    if unknown:
        reasons.append("Not checklist items: " + ", ".join(unknown) + ".")
    if not_boolean:
        reasons.append("Not true or false: " + ", ".join(not_boolean) + ".")
    return reasons


def record_result(
    actor, inspection: Inspection, result: str, checklist: dict, findings: str | None
) -> Inspection:
    """The inspector's result, once. Only the inspector drawn for it (or an administrator)
    records it: to another inspector it does not exist. Twice: 409 `already_recorded`."""
    if actor.role != ADMIN and inspection.inspector_id != actor.id:
        raise NotFound("inspection")
    if inspection.result is not None:
        raise _already_recorded(inspection)
    findings = (findings or "").strip() or None
    errors: dict[str, list[str]] = {}
    if result not in tuple(InspectionResult):
        errors["result"] = [f"Choose one of: {', '.join(r.value for r in InspectionResult)}."]
    if reasons := checklist_errors(checklist):
        errors["checklist"] = reasons
    if findings is not None and len(findings) > FINDINGS_MAX:
        errors["findings"] = [f"At most {FINDINGS_MAX} characters."]
    if errors:
        raise ValidationFailed(errors)
    # Conditional, so two recordings at the same moment cannot both succeed.
    recorded = db.session.execute(
        update(Inspection)
        .where(Inspection.id == inspection.id, Inspection.result.is_(None))
        .values(
            result=result,
            checklist={item: checklist[item] for item in CHECKLIST},
            findings=findings,
            recorded_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(inspection)
    if recorded.rowcount == 0:
        raise _already_recorded(inspection)
    return inspection


def _already_recorded(inspection: Inspection) -> Conflict:
    return Conflict(
        "already_recorded",
        "The result of this inspection is already recorded.",
        {"recorded_at": inspection.recorded_at.isoformat()},
    )


def items_not_met(inspection: Inspection) -> list[str]:
    checklist = inspection.checklist or {}
    return [item for item in CHECKLIST if checklist.get(item) is False]


# Finding inspections


def get_inspection(user, inspection_id: int) -> Inspection:
    """An inspection in the user's scope: an inspector's own, the district's for its
    officials. Anything else is 404."""
    inspection = db.session.get(Inspection, inspection_id)
    if inspection is None:
        raise NotFound("inspection")
    ensure_district_in_scope(user, inspection.district_code, "inspection")
    own = canteen_scope(user)
    if own is not None and own != inspection.canteen_id:
        raise NotFound("inspection")
    if user.role == INSPECTOR and inspection.inspector_id != user.id:
        raise NotFound("inspection")
    return inspection


def inspections_query(
    user, district: str | None = None, draw_id: str | None = None, recorded: bool | None = None
) -> Select:
    """Inspections the user sees, latest drawn first: an inspector's own, an official's
    district's, all for an administrator."""
    query = select(Inspection).order_by(Inspection.drawn_at.desc(), Inspection.id.desc())
    if (scope := district_scope(user)) is not None:
        query = query.where(Inspection.district_code == scope)
    if user is not None and user.role == INSPECTOR:
        query = query.where(Inspection.inspector_id == user.id)
    if district:
        query = query.where(Inspection.district_code == district)
    if draw_id:
        query = query.where(Inspection.draw_id == draw_id)
    if recorded is not None:
        query = query.where(
            Inspection.result.is_not(None) if recorded else Inspection.result.is_(None)
        )
    return query


def canteen_inspections(canteen_id: int, recorded_only: bool = False) -> list[Inspection]:
    query = (
        select(Inspection)
        .where(Inspection.canteen_id == canteen_id)
        .order_by(Inspection.drawn_at.desc(), Inspection.id.desc())
    )
    if recorded_only:
        query = query.where(Inspection.result.is_not(None))
    return db.session.scalars(query).all()


def inspection_bodies(inspections: list[Inspection], *, for_the_place: bool = False) -> list[dict]:
    """Inspections as the API gives them. `for_the_place`: as the place's own manager sees
    them, without who inspected."""
    canteens = _canteens({i.canteen_id for i in inspections})
    inspectors = (
        {}
        if for_the_place
        else dict(
            db.session.execute(
                select(User.id, User.username).where(
                    User.id.in_({i.inspector_id for i in inspections})
                )
            ).all()
        )
    )
    bodies = []
    for inspection in inspections:
        body = {
            "id": inspection.id,
            "district_code": inspection.district_code,
            "canteen_id": inspection.canteen_id,
            "canteen_name": canteens[inspection.canteen_id].name,
            "draw_id": inspection.draw_id,
            "drawn_at": inspection.drawn_at,
            "result": inspection.result,
            "checklist": inspection.checklist,
            "items_not_met": items_not_met(inspection),
            "findings": inspection.findings,
            "recorded_at": inspection.recorded_at,
        }
        if not for_the_place:
            body |= {
                "inspector_id": inspection.inspector_id,
                "inspector": inspectors.get(inspection.inspector_id),
                "drawn_by": inspection.drawn_by,
            }
        bodies.append(body)
    return bodies


def _canteens(ids) -> dict[int, Canteen]:
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Canteen).where(Canteen.id.in_(ids)))}


# Publishing


def public_results(
    district_code: str | None = None, *, limit: int | None = None, offset: int = 0
) -> list[dict]:
    """Recorded inspections for everyone to read, newest first: the place (name, kind,
    address), the day the result was recorded in the place's district, the result and the
    checklist items not met. No person appears: no inspector, no elder, no findings text."""
    query = (
        select(Inspection, Canteen)
        .join(Canteen, Canteen.id == Inspection.canteen_id)
        .where(Inspection.result.is_not(None))
        .order_by(Inspection.recorded_at.desc(), Inspection.id.desc())
        .offset(offset)
    )
    if district_code:
        query = query.where(Inspection.district_code == district_code)
    if limit is not None:
        query = query.limit(limit)
    return [
        {
            "id": inspection.id,
            "district_code": inspection.district_code,
            "canteen_id": canteen.id,
            "canteen_name": canteen.name,
            "kind": canteen.kind,
            "address": canteen.address,
            "recorded_on": _recorded_on(inspection, canteen),
            "result": inspection.result,
            "items_not_met": items_not_met(inspection),
        }
        for inspection, canteen in db.session.execute(query)
    ]


def _recorded_on(inspection: Inspection, canteen: Canteen) -> date:
    return canteen.district.local(inspection.recorded_at).date()
