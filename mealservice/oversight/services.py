"""The personal-data access log: written as the access happens, in the same transaction."""

from mealservice.extensions import db
from mealservice.oversight.models import AccessLogEntry


def record_access(
    actor, canteen, elder_ids: list[int], action: str, reason: str
) -> list[AccessLogEntry]:
    """One entry per elder reached; a search that found nobody is one entry without one."""
    entries = [
        AccessLogEntry(
            username=actor.username,
            role=actor.role,
            district_code=canteen.district_code,
            canteen_id=canteen.id,
            elder_id=elder_id,
            action=action,
            reason=reason,
        )
        for elder_id in (elder_ids or [None])
    ]
    db.session.add_all(entries)
    return entries
