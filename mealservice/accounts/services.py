"""Accounts: passwords, bearer tokens and who may create whom."""

import secrets
from datetime import datetime, timedelta

from flask import current_app, session
from sqlalchemy import bindparam, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from mealservice.accounts.models import ApiToken, User
from mealservice.accounts.passwords import PasswordRefused, password_problems
from mealservice.core.auth import (
    CANTEEN_ROLES,
    DISTRICT_ROLES,
    LINKED_ELDER_ROLES,
    Role,
    canteen_scope,
    district_scope,
    hash_token,
    may_create_role,
    visible_roles,
)
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, add_unique, db
from mealservice.core.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed
from mealservice.elders.services import elders_in_reach, link_elders
from mealservice.places.models import Canteen, District


def hash_password(password: str) -> str:
    """The password's hash by the configured method (PASSWORD_HASH_METHOD: scrypt, but
    for the test suite); check_password_hash reads the method back from the hash."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


class WrongCredentials(ApiError):
    def __init__(self):
        super().__init__(401, "unauthorized", "Wrong username or password.")


class AccountDeactivated(ApiError):
    """Said only to someone who gave the account's password: to anyone else a deactivated
    account answers as a wrong password does, so the answer reveals no account."""

    def __init__(self):
        super().__init__(
            401,
            "account_deactivated",
            "This account is deactivated. Ask whoever manages your account.",
        )


def authenticate(username: str, password: str) -> User:
    """The account the credentials open; WrongCredentials or AccountDeactivated if none."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        # The same hashing work as for a real account, so the time taken tells no one
        # whether the username exists.
        check_password_hash(_stand_in_hash(), password)
        raise WrongCredentials()
    if not check_password_hash(user.password_hash, password):
        raise WrongCredentials()
    if not user.active:
        raise AccountDeactivated()
    return user


def _stand_in_hash() -> str:
    """A hash by the configured method of a password nobody has, made once per app."""
    stand_in = current_app.extensions.get("accounts.stand_in_hash")
    if stand_in is None:
        stand_in = hash_password(secrets.token_urlsafe(16))
        current_app.extensions["accounts.stand_in_hash"] = stand_in
    return stand_in


def issue_token(user: User, ttl: timedelta) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), expires_at=expires_at))
    db.session.flush()
    return token, expires_at


# Built once: every API call with a bearer token runs it. The token is judged in SQL and
# only its user loaded: one entity to build instead of a token with its user joined on.
USER_OF_TOKEN = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now", type_=UTCDateTime),
        User.active.is_(True),
    )
)

TOKEN = select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))


def user_for_token(token: str) -> User | None:
    """The active user a live token (neither revoked nor expired) belongs to, else None."""
    return db.session.scalar(USER_OF_TOKEN, {"token_hash": hash_token(token), "now": utcnow()})


def user_for_session(user_id: int, epoch: int | None) -> User | None:
    """The user a browser session names, unless their sessions were ended since it began."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or epoch != user.session_epoch:
        return None
    return user


def sign_in(user: User, *, permanent: bool = False) -> None:
    """Start a browser session for `user`, keeping only the chosen language."""
    lang = session.get("lang")
    session.clear()
    session["user_id"] = user.id
    session["epoch"] = user.session_epoch
    session.permanent = permanent
    if lang:
        session["lang"] = lang


def sign_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def revoke_token(token: str) -> None:
    row = db.session.scalar(TOKEN, {"token_hash": hash_token(token)})
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_access(user: User, *, except_token: str | None = None) -> int:
    """End everything `user` is signed in with: their tokens (but `except_token`) and,
    by moving their session epoch, every browser session. Returns the tokens revoked."""
    keep = hash_token(except_token) if except_token else None
    rows = db.session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > utcnow(),
        )
    ).all()
    now = utcnow()
    revoked = [row for row in rows if row.token_hash != keep]
    for row in revoked:
        row.revoked_at = now
    user.session_epoch += 1
    return len(revoked)


def deactivate(actor: User, user: User) -> User:
    """Deactivate an account (a leaver, a lost phone for good): it can no longer log in,
    and its tokens and browser sessions end now. Audited by the users table's trigger."""
    if user.id == actor.id:
        raise Conflict("own_account", "You cannot deactivate your own account.")
    _set_active(user, False)
    revoke_access(user)
    return user


def reactivate(actor: User, user: User) -> User:
    """Let a deactivated account log in again; the tokens it had stay ended."""
    _set_active(user, True)
    return user


def _set_active(user: User, active: bool) -> None:
    # A conditional UPDATE: of two requests at once, one changes the row and the other
    # finds it already changed (on PostgreSQL it waits for the first's row lock, then
    # re-reads the row), so the loser gets a 409, never a 500 or a second revocation.
    changed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.active.is_(not active))
        .values(active=active)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not changed:
        if active:
            raise Conflict("already_active", "This account is already active.")
        raise Conflict("already_deactivated", "This account is already deactivated.")


def reset_password(actor: User, user: User, password: str) -> int:
    """Set a password someone chose for another account (they forgot theirs); every token
    and browser session of that account ends. Returns the tokens revoked. One's own
    password is changed with the current one (change_password), never reset."""
    if user.id == actor.id:
        raise Conflict(
            "own_account", "Change your own password with your current one, not by a reset."
        )
    ensure_password_allowed(password, user.username)
    user.password_hash = hash_password(password)
    return revoke_access(user)


