"""Reading the audit log (core.audit writes it from triggers): by table, by actor and by
local dates, in the reader's scope, each change told field by field without what no
reader may see.

Scope, as API.md's table gives it: an administrator reads every row; an official the rows
of their district's meals, cards, balances, policies, claims, refused offline scans and
accounts; a manager those of their own canteen's meals, claims, refused offline scans and
accounts. An audit row names its record only by key, so the scope is the keys of the
records in reach, table by table."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, false, or_, select

from mealservice.accounts.models import User
from mealservice.balances.models import Balance
from mealservice.claims.models import Claim, ClaimReview, RejectedLine
from mealservice.core.audit import AUDITED
from mealservice.core.auth import canteen_scope, district_scope
from mealservice.counter.models import RefusedScan
from mealservice.elders.models import Card, Elder
from mealservice.meals.models import Meal
from mealservice.oversight.models import AuditEntry
from mealservice.places.models import Canteen
from mealservice.policy.models import PolicyTier, SubsidyPolicy

TABLES = tuple(AUDITED)

# Never shown, whatever a row held when it was written: secrets and personal numbers.
# (The triggers keep the password hash out already; an older row, or a column added to an
# audited table later, is kept out here too.)
HIDDEN_MARKS = ("password", "hash", "id_number", "token", "secret", "signing")


def _keys(column) -> object:
    return cast(column, String)


def _district_keys(table: str, code: str):
    """The keys of `table`'s records in the district, as audit rows name them."""
    district_claims = select(Claim.id).where(Claim.district_code == code)
    return {
        "meals": select(_keys(Meal.id))
        .join(Canteen, Meal.canteen_id == Canteen.id)
        .where(Canteen.district_code == code),
        "cards": select(_keys(Card.id))
        .join(Elder, Card.elder_id == Elder.id)
        .where(Elder.hukou_district == code),
        "balances": select(_keys(Balance.elder_id))
        .join(Elder, Balance.elder_id == Elder.id)
        .where(Elder.hukou_district == code),
        "subsidy_policies": select(_keys(SubsidyPolicy.id)).where(
            SubsidyPolicy.district_code == code
        ),
        "policy_tiers": select(_keys(PolicyTier.id))
        .join(SubsidyPolicy, PolicyTier.policy_id == SubsidyPolicy.id)
        .where(SubsidyPolicy.district_code == code),
        "claims": select(_keys(Claim.id)).where(Claim.district_code == code),
        "claim_reviews": select(_keys(ClaimReview.id)).where(
            ClaimReview.claim_id.in_(district_claims)
        ),
        "claim_rejected_lines": select(_keys(RejectedLine.claim_id)).where(
            RejectedLine.claim_id.in_(district_claims)
        ),
        "refused_scans": select(_keys(RefusedScan.id))
        .join(Canteen, RefusedScan.canteen_id == Canteen.id)
        .where(Canteen.district_code == code),
        "users": select(_keys(User.id)).where(
            or_(
                User.district_code == code,
                User.canteen_id.in_(select(Canteen.id).where(Canteen.district_code == code)),
            )
        ),
    }.get(table)


def _canteen_keys(table: str, canteen_id: int):
    own_claims = select(Claim.id).where(Claim.canteen_id == canteen_id)
    return {
        "meals": select(_keys(Meal.id)).where(Meal.canteen_id == canteen_id),
        "claims": select(_keys(Claim.id)).where(Claim.canteen_id == canteen_id),
        "claim_reviews": select(_keys(ClaimReview.id)).where(ClaimReview.claim_id.in_(own_claims)),
        "claim_rejected_lines": select(_keys(RejectedLine.claim_id)).where(
            RejectedLine.claim_id.in_(own_claims)
        ),
        "refused_scans": select(_keys(RefusedScan.id)).where(RefusedScan.canteen_id == canteen_id),
        "users": select(_keys(User.id)).where(User.canteen_id == canteen_id),
    }.get(table)


def _in_scope(user, tables):
    own, district = canteen_scope(user), district_scope(user)
    if own is None and district is None:
        return None
    reached = []
    for table in tables:
        keys = _canteen_keys(table, own) if own is not None else _district_keys(table, district)
        if keys is not None:
            reached.append((AuditEntry.table_name == table) & AuditEntry.row_key.in_(keys))
    return or_(*reached) if reached else false()


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants a local date runs between."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(), zone)
    return start, datetime.combine(day + timedelta(days=1), time(), zone)


def audit_log_query(
    user,
    *,
    table: str | None = None,
    actor: str | None = None,
    since: date | None = None,
    until: date | None = None,
    timezone: str = "Asia/Shanghai",
):
    """The entries the user may read, newest first, narrowed by table, actor (exact) and
    local dates (both ends included)."""
    tables = [table] if table else list(TABLES)
    query = select(AuditEntry).where(AuditEntry.table_name.in_(tables))
    scoped = _in_scope(user, tables)
    if scoped is not None:
        query = query.where(scoped)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= local_day_bounds(since, timezone)[0])
    if until is not None:
        query = query.where(AuditEntry.at < local_day_bounds(until, timezone)[1])
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: object
    after: object


def hidden(field: str) -> bool:
    return any(mark in field.lower() for mark in HIDDEN_MARKS)


def changes_of(entry: AuditEntry) -> list[FieldChange]:
    """What the entry changed, field by field: for an update the fields whose value
    differs (old → new); for an insert every field it was made with; for a delete every
    field it held. Hidden fields are left out."""
    before, after = entry.before or {}, entry.after or {}
    fields = sorted(set(before) | set(after))
    found = []
    for field in fields:
        if hidden(field):
            continue
        old, new = before.get(field), after.get(field)
        if entry.action == "update" and old == new:
            continue
        found.append(FieldChange(field, old, new))
    return found
