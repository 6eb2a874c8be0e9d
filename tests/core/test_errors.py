import pytest

from mealservice.core.errors import flatten_messages
from mealservice.places import services as place_services


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, "the API never answers with an HTML page"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_unknown_api_route_is_a_json_not_found(anonymous):
    assert_error(anonymous.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_a_json_error(login_as):
    admin = login_as("admin")
    assert_error(
        admin.client.delete(
            "/api/v1/districts", headers={"Authorization": f"Bearer {admin.token}"}
        ),
        405,
        "method_not_allowed",
    )


def test_a_body_that_is_not_json_is_a_validation_error_naming_the_body(login_as):
    admin = login_as("admin")
    response = admin.post("/api/v1/districts", data="{not json", content_type="application/json")
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"json": ["Invalid JSON body."]}


def test_a_json_list_instead_of_an_object_is_a_validation_error(login_as):
    error = assert_error(
        login_as("admin").post("/api/v1/districts", json=[1, 2]), 422, "validation_error"
    )
    assert "_schema" in error["fields"]


def test_nested_fields_are_named_with_dots(login_as, district):
    admin = login_as("admin")
    response = admin.post("/api/v1/canteens", json={"location": {"lat": 91}})
    error = assert_error(response, 422, "validation_error")
    assert error["fields"]["location.lat"] == [
        "Must be greater than or equal to -90 and less than or equal to 90."
    ]
    assert error["fields"]["location.lng"] == ["Missing data for required field."]


def test_unknown_fields_are_refused_by_name(login_as):
    response = login_as("admin").post(
        "/api/v1/districts", json={"code": "330199", "name": "x", "colour": "red"}
    )
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"colour": ["Unknown field."]}


def test_bad_query_parameters_are_validation_errors(login_as):
    error = assert_error(login_as("admin").get("/api/v1/canteens?page=0"), 422, "validation_error")
    assert "page" in error["fields"]


def test_an_unexpected_failure_is_a_json_500_without_internals(login_as, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(place_services, "find_canteens", explode)
    error = assert_error(login_as("admin").get("/api/v1/canteens"), 500, "internal_error")
    assert "secret internals" not in error["message"]
    assert "unhandled error" in caplog.text


def test_pages_show_an_html_error_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "不存在" in response.get_data(as_text=True)


def test_pages_send_people_who_are_not_logged_in_to_the_login_page(client):
    response = client.get("/canteens?community=x")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/canteens")


@pytest.mark.parametrize(
    ("messages", "flat"),
    [
        ({"a": ["bad"]}, {"a": ["bad"]}),
        ({"a": {"b": ["bad"]}}, {"a.b": ["bad"]}),
        ({"a": {0: {"b": ["bad"]}}}, {"a.0.b": ["bad"]}),
        (["whole"], {"_schema": ["whole"]}),
    ],
)
def test_marshmallow_messages_are_flattened(messages, flat):
    assert flatten_messages(messages) == flat


def test_text_with_nul_characters_is_refused_by_field(login_as, district):
    response = login_as("admin").post(
        f"/api/v1/districts/{district.code}/communities",
        json={"code": "nul-1", "name": "a\x00b", "street": "s"},
    )
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"name": ["Text may not contain NUL characters."]}


@pytest.mark.parametrize(
    "path", ["/api/v1/canteens/99999999999999999999", "/api/v1/canteens/0", "/api/v1/users/-1"]
)
def test_ids_beyond_any_column_are_simply_not_found(login_as, path):
    assert_error(login_as("admin").get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"canteen_id": 10**20}, "canteen_id"),
        ({"monthly_operating_subsidy_fen": 10**20}, "monthly_operating_subsidy_fen"),
    ],
)
def test_numbers_too_large_to_store_are_named(login_as, canteen, district, body, field):
    admin = login_as("admin")
    if field == "canteen_id":
        user = {"username": "big-id", "password": "a-long-passw0rd", "role": "cashier", **body}
        error = assert_error(admin.post("/api/v1/users", json=user), 422, "validation_error")
    else:
        error = assert_error(
            admin.patch(f"/api/v1/canteens/{canteen.id}", json=body), 422, "validation_error"
        )
    assert field in error["fields"]


def test_a_huge_page_number_is_a_validation_error(login_as):
    error = assert_error(
        login_as("admin").get("/api/v1/users?page=10000000000"), 422, "validation_error"
    )
    assert "page" in error["fields"]


def test_a_value_the_database_refuses_is_a_422_not_a_500(login_as, monkeypatch):
    from sqlalchemy.exc import DataError

    def refuse(*args, **kwargs):
        raise DataError("INSERT ...", {}, Exception("value out of range"))

    monkeypatch.setattr(place_services, "find_canteens", refuse)
    assert_error(login_as("admin").get("/api/v1/canteens"), 422, "validation_error")


class _DatabaseFailure(Exception):
    def __init__(self, message: str, sqlstate: str | None = None):
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("message", "sqlstate", "why"),
    [
        ("canceling statement due to statement timeout", "57014", "request_deadline"),
        ("canceling statement due to lock timeout", "55P03", "lock_timeout"),
        ("database is locked", None, "database_locked"),
    ],
)
def test_a_request_that_ran_out_of_time_is_a_503_to_try_again(
    login_as, monkeypatch, message, sqlstate, why
):
    from sqlalchemy.exc import OperationalError

    def wait_too_long(*args, **kwargs):
        raise OperationalError("SELECT ...", {}, _DatabaseFailure(message, sqlstate))

    monkeypatch.setattr(place_services, "find_canteens", wait_too_long)
    response = login_as("admin").get("/api/v1/canteens")
    error = assert_error(response, 503, "busy")
    assert error["detail"] == {"why": why}
    assert response.headers["Retry-After"] == "5"


def test_any_other_database_failure_is_still_a_500(login_as, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def fail(*args, **kwargs):
        raise OperationalError("SELECT ...", {}, _DatabaseFailure("server closed the connection"))

    monkeypatch.setattr(place_services, "find_canteens", fail)
    assert_error(login_as("admin").get("/api/v1/canteens"), 500, "internal_error")
