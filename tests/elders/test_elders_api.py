import logging
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mealservice.core.db import db as _db
from mealservice.core.idnumber import make_id_number, mask_id_number
from mealservice.elders.models import Elder
from mealservice.elders.schemas import elder_schema_for
from tests import factories
from tests.conftest import empty_tables
from tests.core.test_errors import assert_error


def register(client, district, **fields):
    return client.post("/api/v1/elders", json={**factories.elder_data(district), **fields})


def test_an_official_registers_an_elder_and_sees_only_the_masked_number(login_as, district):
    body = factories.elder_data(district, id_number="11010519491231002x", name="张秀英")
    response = login_as("official").post("/api/v1/elders", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["id_number_masked"] == "**************002X"
    assert created["age"] == 76, "on 2026-11-25, born 1949-12-31"
    assert "birth_date" not in created and "1949" not in response.get_data(as_text=True)
    assert created["hukou"] == "local" and "hukou_district" not in created
    assert created["status"] == "active"
    assert created["categories"] == ["living_alone"]
    assert created["consent"] == {
        "given_at": "2026-11-01T01:30:00+00:00",
        "recorded_by": "社区工作人员王芳",
    }
    assert "11010519491231002" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("12345", "An ID number has 18 characters."),
        ("110105194912310021", "The check character does not match; is a digit mistyped?"),
        ("11010519491332002X", "Characters 7-14 are not a real birth date."),
    ],
)
def test_a_bad_id_number_is_refused_with_its_reason(login_as, district, number, reason):
    error = assert_error(
        register(login_as("official"), district, id_number=number), 422, "validation_error"
    )
    assert error["fields"] == {"id_number": [reason]}


def test_the_same_person_twice_is_a_409_whatever_the_case_of_x(login_as, district):
    official = login_as("official")
    assert register(official, district, id_number="11010519491231002X").status_code == 201
    error = assert_error(
        register(official, district, id_number="11010519491231002x"), 409, "duplicate_elder"
    )
    assert "**************002X" in error["message"]
    assert "11010519491231002" not in str(error) and "1101" not in str(error)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"categories": ["rich"]}, "categories.0"),
        ({"categories": ["living_alone", "living_alone"]}, "categories"),
        ({"ability_level": "fine"}, "ability_level"),
        ({"phone": "call me"}, "phone"),
        ({"consent": {"recorded_by": "x"}}, "consent.given_at"),
        (
            {"consent": {"given_at": "2099-01-01T00:00:00+08:00", "recorded_by": "x"}},
            "consent.given_at",
        ),
        ({"consent": None}, "consent"),
        ({"name": ""}, "name"),
        ({"community": "nowhere"}, "community"),
        ({"hukou_district": "000000"}, "hukou_district"),
    ],
)
def test_bad_elder_fields_are_named(login_as, district, change, field):
    error = assert_error(
        register(login_as("official"), district, **change), 422, "validation_error"
    )
    assert field in error["fields"], error["fields"]


def test_an_official_cannot_register_elders_of_another_district(login_as):
    elsewhere = factories.create_district()
    error = assert_error(register(login_as("official"), elsewhere), 422, "validation_error")
    assert "hukou_district" in error["fields"]


def test_a_status_change_needs_its_date_and_active_clears_it(login_as, elder):
    official = login_as("official")
    url = f"/api/v1/elders/{elder.id}"
    error = assert_error(official.patch(url, json={"status": "deceased"}), 422, "validation_error")
    assert "status_since" in error["fields"]
    moved = official.patch(url, json={"status": "moved", "status_since": "2026-11-20"}).get_json()
    assert (moved["status"], moved["status_since"]) == ("moved", "2026-11-20")
    back = official.patch(url, json={"status": "active"}).get_json()
    assert (back["status"], back["status_since"]) == ("active", None)


def test_diet_notes_and_details_can_be_corrected(login_as, elder):
    changed = (
        login_as("official")
        .patch(
            f"/api/v1/elders/{elder.id}",
            json={
                "diet_notes": "软食，需要帮忙端餐盘",
                "categories": ["minimum_allowance"],
                "phone": "139 0000 1111",
            },
        )
        .get_json()
    )
    assert changed["diet_notes"] == "软食，需要帮忙端餐盘"
    assert changed["categories"] == ["minimum_allowance"]
    assert changed["phone"] == "139 0000 1111"


def test_a_manager_sees_the_districts_elders_without_contact_details(login_as, elder):
    body = login_as("manager").get(f"/api/v1/elders/{elder.id}").get_json()
    assert body["id_number_masked"] == elder.id_number_masked
    assert body["diet_notes"] == "糖尿病，少糖"
    assert not {"phone", "address", "consent", "location"} & set(body)
    assert not {"birth_date", "hukou_district"} & set(body)
    assert (body["age"], body["hukou"]) == (elder.age, "local")


