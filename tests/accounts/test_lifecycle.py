"""An account's life: deactivated (its sign-ins end at once, it cannot log in, saying so
only to the right password), reactivated, its password reset by whoever looks after it;
each change in the audit log, and a second request at once a 409, never a 500."""

import pytest
from flask import current_app
from sqlalchemy import select, text

from mealservice.accounts import services
from mealservice.accounts.models import ApiToken, User
from mealservice.core.auth import hash_token
from mealservice.core.errors import ApiError
from mealservice.oversight.models import AuditEntry
from tests import factories
from tests.core.test_errors import assert_error
from tests.pages import browser_as


def token_row(db, token: str) -> ApiToken:
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))


def log_in_for_token(client, username: str, password: str):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_deactivating_ends_the_accounts_tokens_and_sessions_at_once(app, login_as, canteen, db):
    cashier_page = browser_as(app, "cashier", canteen=canteen)
    cashier = cashier_page.user
    token = factories.token_for(cashier)
    assert cashier_page.get("/cashier").status_code == 200

    response = login_as("manager").post(f"/api/v1/users/{cashier.id}/deactivate")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["active"] is False
    assert response.get_json()["id"] == cashier.id
    assert token_row(db, token).revoked_at is not None
    assert "/login" in cashier_page.get("/cashier").headers["Location"]
    assert_error(
        cashier_page.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthorized",
    )


def test_a_deactivated_account_cannot_log_in_until_reactivated_and_old_tokens_stay_ended(
    app, login_as, canteen, db
):
    cashier = factories.create_user("cashier", canteen=canteen, password="green-tea-42")
    old_token = factories.token_for(cashier)
    manager = login_as("manager")
    manager.post(f"/api/v1/users/{cashier.id}/deactivate")
    client = app.test_client()
    assert_error(
        log_in_for_token(client, cashier.username, "green-tea-42"), 401, "account_deactivated"
    )

    response = manager.post(f"/api/v1/users/{cashier.id}/reactivate")

    assert response.status_code == 200 and response.get_json()["active"] is True
    assert log_in_for_token(client, cashier.username, "green-tea-42").status_code == 200
    assert token_row(db, old_token).revoked_at is not None
    assert_error(
        client.get("/api/v1/users", headers={"Authorization": f"Bearer {old_token}"}),
        401,
        "unauthorized",
    )


def test_deactivating_twice_or_reactivating_an_active_account_is_a_409(login_as, canteen):
    cashier = factories.create_user("cashier", canteen=canteen)
    manager = login_as("manager")
    assert_error(manager.post(f"/api/v1/users/{cashier.id}/reactivate"), 409, "already_active")
    assert manager.post(f"/api/v1/users/{cashier.id}/deactivate").status_code == 200
    error = assert_error(
        manager.post(f"/api/v1/users/{cashier.id}/deactivate"), 409, "already_deactivated"
    )
    assert "already deactivated" in error["message"]


def test_of_two_deactivations_at_once_the_second_is_a_409(db, canteen):
    """The second request read the account while it was still active; the conditional
    UPDATE, not that stale read, decides."""
    admin = factories.create_user("admin")
    cashier = factories.create_user("cashier", canteen=canteen)
    assert cashier.active
    # The first request's change, committed by another transaction meanwhile.
    db.session.execute(text("UPDATE users SET active = false WHERE id = :id"), {"id": cashier.id})
    epoch = db.session.scalar(
        text("SELECT session_epoch FROM users WHERE id = :id"), {"id": cashier.id}
    )

    with pytest.raises(ApiError) as refused:
        services.deactivate(admin, cashier)

    assert (refused.value.status, refused.value.code) == (409, "already_deactivated")
    db.session.expire_all()
    assert db.session.get(User, cashier.id).session_epoch == epoch


def test_an_admin_cannot_deactivate_their_own_account(login_as):
    admin = login_as("admin")
    error = assert_error(
        admin.post(f"/api/v1/users/{admin.user.id}/deactivate"), 409, "own_account"
    )
    assert "own account" in error["message"]
    assert admin.get("/api/v1/users").status_code == 200


@pytest.mark.parametrize(
    ("actor", "target", "status"),
    [
        ("admin", "official", 200),
        ("official", "manager", 200),
        ("official", "cashier", 200),
        ("official", "volunteer", 200),
        ("official", "inspector", 200),
        ("official", "family", 200),
        ("official", "elder", 200),
        ("official", "official", 404),
        ("manager", "cashier", 200),
        ("manager", "volunteer", 200),
        ("manager", "manager", 404),
        ("cashier", "volunteer", 403),
        ("volunteer", "cashier", 403),
    ],
)
def test_who_may_deactivate_whom(login_as, district, canteen, elder, db, actor, target, status):
    """The rule of reading and creating accounts: an official looks after the district's
    staff, families and elders, a manager the canteen's cashiers and volunteers."""
    user = factories.create_user(target, district=district, canteen=canteen, elders=[elder])
    if target in ("family", "elder"):
        # As an official of the district makes a family or an elder's account.
        user.district_code = district.code
        db.session.commit()
    response = login_as(actor).post(f"/api/v1/users/{user.id}/deactivate")
    assert response.status_code == status, response.get_json()


