"""Districts, communities and canteens, registered against the policy standards."""

from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, select

from mealservice.core.auth import (
    canteen_scope,
    district_scope,
    ensure_canteen_in_scope,
    ensure_district_in_scope,
    ensure_may_change_canteen_fields,
    may,
    sees_public_view,
)
from mealservice.core.db import add_unique, db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.core.stamps import StampedCache
from mealservice.places.geo import bounding_box, distance_m
from mealservice.places.models import (
    DEFAULT_SLOT_WINDOWS,
    DEFAULT_STANDARDS,
    DEFAULT_WALKING_RADIUS_M,
    STANDARD_FIELDS,
    Canteen,
    Community,
    District,
    slot_window_errors,
    standard_violations,
)


def ensure_slot_windows_ordered(windows: dict) -> None:
    errors = slot_window_errors(windows)
    if errors:
        raise ValidationFailed(
            {f"slot_windows.{slot}": reasons for slot, reasons in errors.items()}
        )


def ensure_meets_standard(district: District, kind: str, seats: int, area: float) -> None:
    violations = standard_violations(district.standards, kind, seats, area)
    if violations:
        raise ValidationFailed(violations, "The place is below the district's standard.")


def merged_standards(current: dict, changes: dict) -> dict:
    return {**current, **{kind: dict(figures) for kind, figures in changes.items()}}


# Districts


def create_district(data: dict) -> District:
    if db.session.get(District, data["code"]) is not None:
        raise Conflict("duplicate_code", f"A district with code {data['code']!r} exists.")
    district = District(
        code=data["code"],
        name=data["name"],
        timezone=data.get("timezone"),
        slot_windows={**DEFAULT_SLOT_WINDOWS, **data.get("slot_windows", {})},
        standards=merged_standards(DEFAULT_STANDARDS, data.get("standards", {})),
        walking_radius_m=data.get("walking_radius_m", DEFAULT_WALKING_RADIUS_M),
    )
    ensure_slot_windows_ordered(district.slot_windows)
    return add_unique(district, "duplicate_code", f"A district with code {data['code']!r} exists.")


def districts_query(user):
    query = select(District).order_by(District.code)
    scope = district_scope(user)
    return query if scope is None else query.where(District.code == scope)


def get_district(user, code: str) -> District:
    district = db.session.get(District, code)
    if district is None:
        raise NotFound("district")
    ensure_district_in_scope(user, code)
    return district


def update_district(district: District, changes: dict) -> District:
    windows = {**district.slot_windows, **changes.pop("slot_windows", {})}
    ensure_slot_windows_ordered(windows)
    district.slot_windows = windows
    for field, value in changes.items():
        setattr(district, field, value)
    return district


def update_standards(district: District, changes: dict) -> District:
    district.standards = merged_standards(district.standards, changes)
    return district


# Communities


def create_community(district: District, data: dict) -> Community:
    location = data.get("location") or {}
    community = Community(
        district_code=district.code,
        code=data["code"],
        name=data["name"],
        street=data["street"],
        lat=location.get("lat"),
        lng=location.get("lng"),
    )
    return add_unique(
        community, "duplicate_code", f"A community with code {data['code']!r} exists."
    )


def communities_query(district: District):
    return (
        select(Community).where(Community.district_code == district.code).order_by(Community.code)
    )


def communities_to_filter_by(user) -> list[Community]:
    """The communities of the districts a user may read, by street, for list filters."""
    if not may(user, "districts.read"):
        return []
    query = select(Community).order_by(Community.street, Community.code)
    if (scope := district_scope(user)) is not None:
        query = query.where(Community.district_code == scope)
    return list(db.session.scalars(query))


def get_community(user, code: str, community_code: str) -> Community:
    district = get_district(user, code)
    community = db.session.scalar(
        communities_query(district).where(Community.code == community_code)
    )
    if community is None:
        raise NotFound("community")
    return community


# Canteens


def create_canteen(user, data: dict) -> Canteen:
    district = db.session.get(District, data["district"])
    if district is None or district_scope(user) not in (None, district.code):
        raise ValidationFailed({"district": ["No such district in your scope."]})
    community = db.session.scalar(
        select(Community).where(
            Community.code == data["community"], Community.district_code == district.code
        )
    )
    if community is None:
        raise ValidationFailed({"community": ["No such community in this district."]})
    ensure_meets_standard(district, data["kind"], data["seats_per_meal"], data["dining_area_m2"])
    canteen = Canteen(
        district_code=district.code,
        community=community,
        lat=data["location"]["lat"],
        lng=data["location"]["lng"],
        **{
            key: value
            for key, value in data.items()
            if key not in ("district", "community", "location")
        },
    )
    db.session.add(canteen)
    db.session.flush()
    return canteen


