from datetime import timedelta

from sqlalchemy import select

from mealservice.accounts.models import ApiToken
from mealservice.accounts.services import issue_token
from mealservice.core.auth import hash_token
from mealservice.core.clock import utcnow
from tests import factories
from tests.core.test_errors import assert_error


def test_right_credentials_get_a_token_with_role_and_expiry(anonymous, canteen, db):
    factories.create_user(
        "manager", canteen=canteen, username="li.manager", password="green-tea-42"
    )
    response = anonymous.post(
        "/api/v1/auth/token", json={"username": "li.manager", "password": "green-tea-42"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["role"] == "manager"
    assert body["expires_at"].endswith("+00:00")
    assert len(body["token"]) >= 40
    me = anonymous.get("/api/v1/users", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200


def test_tokens_are_stored_only_as_hashes(anonymous, db, district):
    factories.create_user("admin", username="root2", password="green-tea-42")
    token = anonymous.post(
        "/api/v1/auth/token", json={"username": "root2", "password": "green-tea-42"}
    ).get_json()["token"]
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored
    assert hash_token(token) in stored


def test_wrong_password_is_401(anonymous, db):
    factories.create_user("admin", username="root3", password="green-tea-42")
    response = anonymous.post(
        "/api/v1/auth/token", json={"username": "root3", "password": "wrong-one"}
    )
    assert_error(response, 401, "unauthorized")


def test_unknown_user_is_401_like_a_wrong_password(anonymous, db):
    response = anonymous.post(
        "/api/v1/auth/token", json={"username": "nobody", "password": "whatever1"}
    )
    assert_error(response, 401, "unauthorized")


def test_missing_credentials_are_a_validation_error(anonymous, db):
    error = assert_error(anonymous.post("/api/v1/auth/token", json={}), 422, "validation_error")
    assert set(error["fields"]) == {"username", "password"}


def test_a_deactivated_account_cannot_log_in_or_use_its_token(anonymous, db):
    user = factories.create_user("admin", username="gone", password="green-tea-42")
    token = factories.token_for(user)
    user.active = False
    db.session.commit()
    error = assert_error(
        anonymous.post("/api/v1/auth/token", json={"username": "gone", "password": "green-tea-42"}),
        401,
        "account_deactivated",
    )
    assert "deactivated" in error["message"]
    assert_error(
        anonymous.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthorized",
    )


def test_a_deactivated_account_with_a_wrong_password_answers_as_any_wrong_password(anonymous, db):
    user = factories.create_user("admin", username="gone", password="green-tea-42")
    user.active = False
    db.session.commit()
    deactivated = anonymous.post(
        "/api/v1/auth/token", json={"username": "gone", "password": "guess-1234"}
    )
    unknown = anonymous.post(
        "/api/v1/auth/token", json={"username": "nobody-here", "password": "guess-1234"}
    )
    assert_error(deactivated, 401, "unauthorized")
    assert deactivated.get_json() == unknown.get_json()
    assert "deactivated" not in deactivated.get_data(as_text=True)


def test_an_expired_token_is_refused(anonymous, db):
    user = factories.create_user("admin")
    token, _ = issue_token(user, timedelta(seconds=-1))
    error = assert_error(
        anonymous.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthorized",
    )
    assert "expired" in error["message"]


def test_a_revoked_token_is_refused(anonymous, db):
    user = factories.create_user("admin")
    token = factories.token_for(user)
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    row.revoked_at = utcnow()
    db.session.commit()
    assert_error(
        anonymous.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthorized",
    )


def test_a_made_up_token_is_refused(anonymous, db):
    response = anonymous.get("/api/v1/canteens", headers={"Authorization": "Bearer made-up"})
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_no_token_is_refused(anonymous, db):
    assert_error(anonymous.get("/api/v1/canteens"), 401, "unauthorized")


def test_token_lifetime_follows_the_setting(anonymous, app, db, monkeypatch):
    from datetime import datetime

    factories.create_user("admin", username="ttl", password="green-tea-42")
    monkeypatch.setitem(app.config, "TOKEN_TTL_HOURS", 2)
    body = anonymous.post(
        "/api/v1/auth/token", json={"username": "ttl", "password": "green-tea-42"}
    ).get_json()
    lifetime = datetime.fromisoformat(body["expires_at"]) - utcnow()
    assert timedelta(hours=1, minutes=59) < lifetime <= timedelta(hours=2)
