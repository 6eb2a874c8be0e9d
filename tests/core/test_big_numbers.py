"""Numbers too large to be anything: a JSON integer of thousands of digits (past Python's
own limit on reading one), ids and amounts past what a column holds, in bodies, query
strings and paths. Each is the caller's mistake, answered 422 (404 for a path), never 500."""

import re

import pytest

from mealservice.core.api import MAX_JSON_INTEGER_DIGITS
from mealservice.core.schemas import MAX_ID
from tests.core.test_errors import assert_error
from tests.core.test_fuzz_api import world  # noqa: F401 (a fixture)
from tests.pages import browser_as

HUGE = "9" * 5000
TOO_LARGE = f"A number has more than {MAX_JSON_INTEGER_DIGITS} digits: too large for any field."


def json_operations(client) -> list[tuple[str, str]]:
    """Every (method, path template) of the OpenAPI document that takes a JSON body."""
    document = client.get("/api/v1/openapi.json").get_json()
    return [
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def test_a_json_integer_of_thousands_of_digits_is_refused_by_every_json_operation(
    login_as,
    world,  # noqa: F811
):
    admin = login_as("admin")
    operations = json_operations(admin.client)
    assert len(operations) > 30
    refused = []
    for method, template in operations:
        path = re.sub(r"{(\w+)}", lambda m: str(world[m.group(1)][0]), template)
        response = admin.client.open(
            path,
            method=method.upper(),
            data='{"n": ' + HUGE + "}",
            content_type="application/json",
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        if response.status_code == 403:
            continue  # an operation of other roles (a rating), refused before its body is read
        error = assert_error(response, 422, "validation_error")
        assert error["fields"] == {"json": [TOO_LARGE]}, (method, path)
        refused.append(path)
    assert "/api/v1/auth/token" in refused
    assert len(refused) >= len(operations) - 2


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/elders?page={HUGE}", "page"),
        (f"/api/v1/elders?page={2**70}", "page"),
        (f"/api/v1/canteens?near=30.2,120.1&radius_m={HUGE}", "radius_m"),
        (f"/api/v1/claims?per_page={2**63}", "per_page"),
    ],
)
def test_a_query_number_too_large_names_its_parameter(login_as, path, field):
    error = assert_error(login_as("admin").get(path), 422, "validation_error")
    assert set(error["fields"]) == {field}


@pytest.mark.parametrize("number", [HUGE, str(2**70), str(2**31)])
def test_a_path_id_no_column_holds_names_nothing(login_as, number):
    assert_error(login_as("admin").get(f"/api/v1/elders/{number}"), 404, "not_found")


@pytest.mark.parametrize("number", [2**70, 2**63, 2**31])
def test_a_body_id_or_amount_past_its_column_names_the_field(login_as, canteen, elder, number):
    manager = login_as("manager")
    error = assert_error(
        manager.post(f"/api/v1/canteens/{canteen.id}/scans", json={"elder_id": number}),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"elder_id"}
    error = assert_error(
        manager.post(
            f"/api/v1/canteens/{canteen.id}/top-ups",
            json={"amount_fen": number, "method": "cash", "elder_id": elder.id},
        ),
        422,
        "validation_error",
    )
    assert "amount_fen" in error["fields"]


@pytest.mark.parametrize("number", [HUGE, str(2**70), "\u00b2"])
def test_pages_take_a_number_too_large_as_no_number(app, db, number):
    admin = browser_as(app, "admin")
    # A page number: the first page.
    assert admin.get(f"/claims?page={number}").status_code == 200
    assert admin.get(f"/access-log?elder_id={number}").status_code == 200
    # An id: nothing by that id.
    assert admin.get(f"/balances?elder={number}").status_code == 404
    assert admin.get(f"/my-drops?run={number}").status_code == 200


def integers_taken(document) -> list[tuple[str, dict]]:
    """Every integer an operation takes (path, query string, body), with where it is."""
    schemas = document["components"]["schemas"]
    found = []

    def walk(schema: dict, where: str, seen: frozenset) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], where, seen | {name})
            return
        if schema.get("type") == "integer":
            found.append((where, schema))
        for name, field in schema.get("properties", {}).items():
            walk(field, f"{where}.{name}", seen)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                walk(schema[key], f"{where}[]", seen)
        for key in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(key, []):
                walk(part, where, seen)

    for path, operations in document["paths"].items():
        for parameter in operations.get("parameters", []):
            walk(parameter.get("schema", {}), f"{path} {parameter['name']}", frozenset())
        for method, operation in operations.items():
            if method == "parameters":
                continue
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                walk(parameter.get("schema", {}), f"{label} {parameter['name']}", frozenset())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema", {}), f"{label} body", frozenset())
    return found


def test_every_integer_an_operation_takes_is_bounded_to_what_a_column_holds(client):
    integers = integers_taken(client.get("/api/v1/openapi.json").get_json())
    assert len(integers) > 100
    unbounded = [
        where
        for where, schema in integers
        if not schema.get("maximum", 2**31) <= MAX_ID or schema.get("minimum") is None
    ]
    assert unbounded == []