def update_canteen(user, canteen: Canteen, changes: dict) -> Canteen:
    ensure_may_change_canteen_fields(user, changes)
    # Only a change to what the standard judges is judged again: a district that raises
    # its standard must not lock its existing places out of editing their phone number.
    judged = STANDARD_FIELDS & set(changes)
    location = changes.pop("location", None)
    if location:
        canteen.lat, canteen.lng = location["lat"], location["lng"]
    for field, value in changes.items():
        setattr(canteen, field, value)
    if judged:
        ensure_meets_standard(
            canteen.district, canteen.kind, canteen.seats_per_meal, canteen.dining_area_m2
        )
    db.session.flush()
    return canteen


def get_canteen(user, canteen_id: int) -> Canteen:
    canteen = db.session.get(Canteen, canteen_id)
    if canteen is None:
        raise NotFound("canteen")
    ensure_canteen_in_scope(user, canteen)
    return canteen


@dataclass(frozen=True)
class CounterCanteen:
    """What a scan needs of its canteen, as plain values a worker keeps across requests:
    the ids that scope and record the meal, and its district's clock (zone and meal
    windows). The ORM's Canteen, loaded on every scan, cost a query and its loading."""

    id: int
    district_code: str
    zone: ZoneInfo
    slot_windows: MappingProxyType

    def local(self, moment: datetime) -> datetime:
        """A moment as the district's clocks show it (District.local)."""
        return moment.astimezone(self.zone)


# Districts and canteens change a few times a year; every scan reads its canteen
# (core.stamps: the "places" stamp, renewed by every write to either table).
_COUNTER_CANTEENS = StampedCache("places")

COUNTER_CANTEEN = (
    select(Canteen.id, Canteen.district_code, District.timezone, District.slot_windows)
    .join(District, District.code == Canteen.district_code)
    .where(Canteen.id == bindparam("canteen_id"))
)


def counter_canteen(canteen_id: int) -> CounterCanteen | None:
    """The canteen as the counter sees it (None when there is none), from this worker's
    cache while the places stamp holds."""
    # A district without a zone follows the service's setting: part of the key.
    default_zone = current_app.config["TIMEZONE"]
    return _COUNTER_CANTEENS.get(
        (canteen_id, default_zone), lambda: _load_counter_canteen(canteen_id, default_zone)
    )


def _load_counter_canteen(canteen_id: int, default_zone: str) -> CounterCanteen | None:
    row = db.session.execute(COUNTER_CANTEEN, {"canteen_id": canteen_id}).first()
    if row is None:
        return None
    return CounterCanteen(
        id=row.id,
        district_code=row.district_code,
        zone=ZoneInfo(row.timezone or default_zone),
        slot_windows=MappingProxyType(
            {slot: tuple(window) for slot, window in row.slot_windows.items()}
        ),
    )


def get_counter_canteen(user, canteen_id: int) -> CounterCanteen:
    """get_canteen for the counter's scan: the same 404s, the plain value."""
    canteen = counter_canteen(canteen_id)
    if canteen is None:
        raise NotFound("canteen")
    ensure_canteen_in_scope(user, canteen)
    return canteen


def find_canteens(
    user,
    *,
    district: str | None = None,
    community: str | None = None,
    near: tuple[float, float] | None = None,
    radius_m: int | None = None,
) -> list[tuple[Canteen, int | None]]:
    """Canteens the user may see, each with its distance from `near`, nearest first."""
    query = select(Canteen).order_by(Canteen.id)
    if not sees_public_view(user):
        if (scope := district_scope(user)) is not None:
            query = query.where(Canteen.district_code == scope)
        if (own := canteen_scope(user)) is not None:
            query = query.where(Canteen.id == own)
    if district:
        query = query.where(Canteen.district_code == district)
    if community:
        query = query.join(Canteen.community).where(Community.code == community)
    if near is None:
        return [(canteen, None) for canteen in db.session.scalars(query)]
    lat, lng = near
    if radius_m:
        south, north, west, east = bounding_box(lat, lng, radius_m)
        query = query.where(Canteen.lat.between(south, north), Canteen.lng.between(west, east))
    found = [(c, distance_m(lat, lng, c.lat, c.lng)) for c in db.session.scalars(query)]
    if radius_m:
        found = [(c, d) for c, d in found if d <= radius_m]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))
