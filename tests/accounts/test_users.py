import pytest
from sqlalchemy import select

from mealservice.accounts.models import User
from tests import factories
from tests.conftest import ApiClient
from tests.core.test_errors import assert_error

ALL_ROLES = ["admin", "official", "manager", "cashier", "family", "elder", "volunteer", "inspector"]

# The "users" row of API.md's table.
CREATABLE = {
    "admin": set(ALL_ROLES),
    "official": {"manager", "cashier", "family", "elder", "volunteer", "inspector"},
    "manager": {"cashier", "volunteer"},
    "cashier": set(),
    "family": set(),
    "elder": set(),
    "volunteer": set(),
    "inspector": set(),
}


def new_user_body(role: str, canteen, district, elder=None) -> dict:
    body = {"username": f"new-{role}", "password": "a-long-passw0rd", "role": role}
    if role in ("family", "elder") and elder is not None:
        body["elder_ids"] = [elder.id]
    if role in ("manager", "cashier", "volunteer"):
        body["canteen_id"] = canteen.id
    if role in ("official", "inspector"):
        body["district"] = district.code
    return body


@pytest.mark.parametrize("actor", ALL_ROLES)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_create_whom(login_as, canteen, district, elder, actor, role):
    response = login_as(actor).post(
        "/api/v1/users", json=new_user_body(role, canteen, district, elder)
    )
    if role in CREATABLE[actor]:
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["role"] == role and body["username"] == f"new-{role}"
        assert "password" not in body and "password_hash" not in body
    else:
        assert_error(response, 403, "forbidden")


def test_canteen_staff_belong_to_their_canteens_district(login_as, canteen, district):
    body = (
        login_as("official")
        .post("/api/v1/users", json=new_user_body("cashier", canteen, district))
        .get_json()
    )
    assert body["canteen_id"] == canteen.id
    assert body["district"] == district.code


def test_a_manager_creates_cashiers_for_their_own_canteen_by_default(login_as, canteen):
    response = login_as("manager").post(
        "/api/v1/users",
        json={"username": "new-cashier", "password": "a-long-passw0rd", "role": "cashier"},
    )
    assert response.status_code == 201
    assert response.get_json()["canteen_id"] == canteen.id


def test_a_manager_cannot_staff_another_canteen(login_as, district):
    other = factories.create_canteen(district)
    response = login_as("manager").post(
        "/api/v1/users",
        json={
            "username": "x-cashier",
            "password": "a-long-passw0rd",
            "role": "cashier",
            "canteen_id": other.id,
        },
    )
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"canteen_id": ["No such canteen in your scope."]}


def test_an_official_cannot_place_users_in_another_district(login_as, db):
    elsewhere = factories.create_district()
    other_canteen = factories.create_canteen(elsewhere)
    official = login_as("official")
    error = assert_error(
        official.post(
            "/api/v1/users",
            json={
                "username": "x-cashier",
                "password": "a-long-passw0rd",
                "role": "cashier",
                "canteen_id": other_canteen.id,
            },
        ),
        422,
        "validation_error",
    )
    assert "canteen_id" in error["fields"]
    error = assert_error(
        official.post(
            "/api/v1/users",
            json={
                "username": "x-insp",
                "password": "a-long-passw0rd",
                "role": "inspector",
                "district": elsewhere.code,
            },
        ),
        422,
        "validation_error",
    )
    assert "district" in error["fields"]


def test_a_taken_username_is_a_409(login_as, canteen, district):
    admin = login_as("admin")
    body = new_user_body("cashier", canteen, district)
    assert admin.post("/api/v1/users", json=body).status_code == 201
    error = assert_error(admin.post("/api/v1/users", json=body), 409, "username_taken")
    assert error["detail"] == {"username": "new-cashier"}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"password": "short"}, "password", "Use at least 8 characters."),
        ({"username": "a b"}, "username", "Use 3–64 letters, digits, or _ . @ -."),
        ({"role": "chef"}, "role", None),
        ({"canteen_id": "7"}, "canteen_id", "Not a valid integer."),
    ],
)
def test_bad_user_fields_are_named(login_as, canteen, district, change, field, reason):
    body = {**new_user_body("cashier", canteen, district), **change}
    error = assert_error(
        login_as("admin").post("/api/v1/users", json=body), 422, "validation_error"
    )
    assert field in error["fields"]
    if reason:
        assert error["fields"][field] == [reason]


