"""Login throttling: attempts per address, failed attempts per account (the lockout),
shared by the login page and the token endpoint, and kept in Redis across processes."""

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from config import TestingConfig
from mealservice import create_app
from mealservice.accounts.throttling import account_key
from mealservice.extensions import limiter
from tests import conftest, factories
from tests.core.test_errors import assert_error
from tests.core.test_pages import log_in, page_token

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Flask-Limiter keeps the first key prefix it is given for the life of the process, so
# every app here uses this run's one; each app still gets a fresh store.
PREFIX = f"test-{uuid.uuid4().hex}"


def limited_app(database_url, **settings):
    app = create_app(
        TestingConfig,
        DATABASE_URL=database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_KEY_PREFIX=PREFIX,
        **settings,
    )
    app.test_client_class = conftest.TestClient
    return app


@pytest.fixture(autouse=True)
def limiter_off_afterwards(app):
    """The limiter is one object for every app of the process: hand it back to the suite's
    app, whose settings switch it off, or later tests' logins would be counted."""
    yield
    limiter.init_app(app)


@pytest.fixture
def api(database_url, db):
    return limited_app(database_url, RATELIMIT_STORAGE_URI="memory://").test_client()


def token_request(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_five_failures_lock_the_account_even_for_the_right_password(api):
    factories.create_user("admin", username="wang.till", password="green-tea-42")
    for _ in range(5):
        assert_error(token_request(api, "wang.till", "guess-1234"), 401, "unauthorized")
    locked = token_request(api, "wang.till", "green-tea-42")
    error = assert_error(locked, 429, "rate_limited")
    assert "locked" in error["message"]
    assert int(locked.headers["Retry-After"]) > 0


def test_the_lockout_counts_failures_only(api):
    factories.create_user("admin", username="li.till", password="green-tea-42")
    for _ in range(8):
        assert token_request(api, "li.till", "green-tea-42").status_code == 200
    assert token_request(api, "li.till", "green-tea-42").status_code == 200


def test_one_locked_account_leaves_the_others_alone(api):
    factories.create_user("admin", username="zhao.till", password="green-tea-42")
    for _ in range(5):
        token_request(api, "someone-else", "guess-1234")
    assert token_request(api, "zhao.till", "green-tea-42").status_code == 200


def test_usernames_are_counted_whatever_their_case(api):
    for name in ("Chen", "chen", "CHEN", " chen ", "cHen"):
        token_request(api, name, "guess-1234")
    assert_error(token_request(api, "chen", "guess-1234"), 429, "rate_limited")


def test_too_many_attempts_from_one_address_are_refused(database_url, db):
    client = limited_app(database_url, LOGIN_ATTEMPTS_PER_ADDRESS="3 per minute").test_client()
    for number in range(3):
        token_request(client, f"user-{number}", "guess-1234")
    error = assert_error(token_request(client, "user-9", "guess-1234"), 429, "rate_limited")
    assert "address" in error["message"]


def test_only_the_login_and_password_views_meet_the_limiter(database_url, db):
    # A default limit would count every request; the limiter is asked on the login and
    # password views alone, so the rest of the service never meets it.
    client = limited_app(
        database_url,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_DEFAULT="1 per minute",
        LOGIN_ATTEMPTS_PER_ADDRESS="1 per minute",
    ).test_client()
    assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    token_request(client, "user-1", "guess-1234")
    assert_error(token_request(client, "user-2", "guess-1234"), 429, "rate_limited")


def test_the_login_page_and_the_api_share_the_count_and_the_page_says_why(database_url, db):
    app = limited_app(database_url)
    page = app.test_client()
    page.get("/lang/en")
    factories.create_user("admin", username="zhou.manager", password="green-tea-42")
    for _ in range(3):
        token = page_token(page, "/login")
        failed = page.post(
            "/login",
            data={"csrf_token": token, "username": "zhou.manager", "password": "guess-1234"},
        )
        assert failed.status_code == 401
    for _ in range(2):
        token_request(page, "zhou.manager", "guess-1234")
    token = page_token(page, "/login")
    locked = page.post(
        "/login",
        data={"csrf_token": token, "username": "zhou.manager", "password": "green-tea-42"},
    )
    assert locked.status_code == 429
    assert "Too many login attempts" in locked.get_data(as_text=True)


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not redis_reachable(), reason="needs Redis on 127.0.0.1:6379")
def test_with_redis_a_lockout_holds_in_every_process(database_url, db):
    """Failures counted by this process lock the account for another process too."""
    client = limited_app(database_url, RATELIMIT_STORAGE_URI=REDIS_URL).test_client()
    for _ in range(5):
        token_request(client, "far.cashier", "guess-1234")
    other_process = f"""
from config import TestingConfig
from mealservice import create_app
from mealservice.accounts.throttling import account_key
from mealservice.extensions import limiter
app = create_app(TestingConfig, DATABASE_URL={database_url!r}, RATELIMIT_ENABLED=True,
                 RATELIMIT_STORAGE_URI={REDIS_URL!r}, RATELIMIT_KEY_PREFIX={PREFIX!r})
response = app.test_client().post(
    "/api/v1/auth/token", json={{"username": "far.cashier", "password": "any-thing-1"}})
print(response.status_code)
"""
    result = subprocess.run(
        [sys.executable, "-c", other_process],
        cwd=ROOT,
        env={**os.environ, "MEALSERVICE_ENV": "testing"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == "429", result.stderr[-2000:]


# Wrong current passwords on a password change: limited per account like failed logins.


def password_change(client, token, current, new="Brand-New-Tea-77"):
    return client.post(
        "/api/v1/auth/password",
        json={"current_password": current, "new_password": new},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_five_wrong_current_passwords_lock_password_changes_for_the_account(api):
    user = factories.create_user("admin", username="sun.till", password="green-tea-42")
    token = factories.token_for(user)
    for _ in range(5):
        assert_error(password_change(api, token, "guess-1234"), 422, "validation_error")
    locked = password_change(api, token, "green-tea-42")
    error = assert_error(locked, 429, "rate_limited")
    assert "wrong current passwords" in error["message"]
    assert int(locked.headers["Retry-After"]) > 0
    # Logging in is a count of its own: the account is not locked out.
    assert token_request(api, "sun.till", "green-tea-42").status_code == 200


def test_new_passwords_the_rules_refuse_are_not_counted_as_guesses(api):
    user = factories.create_user("admin", username="qian.till", password="green-tea-42")
    token = factories.token_for(user)
    for _ in range(7):
        error = assert_error(
            password_change(api, token, "green-tea-42", new="short"), 422, "validation_error"
        )
        assert set(error["fields"]) == {"new_password"}
    assert password_change(api, token, "green-tea-42").status_code == 200


def test_the_password_page_says_why_once_changes_are_locked(database_url, db):
    app = limited_app(database_url, RATELIMIT_STORAGE_URI="memory://")
    page = app.test_client()
    factories.create_user("admin", username="wu.manager", password="green-tea-42")
    log_in(page, "wu.manager", "green-tea-42")
    page.get("/lang/en")

    def change(current):
        token = page_token(page, "/account/password")
        return page.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": current,
                "new_password": "Brand-New-Tea-77",
                "repeated": "Brand-New-Tea-77",
            },
        )

    for _ in range(5):
        wrong = change("guess-1234")
        assert wrong.status_code == 422
        assert "The current password is wrong." in wrong.get_data(as_text=True)
    locked = change("green-tea-42")
    assert locked.status_code == 429
    assert "Too many wrong current passwords" in locked.get_data(as_text=True)


# The limiter's store


def stored_keys() -> list[str]:
    return list(limiter.storage.storage)


def test_the_limiters_keys_never_hold_a_username(api):
    user = factories.create_user("admin", username="Zhou.Secret", password="green-tea-42")
    token = factories.token_for(user)
    token_request(api, "Zhou.Secret", "guess-1234")
    token_request(api, "zhou.secret ", "guess-1234")
    password_change(api, token, "guess-1234")

    keys = stored_keys()

    assert any("login-account" in key for key in keys)
    assert any("password-account" in key for key in keys)
    assert not [key for key in keys if "zhou" in key.lower()]
    with api.application.app_context():
        hashed = account_key("Zhou.Secret")
    # One account, however its name was typed, and one key per limit.
    assert len([key for key in keys if hashed in key]) == 2


def test_an_account_key_is_keyed_by_the_apps_secret(app):
    with app.app_context():
        here = account_key("chen")
    other = create_app(TestingConfig, SECRET_KEY="another-secret-entirely-0123456789")
    with other.app_context():
        there = account_key("chen")
    assert here != there and "chen" not in here