def test_nobody_reaches_accounts_of_another_canteen_or_district(login_as, district, db):
    other_district = factories.create_district()
    elsewhere = factories.create_canteen(other_district)
    far_cashier = factories.create_user("cashier", canteen=elsewhere)
    same_district_cashier = factories.create_user(
        "cashier", canteen=factories.create_canteen(district)
    )
    assert_error(
        login_as("official").post(f"/api/v1/users/{far_cashier.id}/deactivate"), 404, "not_found"
    )
    assert_error(
        login_as("manager").post(f"/api/v1/users/{same_district_cashier.id}/deactivate"),
        404,
        "not_found",
    )
    assert db.session.get(User, far_cashier.id).active


def test_each_change_is_in_the_audit_log_by_who_made_it_without_the_password_hash(
    login_as, canteen, db
):
    cashier = factories.create_user("cashier", canteen=canteen)
    manager = login_as("manager")
    manager.post(f"/api/v1/users/{cashier.id}/deactivate")
    manager.post(f"/api/v1/users/{cashier.id}/reactivate")

    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.table_name == "users", AuditEntry.row_key == str(cashier.id))
        .order_by(AuditEntry.id)
    ).all()

    assert entries[0].action == "insert"
    changes = [
        (e.actor, e.before["active"], e.after["active"])
        for e in entries
        if e.action == "update" and e.before["active"] != e.after["active"]
    ]
    assert changes == [
        (manager.user.username, True, False),
        (manager.user.username, False, True),
    ]
    for entry in entries:
        for row in (entry.before, entry.after):
            assert row is None or ("password_hash" not in row and row["username"])


def test_a_password_reset_sets_the_new_password_and_ends_the_accounts_sign_ins(
    app, login_as, canteen, db
):
    cashier = factories.create_user("cashier", canteen=canteen, password="green-tea-42")
    token = factories.token_for(cashier)

    response = login_as("manager").post(
        f"/api/v1/users/{cashier.id}/password", json={"password": "Fresh-Start-77"}
    )

    assert response.status_code == 200 and response.get_json() == {"revoked_tokens": 1}
    assert token_row(db, token).revoked_at is not None
    client = app.test_client()
    assert_error(log_in_for_token(client, cashier.username, "green-tea-42"), 401, "unauthorized")
    assert log_in_for_token(client, cashier.username, "Fresh-Start-77").status_code == 200


def test_a_password_reset_keeps_the_password_rules_and_is_not_for_ones_own(login_as, canteen):
    cashier = factories.create_user("cashier", canteen=canteen)
    manager = login_as("manager")
    error = assert_error(
        manager.post(f"/api/v1/users/{cashier.id}/password", json={"password": "12345678"}),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"password"}
    admin = login_as("admin")
    assert_error(
        admin.post(f"/api/v1/users/{admin.user.id}/password", json={"password": "Fresh-Start-77"}),
        409,
        "own_account",
    )


def test_the_user_list_is_found_by_username_role_and_status(login_as, canteen, db):
    factories.create_user("cashier", canteen=canteen, username="wang.cashier")
    gone = factories.create_user("cashier", canteen=canteen, username="li.cashier")
    factories.create_user("volunteer", canteen=canteen, username="wang.volunteer")
    gone.active = False
    db.session.commit()
    manager = login_as("manager")

    def names(query: str) -> list[str]:
        return sorted(
            u["username"] for u in manager.get(f"/api/v1/users?{query}").get_json()["items"]
        )

    assert names("q=WANG") == ["wang.cashier", "wang.volunteer"]
    assert names("role=cashier") == ["li.cashier", "wang.cashier"]
    assert names("active=false") == ["li.cashier"]
    assert names("q=wang&role=volunteer&active=true") == ["wang.volunteer"]
    # LIKE's wildcards are only characters here.
    assert names("q=%25") == [] and names("q=_") == []


def test_an_unknown_username_costs_a_password_check_like_a_known_one(db, monkeypatch):
    """No answer comes back sooner for a username that does not exist."""
    factories.create_user("admin", username="known", password="green-tea-42")
    checked = []
    real_check = services.check_password_hash
    monkeypatch.setattr(
        services, "check_password_hash", lambda *args: checked.append(args) or real_check(*args)
    )
    for username in ("known", "nobody-here"):
        with pytest.raises(services.WrongCredentials):
            services.authenticate(username, "guess-1234")
    assert len(checked) == 2
    # Against a hash of the configured method, so it costs what a real one does.
    assert checked[1][0].startswith(current_app.config["PASSWORD_HASH_METHOD"].split(":")[0])
