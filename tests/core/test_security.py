"""HTTP hardening: security headers and the content security policy, session cookies,
CSRF on every form and every cookie-carried API call, tokens that end, password rules."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Config, ProductionConfig, TestingConfig
from mealservice import create_app
from mealservice.accounts.models import ApiToken
from mealservice.accounts.passwords import password_problems
from mealservice.core.auth import hash_token
from tests import factories
from tests.core.test_errors import assert_error
from tests.core.test_pages import log_in, page_token
from tests.pages import PASSWORD, browser_as, html_of, post_form

ROOT = Path(__file__).resolve().parents[2]


def policy_of(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


# Security headers and the content security policy


@pytest.mark.parametrize("path", ["/login", "/api/v1/canteens", "/api/v1/openapi.json"])
def test_every_response_carries_the_security_headers(anonymous, path):
    response = anonymous.client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=(self)" in response.headers["Permissions-Policy"]
    policy = policy_of(response)
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"


def test_the_pages_allow_no_inline_script_or_style(client):
    policy = policy_of(client.get("/login"))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert "unsafe-inline" not in " ".join(policy.values())
    assert "unsafe-eval" not in " ".join(policy.values())


def test_the_api_docs_page_has_its_own_policy(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    policy = policy_of(response)
    # Swagger UI styles elements as it renders; its scripts are still our own files only.
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["script-src"] == "'self'"
    assert "<script>" not in response.get_data(as_text=True)


SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
EVENT_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("template", sorted(ROOT.glob("templates/**/*.html")), ids=lambda p: p.name)
def test_no_template_holds_inline_script_style_or_handlers(template):
    html = template.read_text()
    for attributes in SCRIPT_TAG.findall(html):
        # A script runs only from a file; JSON data blocks are not run.
        assert "src=" in attributes or 'type="application/json"' in attributes, template
    assert "<style" not in html, template
    assert not re.search(r'\sstyle="', html), template
    assert not EVENT_ATTRIBUTE.search(html), template
    assert "javascript:" not in html, template


# Session cookies


def session_cookie(response) -> str:
    return next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))


def test_the_session_cookie_is_http_only_and_same_site(client, db):
    user = factories.create_user("admin", password=PASSWORD)
    token = page_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Plain HTTP during development and tests: a Secure cookie would never come back.
    assert "Secure" not in cookie


def test_the_secure_flag_is_a_setting_on_by_default_in_production(monkeypatch, database_url):
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert Config.SESSION_COOKIE_SECURE is False
    app = create_app(TestingConfig, DATABASE_URL=database_url, SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/login")
    assert "Secure" in session_cookie(response)


# CSRF: every form, and every API call a page script makes with the session cookie


def page_rules(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/api/"):
            yield rule


def url_for_rule(rule) -> str:
    return re.sub(r"<[^>]+>", "1", rule.rule)


def test_every_form_is_refused_without_its_csrf_token(app, db):
    admin = browser_as(app, "admin")
    rules = list(page_rules(app))
    assert len(rules) > 20, "the page forms were found"
    for rule in rules:
        response = admin.post(url_for_rule(rule), data={"anything": "1"})
        assert response.status_code == 403, rule.rule
        assert "The form has expired" in response.get_data(as_text=True), rule.rule


def test_the_login_form_too_is_refused_without_its_csrf_token(client, db):
    user = factories.create_user("admin", password=PASSWORD)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/canteens").status_code == 302, "not signed in"


def api_writes(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("post", "put", "patch", "delete"):
                yield (
                    method.upper(),
                    re.sub(r"\{[^}]+\}", "1", path).replace("/holidays/1", "/holidays/2026-10-01"),
                )


def test_every_api_write_with_the_session_cookie_needs_the_csrf_token(app, db):
    """Page scripts call the API with the session cookie: without the page's token, every
    write is refused before anything else is looked at."""
    admin = browser_as(app, "admin")
    writes = list(api_writes(app))
    assert len(writes) > 50
    for method, path in writes:
        if path == "/api/v1/auth/token" and method == "POST":
            continue  # logging in carries no session and changes nothing of anyone's
        response = admin.open(path, method=method, json={})
        assert_error(response, 403, "csrf_failed")


def test_with_the_csrf_token_a_page_script_call_goes_through(app, db, canteen):
    admin = browser_as(app, "admin")
    token = page_token(admin, "/canteens")
    response = admin.patch(
        f"/api/v1/canteens/{canteen.id}",
        json={"phone": "0571-1234"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_json()


def test_a_bearer_token_call_needs_no_csrf_token(login_as, canteen):
    admin = login_as("admin")
    response = admin.patch(f"/api/v1/canteens/{canteen.id}", json={"phone": "0571-1234"})
    assert response.status_code == 200


# Tokens that expire and can be revoked; sessions that can be ended


def token_row(db, token):
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))


def test_logging_out_revokes_the_token_used(anonymous, db):
    user = factories.create_user("admin", username="leaver", password="green-tea-42")
    token = anonymous.post(
        "/api/v1/auth/token", json={"username": "leaver", "password": "green-tea-42"}
    ).get_json()["token"]
    other = factories.token_for(user)
    bearer = {"Authorization": f"Bearer {token}"}
    assert anonymous.client.delete("/api/v1/auth/token", headers=bearer).status_code == 204
    assert token_row(db, token).revoked_at is not None
    assert_error(anonymous.client.get("/api/v1/users", headers=bearer), 401, "unauthorized")
    # Other devices stay signed in.
    ok = anonymous.client.get("/api/v1/users", headers={"Authorization": f"Bearer {other}"})
    assert ok.status_code == 200


def test_logging_out_needs_a_login(anonymous):
    assert_error(anonymous.client.delete("/api/v1/auth/token"), 401, "unauthorized")


def test_revoking_access_ends_every_token_and_browser_session(app, login_as, canteen, db):
    cashier_page = browser_as(app, "cashier", canteen=canteen)
    cashier = cashier_page.user
    tokens = [factories.token_for(cashier) for _ in range(2)]
    assert cashier_page.get("/cashier").status_code == 200
    manager = login_as("manager")
    response = manager.post(f"/api/v1/users/{cashier.id}/revoke-access")
    assert response.status_code == 200 and response.get_json() == {"revoked_tokens": 2}
    for token in tokens:
        assert token_row(db, token).revoked_at is not None
    # The browser's signed cookie is still there, but its session epoch has passed.
    assert cashier_page.get("/cashier").status_code == 302
    assert "/login" in cashier_page.get("/cashier").headers["Location"]


def test_a_manager_may_not_end_an_officials_access(login_as, district, db):
    official = factories.create_user("official", district=district)
    manager = login_as("manager")
    # The official is outside the manager's canteen: not found, as any account there.
    assert_error(manager.post(f"/api/v1/users/{official.id}/revoke-access"), 404, "not_found")


def test_an_official_may_not_end_a_peer_officials_access(login_as, district, db):
    peer = factories.create_user("official", district=district)
    official = login_as("official")
    # Officials do not manage officials: such accounts are not found, as when reading them.
    assert_error(official.post(f"/api/v1/users/{peer.id}/revoke-access"), 404, "not_found")


# Password rules


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Ab1-xyz", "too_short"),
        ("alllowercase", "too_few_kinds"),
        ("ALLCAPS-ONLY", "too_few_kinds"),
        ("12345678", "too_common"),
        ("P@ssw0rd", "too_common"),
        ("Woaini1314", "too_common"),
        ("Zhang.Wei2026", "from_username"),
        ("2026-iewgnahz", "from_username"),
        ("aaaaaaaa", "too_common"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, problem):
    assert problem in password_problems(password, "zhangwei")


@pytest.mark.parametrize("password", ["steamed-bun-42", "Lao-Wang_canteen9", "西湖区食堂2026a"])
def test_good_passwords_pass(password):
    assert password_problems(password, "zhangwei") == []


def test_creating_an_account_with_a_weak_password_names_the_field(login_as, canteen):
    manager = login_as("manager")
    response = manager.post(
        "/api/v1/users", json={"username": "new-till", "password": "password1", "role": "cashier"}
    )
    error = assert_error(response, 422, "validation_error")
    assert "too common" in " ".join(error["fields"]["password"])


def test_changing_ones_password_checks_the_old_and_the_rules_and_ends_other_logins(anonymous, db):
    user = factories.create_user("admin", username="changer", password="green-tea-42")
    kept = factories.token_for(user)
    other = factories.token_for(user)
    bearer = {"Authorization": f"Bearer {kept}"}

    wrong = anonymous.client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-it-42", "new_password": "jasmine-tea-43"},
        headers=bearer,
    )
    assert "current_password" in assert_error(wrong, 422, "validation_error")["fields"]
    weak = anonymous.client.post(
        "/api/v1/auth/password",
        json={"current_password": "green-tea-42", "new_password": "qwerty123"},
        headers=bearer,
    )
    assert "new_password" in assert_error(weak, 422, "validation_error")["fields"]

    changed = anonymous.client.post(
        "/api/v1/auth/password",
        json={"current_password": "green-tea-42", "new_password": "jasmine-tea-43"},
        headers=bearer,
    )
    assert changed.status_code == 200 and changed.get_json() == {"revoked_tokens": 1}
    assert token_row(db, other).revoked_at is not None
    assert token_row(db, kept).revoked_at is None
    old = anonymous.post(
        "/api/v1/auth/token", json={"username": "changer", "password": "green-tea-42"}
    )
    assert_error(old, 401, "unauthorized")
    new = anonymous.post(
        "/api/v1/auth/token", json={"username": "changer", "password": "jasmine-tea-43"}
    )
    assert new.status_code == 200


def test_a_person_changes_their_password_on_the_page(app, db):
    person = browser_as(app, "family")
    other_device = app.test_client()
    log_in(other_device, person.user.username, PASSWORD)
    assert other_device.get("/orders").status_code == 200
    page = "/account/password"
    assert "Change password" in html_of(person.get(page))

    wrong = post_form(
        person,
        page,
        {
            "current_password": "nope-nope-1",
            "new_password": "jasmine-tea-43",
            "repeated": "jasmine-tea-43",
        },
        page,
    )
    assert wrong.status_code == 422 and "The current password is wrong." in html_of(wrong)
    weak = post_form(
        person,
        page,
        {"current_password": PASSWORD, "new_password": "qwerty123", "repeated": "qwerty123"},
        page,
    )
    assert weak.status_code == 422 and "too common" in html_of(weak)
    differ = post_form(
        person,
        page,
        {
            "current_password": PASSWORD,
            "new_password": "jasmine-tea-43",
            "repeated": "jasmine-tea-44",
        },
        page,
    )
    assert differ.status_code == 422 and "The two new passwords differ." in html_of(differ)

    done = post_form(
        person,
        page,
        {
            "current_password": PASSWORD,
            "new_password": "jasmine-tea-43",
            "repeated": "jasmine-tea-43",
        },
        page,
    )
    assert done.status_code == 302
    landing = person.get(done.headers["Location"], follow_redirects=True)
    assert "Your password is changed" in html_of(landing)
    # This browser stays signed in; the other device is signed out.
    assert person.get("/orders").status_code == 200
    assert other_device.get("/orders").status_code == 302
    assert log_in(other_device, person.user.username, "jasmine-tea-43").status_code == 302
