"""Path parameters: what each accepts is in the OpenAPI document, and a path whose
parameter names nothing is a 404 whatever the method."""

import pytest

from tests.core.test_errors import assert_error


@pytest.mark.parametrize(
    "path",
    ["/api/v1/claims/0/samples", "/api/v1/claims/2147483648/samples", "/api/v1/elders/0/cards"],
)
def test_an_id_no_route_takes_is_not_found_even_where_another_method_exists(login_as, path):
    admin = login_as("admin")
    assert_error(admin.get(path), 404, "not_found")


def test_a_wrong_method_on_a_path_that_exists_is_still_not_allowed(login_as):
    admin = login_as("admin")
    assert_error(admin.get("/api/v1/claims/1/review"), 405, "method_not_allowed")


def test_path_parameters_are_documented_by_what_their_route_accepts(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    parameters = {
        parameter["name"]: parameter["schema"]
        for item in spec["paths"].values()
        for parameter in item.get("parameters", [])
    }
    assert parameters["day"] == {"type": "string", "format": "date"}
    assert parameters["card_id"]["pattern"] == "^[0-9a-f]{16}$"
    assert parameters["code"]["pattern"] == "^[A-Za-z0-9_-]{1,20}$"
    assert parameters["canteen_id"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def test_every_operation_with_a_path_parameter_declares_not_found(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        if "{" in path:
            for method, operation in item.items():
                if method != "parameters":
                    assert "404" in operation["responses"], f"{method} {path}"
