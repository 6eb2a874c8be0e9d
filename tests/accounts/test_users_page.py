"""The users page: admins, officials and managers find the accounts they look after, make
new ones, deactivate and reactivate them (asked first), and reset a forgotten password;
the login page says an account is deactivated only to its right password."""

import pytest
from sqlalchemy import select

from mealservice.accounts.models import User
from tests import factories
from tests.core.test_pages import log_in
from tests.pages import PASSWORD, browser_as, html_of, post_form


@pytest.fixture
def manager_page(app, canteen):
    return browser_as(app, "manager", canteen=canteen)


def user_named(db, username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.mark.parametrize(
    ("role", "has_link"),
    [
        ("admin", True),
        ("official", True),
        ("manager", True),
        ("cashier", False),
        ("volunteer", False),
        ("family", False),
        ("inspector", False),
    ],
)
def test_the_users_link_is_shown_to_those_who_may_open_the_page(
    app, district, canteen, role, has_link
):
    page = browser_as(app, role, district=district, canteen=canteen)
    home = html_of(page.get("/canteens"))
    assert ('data-testid="nav-users"' in home) is has_link
    assert page.get("/users").status_code == (200 if has_link else 403)


def test_the_page_is_chinese_by_default(app, canteen):
    manager = factories.create_user("manager", canteen=canteen, password=PASSWORD)
    client = app.test_client()
    log_in(client, manager.username, PASSWORD)
    html = html_of(client.get("/users"))
    assert "用户管理" in html and "新建账号" in html


def test_a_manager_sees_the_canteens_cashiers_and_volunteers_only(
    manager_page, canteen, district, db
):
    mine = factories.create_user("cashier", canteen=canteen, username="my.cashier")
    factories.create_user("volunteer", canteen=canteen, username="my.volunteer")
    factories.create_user("cashier", canteen=factories.create_canteen(district), username="far")
    factories.create_user("official", district=district, username="the.official")
    mine.active = False
    db.session.commit()

    html = html_of(manager_page.get("/users"))

    assert "my.cashier" in html and "my.volunteer" in html
    assert "far" not in html.split('data-testid="users"')[1] and "the.official" not in html
    assert f'data-testid="deactivated-{mine.id}"' in html
    found = html_of(manager_page.get("/users?q=VOLUN&status=active"))
    assert "my.volunteer" in found and "my.cashier" not in found
    gone = html_of(manager_page.get("/users?status=deactivated&role=cashier"))
    assert "my.cashier" in gone and "my.volunteer" not in gone


def test_a_manager_makes_a_cashier_for_the_canteen_on_the_page(manager_page, canteen, db):
    response = post_form(
        manager_page,
        "/users",
        {"username": "new.cashier", "password": "Bright-Rice-42", "role": "cashier"},
        "/users",
    )
    assert response.status_code == 302
    made = user_named(db, "new.cashier")
    assert made.role == "cashier" and made.canteen_id == canteen.id
    page = html_of(manager_page.get(response.headers["Location"]))
    assert "The account new.cashier is made." in page


def test_an_official_places_a_volunteer_at_a_meal_place_of_the_district(app, district, canteen, db):
    official = browser_as(app, "official", district=district)
    response = post_form(
        official,
        "/users",
        {
            "username": "new.volunteer",
            "password": "Bright-Rice-42",
            "role": "volunteer",
            "canteen_id": str(canteen.id),
        },
        "/users",
    )
    assert response.status_code == 302
    assert user_named(db, "new.volunteer").canteen_id == canteen.id


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"username": "a b"}, "username", "Use 3–64 letters"),
        ({"username": ""}, "username", "Fill this in."),
        ({"password": "12345678"}, "password", "too common"),
        ({"role": "admin"}, "role", "Not a valid choice"),
        ({"role": "official"}, "role", "Not a valid choice"),
        ({"elder_ids": "7; 8"}, "elder_ids", "digits separated by commas"),
        ({"elder_ids": "99999"}, "elder_ids", "elders in your reach"),
    ],
)
def test_bad_input_is_named_at_its_field_and_nothing_is_made(
    manager_page, db, change, field, words
):
    data = {"username": "some.cashier", "password": "Bright-Rice-42", "role": "cashier"}
    response = post_form(manager_page, "/users", {**data, **change}, "/users")
    html = html_of(response)
    assert response.status_code == 422
    assert f'data-testid="error-{field}"' in html and words in html
    assert user_named(db, "some.cashier") is None


def test_a_taken_username_is_named_on_the_page(manager_page, canteen):
    factories.create_user("cashier", canteen=canteen, username="taken.name")
    response = post_form(
        manager_page,
        "/users",
        {"username": "taken.name", "password": "Bright-Rice-42", "role": "cashier"},
        "/users",
    )
    assert response.status_code == 409
    assert 'data-testid="error-username"' in html_of(response)
    assert "This username is taken." in html_of(response)


