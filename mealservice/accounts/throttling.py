"""Login limits: attempts per client address, and failed attempts per account, which lock
the account for the rest of the window. Counted by Flask-Limiter in its store (Redis when
REDIS_URL is set), shared by the login page and the token endpoint."""

from flask import current_app, request
from flask_limiter.util import get_remote_address

from mealservice.extensions import limiter


def _username() -> str:
    """The account a login names, from the form or the JSON body; else the address."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    if isinstance(name, str) and name.strip():
        return "account:" + name.strip().lower()
    return "address:" + get_remote_address()


def _failed(response) -> bool:
    return response.status_code == 401


def _locked_message() -> str:
    return "Too many failed logins for this account: it is locked for a while, try again later."


def _address_message() -> str:
    return "Too many login attempts from this address: wait a minute and try again."


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
    return address_attempts(account_failures(view))
