"""Guessing limits: login attempts per client address; failed logins per account, which
lock the account for the rest of the window; and wrong current passwords per signed-in
account on a password change. Counted by Flask-Limiter in its store (Redis when REDIS_URL
is set), the login limits shared by the login page and the token endpoint, the password
limit by the password page and the API.

The store's keys name accounts only by a keyed hash of the username: whoever reads Redis
learns neither who tried to log in nor who mistyped a password."""

import functools
import hashlib
import hmac

from flask import current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address

from mealservice.accounts.passwords import PasswordRefused
from mealservice.core.auth import current_user
from mealservice.core.security import rate_limited
from mealservice.extensions import limiter


def account_key(username: str) -> str:
    """How the limiter's store names an account: HMAC-SHA256 of the lower-cased username,
    keyed by the app's secret, so the key cannot be reversed by hashing known names."""
    digest = hmac.new(
        current_app.config["SECRET_KEY"].encode(),
        username.strip().lower().encode(),
        hashlib.sha256,
    ).hexdigest()
    return "account:" + digest


def _username() -> str:
    """The account a login names, from the form or the JSON body; else the address."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    if isinstance(name, str) and name.strip():
        return account_key(name)
    return "address:" + get_remote_address()


def _signed_in_account() -> str:
    user = current_user()
    return account_key(user.username) if user is not None else "address:" + get_remote_address()


def _failed(response) -> bool:
    return response.status_code == 401


def _locked_message() -> str:
    return "Too many failed logins for this account: it is locked for a while, try again later."


def _address_message() -> str:
    return "Too many login attempts from this address: wait a minute and try again."


def _password_locked_message() -> str:
    return (
        "Too many wrong current passwords for this account: password changes are locked"
        " for a while, try again later."
    )


account_failures = limiter.shared_limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
    scope="login-account",
    key_func=_username,
    methods=["POST"],
    deduct_when=_failed,
    error_message=_locked_message,
)

address_attempts = limiter.shared_limit(
    lambda: current_app.config["LOGIN_ATTEMPTS_PER_ADDRESS"],
    scope="login-address",
    methods=["POST"],
    error_message=_address_message,
)


def limit_logins(view):
    """Both limits on a login view (the page's form or the API's token request)."""
    return rate_limited(address_attempts(account_failures(view)))


# A wrong current password is a guess at the password like a failed login: as many are
# allowed per account, counted apart so a typo on a password change locks no one out of
# logging in.
password_failures = limiter.shared_limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
    scope="password-account",
    key_func=_signed_in_account,
    methods=["POST"],
    deduct_when=lambda _response: g.get("wrong_current_password", False),
    error_message=_password_locked_message,
)


def count_wrong_current_password(refused: PasswordRefused) -> None:
    """Count the request against the account's password limit if the refusal was a wrong
    current password (a new password the rules refuse is no guess)."""
    if "current_password" in refused.codes_by_field:
        g.wrong_current_password = True


def limit_password_changes(on_locked=None):
    """The password limit on a password-change view. `on_locked(exc)`, if given, answers
    a locked account itself (a page saying why); else the 429 goes to the error handlers."""

    def decorate(view):
        limited = rate_limited(password_failures(view))
        if on_locked is None:
            return limited

        @functools.wraps(view)
        def answering_locks(*args, **kwargs):
            try:
                return limited(*args, **kwargs)
            except RateLimitExceeded as exc:
                return on_locked(exc)

        return rate_limited(answering_locks)

    return decorate