@pytest.mark.parametrize("role", ["official", "manager", "family", "elder"])
def test_only_an_admin_sees_the_hukou_district_code(login_as, elder, role):
    body = login_as(role).get(f"/api/v1/elders/{elder.id}").get_json()
    assert body["hukou"] == "local"
    assert "hukou_district" not in body and "birth_date" not in body
    listed = login_as(role).get("/api/v1/elders").get_json()["items"]
    assert all("hukou_district" not in item and "birth_date" not in item for item in listed)
    admin = login_as("admin").get(f"/api/v1/elders/{elder.id}").get_json()
    assert (admin["hukou_district"], admin["hukou"]) == (elder.hukou_district, "local")
    assert "birth_date" not in admin


def test_an_update_answers_in_the_callers_projection(login_as, elder):
    changed = (
        login_as("official")
        .patch(f"/api/v1/elders/{elder.id}", json={"diet_notes": "软食"})
        .get_json()
    )
    assert changed["diet_notes"] == "软食"
    assert "hukou_district" not in changed and "birth_date" not in changed


def test_the_hukou_is_elsewhere_for_a_district_that_does_not_pay_for_the_elder(db, elder):
    other = factories.create_district()
    assert elder.hukou_seen_from(elder.hukou_district) == "local"
    assert elder.hukou_seen_from(other.code) == "elsewhere"
    assert elder.hukou_seen_from(None) == "local", "without a district: where the elder lives"


def test_family_see_their_own_elders_only(login_as, district, elder):
    stranger = factories.create_elder(district)
    family = login_as("family")
    assert [e["id"] for e in family.get("/api/v1/elders").get_json()["items"]] == [elder.id]
    assert family.get(f"/api/v1/elders/{elder.id}").get_json()["phone"] == elder.phone
    assert_error(family.get(f"/api/v1/elders/{stranger.id}"), 404, "not_found")
    assert_error(family.patch(f"/api/v1/elders/{elder.id}", json={"phone": "1"}), 403, "forbidden")


def test_an_elder_sees_themself(login_as, elder):
    own = login_as("elder").get("/api/v1/elders").get_json()["items"]
    assert [e["id"] for e in own] == [elder.id]


def test_elders_are_found_by_name_and_community(login_as, district, elder):
    other_place = factories.create_community(district)
    factories.create_elder(district, other_place, name="李桂兰")
    official = login_as("official")
    by_name = official.get("/api/v1/elders?q=桂兰").get_json()["items"]
    assert [e["name"] for e in by_name] == ["李桂兰"]
    by_community = official.get(f"/api/v1/elders?community={other_place.code}").get_json()["items"]
    assert [e["name"] for e in by_community] == ["李桂兰"]


def test_family_accounts_are_linked_to_elders_in_scope_only(login_as, district, elder):
    official = login_as("official")
    body = {
        "username": "daughter",
        "password": "a-long-passw0rd",
        "role": "family",
        "elder_ids": [elder.id],
    }
    created = official.post("/api/v1/users", json=body).get_json()
    assert created["elder_ids"] == [elder.id]
    stranger = factories.create_elder(factories.create_district())
    error = assert_error(
        official.post(
            "/api/v1/users", json={**body, "username": "son", "elder_ids": [stranger.id]}
        ),
        422,
        "validation_error",
    )
    assert error["fields"] == {"elder_ids": [f"No such elder in your scope: {stranger.id}."]}


@pytest.mark.parametrize(
    ("role", "elder_ids", "reason"),
    [
        ("elder", [], "An elder's account is linked to exactly one elder."),
        ("admin", ["E"], "A admin account is linked to no elders."),
    ],
)
def test_elder_links_follow_the_role(login_as, elder, role, elder_ids, reason):
    ids = [elder.id if i == "E" else i for i in elder_ids]
    body = {
        "username": f"link-{role}",
        "password": "a-long-passw0rd",
        "role": role,
        "elder_ids": ids,
    }
    error = assert_error(
        login_as("admin").post("/api/v1/users", json=body), 422, "validation_error"
    )
    assert error["fields"] == {"elder_ids": [reason]}


# The full ID number must exist nowhere but encrypted: not in the database file or dump,
# not in the logs.

SECRET_NUMBER = make_id_number("330106", date(1946, 5, 17), 123)


@pytest.fixture
def stored_elder(committed, app):
    """An elder committed to the database file, as what the test reads back."""
    district = factories.create_district()
    data = factories.elder_data(district, id_number=SECRET_NUMBER)
    data["consent"]["given_at"] = datetime.fromisoformat(data["consent"]["given_at"])
    elder = factories.create_elder_service(None, data)
    committed.session.commit()
    seen = {"name": elder.name, "masked": elder.id_number_masked}
    # Reading after the commit opened a transaction; end it so nothing holds a lock.
    committed.session.remove()
    yield seen
    empty_tables(app)


