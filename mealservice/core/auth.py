"""Who may do what: the roles, the permission table of the API contract, and the
scope every role sees. Views name an action; this module alone decides."""

import hashlib
from enum import StrEnum

from flask import g, request

from mealservice.core.errors import Forbidden, NotFound, Unauthorized


class Role(StrEnum):
    ADMIN = "admin"
    OFFICIAL = "official"
    MANAGER = "manager"
    CASHIER = "cashier"
    FAMILY = "family"
    ELDER = "elder"
    VOLUNTEER = "volunteer"
    INSPECTOR = "inspector"


ADMIN, OFFICIAL, MANAGER, CASHIER = Role.ADMIN, Role.OFFICIAL, Role.MANAGER, Role.CASHIER
FAMILY, ELDER, VOLUNTEER, INSPECTOR = Role.FAMILY, Role.ELDER, Role.VOLUNTEER, Role.INSPECTOR

# Roles whose account belongs to one canteen, and to one district.
CANTEEN_ROLES = frozenset({MANAGER, CASHIER, VOLUNTEER})
DISTRICT_ROLES = frozenset({OFFICIAL, INSPECTOR})

# The "Who may do what" table of API.md, one action per row. A role missing from a row
# is refused with 403; the objects a permitted role reaches are narrowed by the scope
# functions below (outside the scope: 404).
PERMISSIONS: dict[str, frozenset[Role]] = {
    "districts.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "districts.write": frozenset({ADMIN}),
    "communities.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "communities.write": frozenset({ADMIN}),
    "standards.write": frozenset({ADMIN, OFFICIAL}),
    "canteens.read": frozenset({ADMIN, OFFICIAL, MANAGER, CASHIER, FAMILY, ELDER}),
    "canteens.create": frozenset({ADMIN, OFFICIAL}),
    "canteens.edit": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "users.create": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "users.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "users.revoke": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "elders.read": frozenset({ADMIN, OFFICIAL, MANAGER, FAMILY, ELDER}),
    "elders.write": frozenset({ADMIN, OFFICIAL}),
    "policies.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "policies.write": frozenset({ADMIN, OFFICIAL}),
    "holidays.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "holidays.write": frozenset({ADMIN}),
    "cards.write": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "cards.read": frozenset({ADMIN, OFFICIAL, MANAGER, FAMILY, ELDER}),
    "menus.read": frozenset({ADMIN, OFFICIAL, MANAGER, CASHIER, FAMILY, ELDER}),
    "menus.write": frozenset({ADMIN, MANAGER}),
    "meals.scan": frozenset({ADMIN, MANAGER, CASHIER}),
    "meals.read": frozenset({ADMIN, OFFICIAL, MANAGER, CASHIER}),
    "meals.void": frozenset({ADMIN, MANAGER}),
    "elders.lookup": frozenset({ADMIN, OFFICIAL, MANAGER, CASHIER}),
    "quotes.read": frozenset({ADMIN, OFFICIAL, MANAGER, CASHIER, FAMILY, ELDER}),
    "balances.top_up": frozenset({ADMIN, MANAGER, CASHIER}),
    "balances.read": frozenset({ADMIN, OFFICIAL, MANAGER, FAMILY, ELDER}),
    "terminals.manage": frozenset({ADMIN, MANAGER}),
    "terminals.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "cards.list": frozenset({ADMIN, MANAGER, CASHIER}),
    "shift_reports.read": frozenset({ADMIN, OFFICIAL, MANAGER, CASHIER}),
    "orders.place": frozenset({ADMIN, MANAGER, FAMILY, ELDER}),
    "orders.read": frozenset({ADMIN, OFFICIAL, MANAGER, FAMILY, ELDER}),
    "kitchen_counts.read": frozenset({ADMIN, OFFICIAL, MANAGER, CASHIER}),
    "standing_orders.write": frozenset({ADMIN, MANAGER, FAMILY, ELDER}),
    "standing_orders.read": frozenset({ADMIN, OFFICIAL, MANAGER, FAMILY, ELDER}),
    "ratings.write": frozenset({FAMILY, ELDER}),
    "ratings.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "delivery_runs.write": frozenset({ADMIN, MANAGER}),
    "delivery_runs.read": frozenset({ADMIN, OFFICIAL, MANAGER, VOLUNTEER}),
    "deliveries.confirm": frozenset({ADMIN, MANAGER, VOLUNTEER}),
    "alerts.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "alerts.follow_up": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "capacity.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "claims.make": frozenset({ADMIN, MANAGER}),
    "claims.preview": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "claims.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "claims.review": frozenset({ADMIN, OFFICIAL}),
    "claims.summary": frozenset({ADMIN, OFFICIAL}),
    "dashboard.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "access_log.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "risk.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "samples.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "samples.write": frozenset({ADMIN, OFFICIAL}),
    "oversight.read": frozenset({ADMIN, OFFICIAL, MANAGER}),
    "filing.write": frozenset({ADMIN, OFFICIAL}),
    "grading.write": frozenset({ADMIN, OFFICIAL}),
    "blacklist.write": frozenset({ADMIN, OFFICIAL}),
    "inspections.draw": frozenset({ADMIN, OFFICIAL}),
    "inspections.read": frozenset({ADMIN, OFFICIAL, INSPECTOR}),
    "inspections.record": frozenset({ADMIN, INSPECTOR}),
}