def ensure_password_allowed(password: str, username: str) -> None:
    problems = password_problems(password, username)
    if problems:
        raise PasswordRefused({"password": problems})


def change_password(
    user: User, current_password: str, new_password: str, *, keep_token: str | None = None
) -> int:
    """Set a new password after checking the current one; every other sign-in ends."""
    if not check_password_hash(user.password_hash, current_password):
        raise PasswordRefused({"current_password": ["wrong_current"]})
    problems = password_problems(new_password, user.username)
    if check_password_hash(user.password_hash, new_password):
        problems.append("unchanged")
    if problems:
        raise PasswordRefused({"new_password": problems})
    user.password_hash = hash_password(new_password)
    return revoke_access(user, except_token=keep_token)


def create_user(
    actor: User | None,
    *,
    username: str,
    password: str,
    role: str,
    district: str | None = None,
    canteen_id: int | None = None,
    elder_ids: list[int] | None = None,
) -> User:
    """Create an account. `actor` None means the command line, which may create anyone."""
    role = Role(role)
    ensure_password_allowed(password, username)
    if actor is not None and not may_create_role(actor, role):
        raise Forbidden(f"The role {actor.role} may not create {role} accounts.")
    district_code, canteen = _placement(actor, role, district, canteen_id)
    elder_ids = _elders_to_link(actor, role, elder_ids or [])
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        district_code=district_code,
        canteen_id=canteen.id if canteen else None,
    )
    add_unique(
        user, "username_taken", f"The username {username!r} is taken.", {"username": username}
    )
    link_elders(user, elder_ids)
    return user


def _elders_to_link(actor, role: Role, elder_ids: list[int]) -> list[int]:
    elder_ids = sorted(set(elder_ids))
    if role not in LINKED_ELDER_ROLES:
        if elder_ids:
            raise ValidationFailed({"elder_ids": [f"A {role} account is linked to no elders."]})
        return []
    if role == Role.ELDER and len(elder_ids) != 1:
        raise ValidationFailed(
            {"elder_ids": ["An elder's account is linked to exactly one elder."]}
        )
    unknown = set(elder_ids) - elders_in_reach(actor, elder_ids)
    if unknown:
        raise ValidationFailed(
            {"elder_ids": [f"No such elder in your scope: {', '.join(map(str, sorted(unknown)))}."]}
        )
    return elder_ids


def _placement(actor, role, district, canteen_id):
    """The district and canteen a new account belongs to, checked against the actor's scope."""
    if role in CANTEEN_ROLES:
        if canteen_id is None and actor is not None:
            canteen_id = canteen_scope(actor)
        if canteen_id is None:
            raise ValidationFailed({"canteen_id": [f"A {role} account needs a canteen."]})
        canteen = db.session.get(Canteen, canteen_id)
        if canteen is None or not _canteen_in_reach(actor, canteen):
            raise ValidationFailed({"canteen_id": ["No such canteen in your scope."]})
        if district is not None and district != canteen.district_code:
            raise ValidationFailed({"district": ["The canteen lies in another district."]})
        return canteen.district_code, canteen
    if canteen_id is not None:
        raise ValidationFailed({"canteen_id": [f"A {role} account belongs to no canteen."]})
    if role == Role.ADMIN:
        if district:
            raise ValidationFailed({"district": ["An admin account belongs to no district."]})
        return None, None
    if district is None and actor is not None:
        district = district_scope(actor)
    if district is None:
        if role in DISTRICT_ROLES:
            raise ValidationFailed({"district": [f"A {role} account needs a district."]})
        return None, None
    if db.session.get(District, district) is None or (
        actor is not None and district_scope(actor) not in (None, district)
    ):
        raise ValidationFailed({"district": ["No such district in your scope."]})
    return district, None


def _canteen_in_reach(actor, canteen: Canteen) -> bool:
    scope = district_scope(actor)
    own = canteen_scope(actor)
    return scope in (None, canteen.district_code) and own in (None, canteen.id)


def users_in_scope_query(actor: User):
    """The accounts of the actor's canteen or district, whatever their role."""
    query = select(User).order_by(User.id)
    if (own := canteen_scope(actor)) is not None:
        return query.where(User.canteen_id == own)
    if (scope := district_scope(actor)) is not None:
        return query.where(User.district_code == scope)
    return query


def users_query(actor: User):
    """The accounts an actor may see: in scope, and of the roles they may create."""
    query = users_in_scope_query(actor)
    if (roles := visible_roles(actor)) is not None:
        query = query.where(User.role.in_(sorted(roles)))
    return query


def find_users(
    actor: User, q: str | None = None, role: str | None = None, active: bool | None = None
):
    """The accounts an actor may see, narrowed by part of the username, a role, and
    whether they are active."""
    query = users_query(actor)
    if q:
        query = query.where(User.username.icontains(q.strip(), autoescape=True))
    if role:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    return query


def get_user_in_scope(actor: User, user_id: int) -> User:
    user = db.session.scalar(users_in_scope_query(actor).where(User.id == user_id))
    if user is None:
        raise NotFound("user")
    return user


def get_user(actor: User, user_id: int) -> User:
    user = db.session.scalar(users_query(actor).where(User.id == user_id))
    if user is None:
        raise NotFound("user")
    return user