def test_the_id_number_is_nowhere_in_the_database_file_or_dump(app, stored_elder, database_url):
    assert stored_elder["masked"] == mask_id_number(SECRET_NUMBER)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with app.app_context():
            _db.engine.dispose()
        raw = b"".join(
            Path(url.database + suffix).read_bytes()
            for suffix in ("", "-wal")
            if Path(url.database + suffix).exists()
        )
    else:
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "pg_dump is needed to check the PostgreSQL dump"
        raw = subprocess.run(
            [
                pg_dump,
                "--data-only",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or os.environ.get("USER", "postgres"),
                url.database,
            ],
            capture_output=True,
            check=True,
        ).stdout
    assert stored_elder["name"].encode() in raw, "the file or dump holds the elder"
    assert SECRET_NUMBER.encode() not in raw
    assert SECRET_NUMBER[:17].encode() not in raw


def test_the_id_number_never_reaches_the_logs(login_as, district, caplog):
    caplog.set_level(logging.DEBUG)
    # Statement logging shows every value sent to the database, so it is checked too.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    official = login_as("official")
    created = register(official, district, id_number=SECRET_NUMBER).get_json()
    official.get(f"/api/v1/elders/{created['id']}")
    register(official, district, id_number=SECRET_NUMBER)  # the duplicate refusal
    register(official, district, id_number=SECRET_NUMBER[:-1] + "1")  # the bad check character
    assert mask_id_number(SECRET_NUMBER) in caplog.text, "registrations are logged, masked"
    assert SECRET_NUMBER[:17] not in caplog.text
    # Nor its parts: the birth date, or the region (the district code) beside the mask.
    assert SECRET_NUMBER[6:14] not in caplog.text and "1946-05-17" not in caplog.text
    for line in caplog.messages:
        assert not ("**" in line and district.code in line), line


# The emergency contact and the structured diet needs


def contact() -> dict:
    return {
        "name": "周丽",
        "relation": "女儿",
        "phone": "13600007777",
        "consent": {"given_at": "2026-11-01T09:30:00+08:00", "recorded_by": "社区工作人员王芳"},
    }


def test_the_emergency_contact_is_shown_to_managers_but_not_to_cashiers(
    login_as, district, canteen
):
    body = factories.elder_data(
        district,
        canteen.community,
        allergies=["花生"],
        diet_needs=["soft", "low_salt"],
        emergency_contact=contact(),
    )
    created = login_as("official").post("/api/v1/elders", json=body)
    assert created.status_code == 201, created.get_json()
    elder_id = created.get_json()["id"]
    assert created.get_json()["diet_needs"] == ["low_salt", "soft"]

    seen_by_manager = login_as("manager").get(f"/api/v1/elders/{elder_id}").get_json()
    assert seen_by_manager["emergency_contact"]["phone"] == "13600007777"
    assert seen_by_manager["allergies"] == ["花生"]
    # Whoever serves the meal reads the diet, not whom to call.
    elder = _db.session.get(Elder, elder_id)
    for role in ("cashier", "volunteer"):
        shown = elder_schema_for(login_as(role).user).dump(elder)
        assert "emergency_contact" not in shown and shown["allergies"] == ["花生"]


def test_a_contact_without_consent_or_an_unknown_diet_need_is_refused(login_as, district, canteen):
    no_consent = {key: value for key, value in contact().items() if key != "consent"}
    body = factories.elder_data(
        district, canteen.community, emergency_contact=no_consent, diet_needs=["spicy"]
    )
    response = login_as("official").post("/api/v1/elders", json=body)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert "emergency_contact.consent" in fields and "diet_needs.0" in fields


def test_patch_null_removes_the_emergency_contact(login_as, district, canteen):
    official = login_as("official")
    body = factories.elder_data(district, canteen.community, emergency_contact=contact())
    elder_id = official.post("/api/v1/elders", json=body).get_json()["id"]
    patched = official.patch(f"/api/v1/elders/{elder_id}", json={"emergency_contact": None})
    assert patched.status_code == 200 and patched.get_json()["emergency_contact"] is None


def test_the_api_finds_elders_by_the_phones_last_four_digits(login_as, district, canteen):
    found = factories.create_elder(district, canteen.community, phone="13912345678")
    factories.create_elder(district, canteen.community, phone="13912340000")
    listed = login_as("official").get("/api/v1/elders", query_string={"phone_last4": "5678"})
    assert [item["id"] for item in listed.get_json()["items"]] == [found.id]
