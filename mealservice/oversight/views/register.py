from mealservice.core.auth import MANAGER, current_user
from mealservice.core.db import db
from mealservice.core.schemas import page_of_query
from mealservice.oversight.schemas.register import (
    BlacklistEntryOut,
    BlacklistIn,
    CanteenOversightOut,
    DrawIn,
    DrawOut,
    FilingIn,
    GradeIn,
    InspectionList,
    InspectionOut,
    InspectionQuery,
    PublicInspectionList,
    PublicQuery,
    ResultIn,
)
from mealservice.oversight.services import inspections
from mealservice.oversight.views import blp
from mealservice.places import registry
from mealservice.places.models import Canteen
from mealservice.places.services import get_canteen, get_district


def oversight_body(user, canteen: Canteen) -> dict:
    """The place's register: filing, grade, operating subsidy, blacklist and inspections.
    Its own manager sees only inspections already recorded, without who inspected: a place
    must not learn it was drawn before the inspector comes."""
    today = canteen.district.local_today()
    entries = registry.blacklist_of(canteen.id)
    for_the_place = user.role == MANAGER
    return {
        "canteen_id": canteen.id,
        "canteen_name": canteen.name,
        "district_code": canteen.district_code,
        "filing": {
            "status": canteen.filing_status,
            "filing_number": canteen.filing_number,
            "filed_on": canteen.filed_on,
        },
        "grade": {"grade": canteen.grade, "graded_on": canteen.graded_on},
        "monthly_operating_subsidy_fen": canteen.monthly_operating_subsidy_fen,
        "blacklisted": any(registry.in_force(entry, today) for entry in entries),
        "blacklist": [registry.entry_body(entry, today) for entry in entries],
        "inspections": inspections.inspection_bodies(
            inspections.canteen_inspections(canteen.id, recorded_only=for_the_place),
            for_the_place=for_the_place,
        ),
    }


@blp.get("/canteens/<id:canteen_id>/oversight")
@blp.requires("oversight.read", scope=get_canteen)
@blp.response(200, CanteenOversightOut)
def canteen_oversight(canteen_id):
    """The place's filing, grade, operating subsidy, blacklist entries and inspections."""
    user = current_user()
    return oversight_body(user, get_canteen(user, canteen_id))


@blp.put("/canteens/<id:canteen_id>/filing")
@blp.requires("filing.write", 422, scope=get_canteen)
@blp.arguments(FilingIn)
@blp.response(200, CanteenOversightOut)
def set_filing(data, canteen_id):
    """Record the place's filing (备案): `filed` needs `filing_number` and `filed_on`."""
    user = current_user()
    canteen = registry.set_filing(user, get_canteen(user, canteen_id), **data)
    return oversight_body(user, canteen)


@blp.put("/canteens/<id:canteen_id>/grade")
@blp.requires("grading.write", 422, scope=get_canteen)
@blp.arguments(GradeIn)
@blp.response(200, CanteenOversightOut)
def set_grade(data, canteen_id):
    """Grade the place from 1 to 5 (等级评定); `operating_subsidy_fen` sets the monthly
    operating subsidy the grade earns."""
    user = current_user()
    canteen = registry.set_grade(user, get_canteen(user, canteen_id), **data)
    return oversight_body(user, canteen)


@blp.post("/canteens/<id:canteen_id>/blacklist")
@blp.requires("blacklist.write", 422, scope=get_canteen)
@blp.arguments(BlacklistIn)
@blp.response(201, BlacklistEntryOut)
def add_to_blacklist(data, canteen_id):
    """Put the place on the blacklist (失信黑名单): its claims are refused while in force."""
    user = current_user()
    canteen = get_canteen(user, canteen_id)
    entry = registry.add_to_blacklist(user, canteen, **data)
    return registry.entry_body(entry, canteen.district.local_today())


@blp.post("/blacklist/<id:entry_id>/lift")
@blp.requires("blacklist.write", 409, scope=registry.get_blacklist_entry)
@blp.response(200, BlacklistEntryOut)
def lift_blacklist_entry(entry_id):
    """Lift an entry from now on; it stays on record. 409 `already_lifted`."""
    user = current_user()
    entry = registry.lift(user, registry.get_blacklist_entry(user, entry_id))
    canteen = db.session.get(Canteen, entry.canteen_id)
    return registry.entry_body(entry, canteen.district.local_today())


@blp.post("/districts/<code:code>/inspections/draw")
@blp.requires("inspections.draw", 409, 422, scope=get_district)
@blp.arguments(DrawIn)
@blp.response(201, DrawOut)
def draw(data, code):
    """Draw `count` places of the district and an inspector for each, at random (双随机).
    422 `count` beyond the district's places; 409 `no_inspectors`."""
    user = current_user()
    drawn = inspections.draw_inspections(user, get_district(user, code), data["count"])
    return {"draw_id": drawn[0].draw_id, "items": inspections.inspection_bodies(drawn)}


@blp.get("/inspections")
@blp.requires("inspections.read", 422)
@blp.arguments(InspectionQuery, location="query")
@blp.response(200, InspectionList)
def inspection_list(query):
    """Inspections the caller sees, latest drawn first: an inspector's own, an official's
    district's, every one for an administrator."""
    user = current_user()
    found = page_of_query(
        inspections.inspections_query(
            user, query.get("district"), query.get("draw_id"), query.get("recorded")
        ),
        query["page"],
        query["per_page"],
    )
    return {**found, "items": inspections.inspection_bodies(found["items"])}


@blp.post("/inspections/<id:inspection_id>/result")
@blp.requires("inspections.record", 409, 422, scope=inspections.get_inspection)
@blp.arguments(ResultIn)
@blp.response(200, InspectionOut)
def record_result(data, inspection_id):
    """The drawn inspector's result and checklist, once: 409 `already_recorded`."""
    user = current_user()
    inspection = inspections.record_result(
        user,
        inspections.get_inspection(user, inspection_id),
        data["result"],
        data["checklist"],
        data.get("findings"),
    )
    return inspections.inspection_bodies([inspection])[0]


@blp.get("/public/inspections")
@blp.arguments(PublicQuery, location="query")
@blp.response(200, PublicInspectionList)
def public_inspections(query):
    """Published results of random inspections (一公开), newest first; no login needed and
    no personal data: the place, the day, the result and the checklist items not met."""
    page, per_page = query["page"], query["per_page"]
    items = inspections.public_results(
        query.get("district"), limit=per_page + 1, offset=(page - 1) * per_page
    )
    return {"items": items[:per_page], "next": page + 1 if len(items) > per_page else None}