# Roles that reach elders through the accounts' links, not through a district.
LINKED_ELDER_ROLES = frozenset({FAMILY, ELDER})

# Which roles each role may create, find, deactivate and reactivate accounts for (the
# "users" row of the table); an official keeps the district's staff, family and elders.
CREATABLE_ROLES: dict[Role, frozenset[Role]] = {
    ADMIN: frozenset(Role),
    OFFICIAL: frozenset({MANAGER, CASHIER, FAMILY, ELDER, VOLUNTEER, INSPECTOR}),
    MANAGER: frozenset({CASHIER, VOLUNTEER}),
}

# A manager edits the details of their own canteen, not what the district registered.
MANAGER_EDITABLE_CANTEEN_FIELDS = frozenset({"name", "address", "phone", "opening_hours"})

# Family and elders see canteens as the public does: no public money, no operator.
PUBLIC_VIEW_ROLES = frozenset({FAMILY, ELDER})


def sees_public_view(user) -> bool:
    return user is not None and user.role in PUBLIC_VIEW_ROLES


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None


def current_user():
    return g.get("user")


def require_login():
    user = current_user()
    if user is None:
        if g.get("bad_token"):
            raise Unauthorized("The bearer token is unknown, expired or revoked.")
        raise Unauthorized()
    return user


def may(user, action: str) -> bool:
    return user is not None and user.role in PERMISSIONS[action]


def require_permission(action: str, scope=None, **target):
    """Refuse unless the caller may take `action`.

    With `scope` (a look-up such as `get_canteen(user, canteen_id=...)` that answers 404
    outside the caller's scope) the object is looked up first, so an object the caller
    cannot see is "not found" and only an object they can see is "forbidden"."""
    user = require_login()
    if scope is not None:
        # Held for the request: the session only weakly keeps what it loaded, and the view
        # looks the same object up again, which the session then answers without a query.
        g.in_scope = scope(user, **target)
    if user.role not in PERMISSIONS[action]:
        raise Forbidden(f"The role {user.role} may not do this ({action}).")
    return user


def ensure_may_change_canteen_fields(user, fields) -> None:
    if user.role == MANAGER:
        refused = sorted(set(fields) - MANAGER_EDITABLE_CANTEEN_FIELDS)
        if refused:
            raise Forbidden(
                "A manager may change only the canteen's own details, not: " + ", ".join(refused)
            )


def may_create_role(user, role: Role) -> bool:
    return role in CREATABLE_ROLES.get(user.role, frozenset())


def visible_roles(user) -> frozenset[Role] | None:
    """The roles of the accounts a user may see: those they may create (None: all)."""
    return (
        None if user is None or user.role == ADMIN else CREATABLE_ROLES.get(user.role, frozenset())
    )


# Scopes. Each returns None for "everything" or the one district / canteen the user sees.
# A user of None is the system itself (the command line, the demo loader).


def district_scope(user) -> str | None:
    return None if user is None or user.role == ADMIN else user.district_code


def canteen_scope(user) -> int | None:
    return user.canteen_id if user is not None and user.role in CANTEEN_ROLES else None


def ensure_district_in_scope(user, district_code: str, what: str = "district") -> None:
    scope = district_scope(user)
    if scope is not None and scope != district_code:
        raise NotFound(what)


def ensure_canteen_in_scope(user, canteen, what: str = "canteen") -> None:
    if sees_public_view(user):
        return
    ensure_district_in_scope(user, canteen.district_code, what)
    own = canteen_scope(user)
    if own is not None and own != canteen.id:
        raise NotFound(what)
