"""The elder registry: ID numbers checked, encrypted and masked; consent recorded."""

import logging
from datetime import date

from sqlalchemy import select

from mealservice.core.auth import LINKED_ELDER_ROLES, district_scope
from mealservice.core.db import add_unique, db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.core.idnumber import (
    InvalidIdNumber,
    birth_date_of,
    mask_id_number,
    normalise_id_number,
)
from mealservice.elders.models import Elder, ElderStatus, account_elders
from mealservice.elders.protection import encrypt_id_number, id_number_lookup_hash
from mealservice.elders.signals import elder_status_changed
from mealservice.places.models import Community, District

log = logging.getLogger(__name__)


def checked_id_number(value: str) -> str:
    try:
        return normalise_id_number(value)
    except InvalidIdNumber as error:
        raise ValidationFailed({"id_number": [str(error)]}) from None


def create_elder(actor, data: dict) -> Elder:
    number = checked_id_number(data["id_number"])
    district = _district_in_reach(actor, data["hukou_district"])
    community = _community_of(district, data["community"])
    lookup = id_number_lookup_hash(number)
    existing = db.session.scalar(select(Elder.id).where(Elder.id_number_hash == lookup))
    if existing is not None:
        log.info("refused a second registration of elder %s (%s)", existing, mask_id_number(number))
        raise _duplicate(number)
    location = data.get("location") or {}
    elder = Elder(
        name=data["name"],
        id_number_encrypted=encrypt_id_number(number),
        id_number_hash=lookup,
        id_number_masked=mask_id_number(number),
        birth_date=birth_date_of(number),
        phone=data["phone"],
        phone_last4=_last4(data["phone"]),
        address=data["address"],
        community_id=community.id,
        hukou_district=district.code,
        lat=location.get("lat"),
        lng=location.get("lng"),
        categories=sorted(data.get("categories", [])),
        ability_level=data["ability_level"],
        diet_notes=data.get("diet_notes"),
        status=ElderStatus.ACTIVE,
        consent_given_at=data["consent"]["given_at"],
        consent_recorded_by=data["consent"]["recorded_by"],
    )
    add_unique(elder, "duplicate_elder", _duplicate(number).message)
    # The mask alone: next to the district (the number's region) it would say more.
    log.info("registered elder %s (%s)", elder.id, elder.id_number_masked)
    return elder


def _duplicate(number: str) -> Conflict:
    return Conflict(
        "duplicate_elder", f"An elder with the ID number {mask_id_number(number)} is registered."
    )


def _last4(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())[-4:]


def _district_in_reach(actor, code: str) -> District:
    district = db.session.get(District, code)
    if district is None or district_scope(actor) not in (None, code):
        raise ValidationFailed({"hukou_district": ["No such district in your scope."]})
    return district


def _community_of(district: District, code: str) -> Community:
    community = db.session.scalar(
        select(Community).where(Community.code == code, Community.district_code == district.code)
    )
    if community is None:
        raise ValidationFailed({"community": ["No such community in the elder's district."]})
    return community


def elders_query(actor, *, community: str | None = None, q: str | None = None):
    """The elders an actor may see: their district's, or for family and elders their own."""
    query = select(Elder).order_by(Elder.id)
    if actor.role in LINKED_ELDER_ROLES:
        query = query.join(account_elders, account_elders.c.elder_id == Elder.id).where(
            account_elders.c.user_id == actor.id
        )
    elif (scope := district_scope(actor)) is not None:
        query = query.where(Elder.hukou_district == scope)
    if community:
        query = query.join(Elder.community).where(Community.code == community)
    if q:
        query = query.where(Elder.name.contains(q))
    return query


def get_elder(actor, elder_id: int) -> Elder:
    elder = db.session.scalar(elders_query(actor).where(Elder.id == elder_id))
    if elder is None:
        raise NotFound("elder")
    return elder


def update_elder(elder: Elder, changes: dict) -> Elder:
    status = changes.get("status", elder.status)
    if "community" in changes:
        district = db.session.get(District, elder.hukou_district)
        elder.community_id = _community_of(district, changes.pop("community")).id
    if "location" in changes:
        location = changes.pop("location") or {}
        elder.lat, elder.lng = location.get("lat"), location.get("lng")
    if "phone" in changes:
        elder.phone_last4 = _last4(changes["phone"])
    if "categories" in changes:
        changes["categories"] = sorted(changes["categories"])
    if status == ElderStatus.ACTIVE:
        changes["status_since"] = None
    elif changes.get("status_since", elder.status_since) is None:
        raise ValidationFailed({"status_since": [f"Say from which date the elder is {status}."]})
    dates = {elder.status_since, changes.get("status_since", elder.status_since)} - {None}
    status_changed = status != elder.status or len(dates) > 1
    for field, value in changes.items():
        setattr(elder, field, value)
    db.session.flush()
    if status_changed and dates:
        elder_status_changed.send(elder, since=min(dates))
    return elder


def link_elders(user, elder_ids: list[int]) -> None:
    if not elder_ids:
        return
    db.session.execute(
        account_elders.insert(), [{"user_id": user.id, "elder_id": i} for i in elder_ids]
    )


def linked_elder_ids(user) -> list[int]:
    return list(
        db.session.scalars(
            select(account_elders.c.elder_id)
            .where(account_elders.c.user_id == user.id)
            .order_by(account_elders.c.elder_id)
        )
    )


def elders_in_reach(actor, elder_ids: list[int]) -> set[int]:
    """Which of these elders the actor may link accounts to."""
    if not elder_ids:
        return set()
    query = select(Elder.id).where(Elder.id.in_(elder_ids))
    if (scope := district_scope(actor)) is not None:
        query = query.where(Elder.hukou_district == scope)
    return set(db.session.scalars(query))


def is_active_on(elder: Elder, day: date) -> bool:
    return elder.status == ElderStatus.ACTIVE or (
        elder.status_since is not None and day < elder.status_since
    )