def test_the_page_forms_need_their_csrf_token(manager_page, canteen, db):
    cashier = factories.create_user("cashier", canteen=canteen)
    response = manager_page.post(f"/users/{cashier.id}/deactivate")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, cashier.id).active


def test_deactivating_asks_first_then_ends_the_accounts_sessions(app, manager_page, canteen, db):
    cashier_page = browser_as(app, "cashier", canteen=canteen)
    cashier = cashier_page.user
    user_page = html_of(manager_page.get(f"/users/{cashier.id}"))
    assert 'data-testid="deactivate"' in user_page

    asked = html_of(manager_page.get(f"/users/{cashier.id}/deactivate"))
    assert f"Deactivate {cashier.username}" in asked
    db.session.expire_all()
    assert db.session.get(User, cashier.id).active, "opening the question changes nothing"

    done = post_form(manager_page, f"/users/{cashier.id}/deactivate", {}, f"/users/{cashier.id}")
    assert done.status_code == 302
    shown = html_of(manager_page.get(done.headers["Location"]))
    assert f"The account {cashier.username} is deactivated." in shown
    assert "Deactivated: cannot log in" in shown
    db.session.expire_all()
    assert not db.session.get(User, cashier.id).active
    assert "/login" in cashier_page.get("/cashier").headers["Location"]

    again = post_form(manager_page, f"/users/{cashier.id}/deactivate", {}, f"/users/{cashier.id}")
    assert again.status_code == 409
    assert "already deactivated" in html_of(again)


def test_reactivating_on_the_page_lets_the_account_log_in_again(app, manager_page, canteen, db):
    cashier = factories.create_user("cashier", canteen=canteen, password=PASSWORD)
    cashier.active = False
    db.session.commit()
    assert f"Reactivate {cashier.username}" in html_of(
        manager_page.get(f"/users/{cashier.id}/reactivate")
    )
    done = post_form(manager_page, f"/users/{cashier.id}/reactivate", {}, f"/users/{cashier.id}")
    assert done.status_code == 302
    assert log_in(app.test_client(), cashier.username, PASSWORD).status_code == 302


def test_a_password_reset_on_the_page_signs_the_person_out(app, manager_page, canteen, db):
    cashier_page = browser_as(app, "cashier", canteen=canteen)
    cashier = cashier_page.user
    path = f"/users/{cashier.id}"
    differ = post_form(
        manager_page,
        f"{path}/password",
        {"new_password": "Fresh-Start-77", "repeated": "Fresh-Start-78"},
        path,
    )
    assert differ.status_code == 422 and "The two new passwords differ." in html_of(differ)
    weak = post_form(
        manager_page, f"{path}/password", {"new_password": "aaaaaaaa", "repeated": "aaaaaaaa"}, path
    )
    assert weak.status_code == 422 and 'data-testid="error-new_password"' in html_of(weak)

    done = post_form(
        manager_page,
        f"{path}/password",
        {"new_password": "Fresh-Start-77", "repeated": "Fresh-Start-77"},
        path,
    )

    assert done.status_code == 302
    assert "/login" in cashier_page.get("/cashier").headers["Location"]
    assert log_in(app.test_client(), cashier.username, PASSWORD).status_code == 401
    assert log_in(app.test_client(), cashier.username, "Fresh-Start-77").status_code == 302


def test_ones_own_account_page_offers_no_deactivation_or_reset(app, db):
    admin = browser_as(app, "admin")
    html = html_of(admin.get(f"/users/{admin.user.id}"))
    assert "This is your own account." in html
    assert 'data-testid="deactivate"' not in html and 'data-testid="reset-password"' not in html
    refused = post_form(admin, f"/users/{admin.user.id}/deactivate", {}, "/users")
    assert refused.status_code == 409 and "Not on your own account" in html_of(refused)


def test_accounts_out_of_reach_are_not_found_on_the_page(manager_page, district):
    far = factories.create_user("cashier", canteen=factories.create_canteen(district))
    assert manager_page.get(f"/users/{far.id}").status_code == 404
    assert post_form(manager_page, f"/users/{far.id}/deactivate", {}, "/users").status_code == 404


# The login page


def test_the_login_page_says_deactivated_only_to_the_right_password(client, canteen, db):
    gone = factories.create_user("cashier", canteen=canteen, username="gone.cashier")
    gone.active = False
    db.session.commit()
    client.get("/lang/en")

    right = log_in(client, "gone.cashier", "correct-horse-9")
    wrong = log_in(client, "gone.cashier", "guess-1234")
    unknown = log_in(client, "nobody.here", "guess-1234")

    assert right.status_code == 401 and "This account is deactivated." in html_of(right)
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in html_of(wrong)
    assert "deactivated" not in html_of(wrong)
