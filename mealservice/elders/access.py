"""The personal-data access log: written as the access happens, in the same transaction."""

from sqlalchemy import select

from mealservice.core.auth import (
    ADMIN,
    CASHIER,
    INSPECTOR,
    MANAGER,
    OFFICIAL,
    VOLUNTEER,
    canteen_scope,
    district_scope,
)
from mealservice.core.db import db
from mealservice.core.privacy import mask_name
from mealservice.elders.models import Access, AccessLogEntry, Elder


def record_access(
    actor, canteen, elder_ids: list[int], action: str, reason: str, *, district_code=None
) -> list[AccessLogEntry]:
    """One entry per elder reached; a search that found nobody is one entry without one.
    Without a canteen (an alert no meal place owns), the entry is `district_code`'s."""
    entries = [
        AccessLogEntry(
            username=actor.username,
            role=actor.role,
            district_code=canteen.district_code if canteen is not None else district_code,
            canteen_id=canteen.id if canteen is not None else None,
            elder_id=elder_id,
            action=action,
            reason=reason,
        )
        for elder_id in (elder_ids or [None])
    ]
    db.session.add_all(entries)
    return entries


# Staff whose reads of an elder's sensitive fields are logged when the elder is not of
# their own district; family and elders reading their own elders are not.
STAFF_ROLES = frozenset({ADMIN, OFFICIAL, MANAGER, CASHIER, VOLUNTEER, INSPECTOR})


def record_reads(actor, elders, reason: str) -> list[AccessLogEntry]:
    """Log the elders whose ID, diet and health notes or phone a member of staff read
    from outside the elder's district (an administrator has none: every read counts).
    Each entry belongs to the elder's district, whose officials review it."""
    if actor is None or actor.role not in STAFF_ROLES:
        return []
    entries = [
        AccessLogEntry(
            username=actor.username,
            role=actor.role,
            district_code=elder.hukou_district,
            canteen_id=None,
            elder_id=elder.id,
            action=Access.RECORD_READ,
            reason=reason[:100],
        )
        for elder in elders
        if elder.hukou_district != actor.district_code
    ]
    db.session.add_all(entries)
    return entries


# Review


def access_log_query(actor, *, username: str | None = None, elder_id: int | None = None):
    """The entries an actor may review, newest first: an official their district's, a
    manager their canteen's, an administrator all."""
    query = select(AccessLogEntry).order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
    if (own := canteen_scope(actor)) is not None:
        query = query.where(AccessLogEntry.canteen_id == own)
    elif (district := district_scope(actor)) is not None:
        query = query.where(AccessLogEntry.district_code == district)
    if username:
        query = query.where(AccessLogEntry.username == username)
    if elder_id is not None:
        query = query.where(AccessLogEntry.elder_id == elder_id)
    return query


def with_elder_names(entries: list[AccessLogEntry]) -> list[dict]:
    """Entries as the review shows them: each with the elder's name masked."""
    ids = {entry.elder_id for entry in entries if entry.elder_id is not None}
    names = (
        dict(db.session.execute(select(Elder.id, Elder.name).where(Elder.id.in_(ids))).all())
        if ids
        else {}
    )
    return [
        {
            "id": entry.id,
            "at": entry.at,
            "username": entry.username,
            "role": entry.role,
            "action": entry.action,
            "district_code": entry.district_code,
            "canteen_id": entry.canteen_id,
            "elder_id": entry.elder_id,
            "elder_name": mask_name(names[entry.elder_id]) if entry.elder_id in names else None,
            "reason": entry.reason,
        }
        for entry in entries
    ]