@pytest.mark.parametrize(("role", "field"), [("cashier", "canteen_id"), ("official", "district")])
def test_an_admin_must_say_where_staff_belong(login_as, role, field):
    body = {"username": f"lost-{role}", "password": "a-long-passw0rd", "role": role}
    error = assert_error(
        login_as("admin").post("/api/v1/users", json=body), 422, "validation_error"
    )
    assert field in error["fields"]


def test_user_lists_are_scoped(login_as, district, canteen, db):
    other_canteen = factories.create_canteen(district)
    mine = factories.create_user("cashier", canteen=canteen, username="mine")
    theirs = factories.create_user("cashier", canteen=other_canteen, username="theirs")
    elsewhere = factories.create_user(
        "official", district=factories.create_district(), username="far"
    )

    def names(client):
        return {u["username"] for u in client.get("/api/v1/users?per_page=200").get_json()["items"]}

    manager_sees = names(login_as("manager"))
    assert "mine" in manager_sees and "theirs" not in manager_sees
    official_sees = names(login_as("official"))
    assert {"mine", "theirs"} <= official_sees and "far" not in official_sees
    assert {"mine", "theirs", "far"} <= names(login_as("admin"))
    manager = login_as("manager")
    assert manager.get(f"/api/v1/users/{mine.id}").status_code == 200
    assert_error(manager.get(f"/api/v1/users/{theirs.id}"), 404, "not_found")
    assert_error(login_as("official").get(f"/api/v1/users/{elsewhere.id}"), 404, "not_found")


def test_user_lists_are_paged(login_as, canteen, db):
    for n in range(3):
        factories.create_user("cashier", canteen=canteen, username=f"page-{n}")
    manager = login_as("manager")
    first = manager.get("/api/v1/users?per_page=2").get_json()
    assert len(first["items"]) == 2 and first["next"] == 2
    last = manager.get("/api/v1/users?per_page=2&page=2").get_json()
    assert last["next"] is None
    assert {u["id"] for u in first["items"]}.isdisjoint({u["id"] for u in last["items"]})


def test_create_user_on_the_command_line(runner, app, db):
    result = runner.invoke(
        args=["create-user", "chief", "--role", "admin", "--password", "long-enough-1"]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin chief" in result.output
    token = ApiClient(app.test_client()).post(
        "/api/v1/auth/token", json={"username": "chief", "password": "long-enough-1"}
    )
    assert token.status_code == 200 and token.get_json()["role"] == "admin"


def test_create_user_on_the_command_line_explains_refusals(runner, db):
    result = runner.invoke(
        args=["create-user", "lost", "--role", "cashier", "--password", "long-enough-1"]
    )
    assert result.exit_code != 0
    assert "canteen_id: A cashier account needs a canteen." in result.output
    short = runner.invoke(args=["create-user", "shorty", "--role", "admin", "--password", "short"])
    assert short.exit_code != 0 and "at least 8 characters" in short.output


def test_users_see_only_the_roles_they_may_create(login_as, district, canteen, db):
    factories.create_user("official", district=district, username="peer-official")
    factories.create_user("manager", canteen=canteen, username="peer-manager")
    factories.create_user("cashier", canteen=canteen, username="their-cashier")

    def roles(client):
        return {u["role"] for u in client.get("/api/v1/users?per_page=200").get_json()["items"]}

    assert roles(login_as("official")) <= CREATABLE["official"]
    assert "manager" in roles(login_as("official"))
    assert roles(login_as("manager")) <= CREATABLE["manager"]
    assert "cashier" in roles(login_as("manager"))
    peer = db.session.scalar(select(User).where(User.username == "peer-official"))
    assert_error(login_as("official").get(f"/api/v1/users/{peer.id}"), 404, "not_found")


def test_a_canteen_in_another_district_than_the_one_named_is_refused(login_as, canteen, db):
    other = factories.create_district()
    body = {
        "username": "mismatch",
        "password": "a-long-passw0rd",
        "role": "cashier",
        "canteen_id": canteen.id,
        "district": other.code,
    }
    error = assert_error(
        login_as("admin").post("/api/v1/users", json=body), 422, "validation_error"
    )
    assert error["fields"] == {"district": ["The canteen lies in another district."]}
