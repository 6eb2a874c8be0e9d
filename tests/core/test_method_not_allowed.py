"""405 says what is allowed: every API path answers a method it does not take with 405 in
the error format and an `Allow` header naming the methods it does take; pages too."""

import re

from tests.core.test_errors import assert_error
from tests.core.test_fuzz_api import world  # noqa: F401 (a fixture)

METHODS = ("get", "put", "post", "patch", "delete")


def test_every_api_path_answers_a_method_it_does_not_take_with_allow(
    login_as,
    world,  # noqa: F811
):
    admin = login_as("admin")
    document = admin.client.get("/api/v1/openapi.json").get_json()
    names = {**world, "user_id": [admin.user.id]}
    checked = 0
    for template, operations in document["paths"].items():
        declared = {method for method in operations if method in METHODS}
        path = re.sub(r"{(\w+)}", lambda m: str(names[m.group(1)][0]), template)
        for method in sorted(set(METHODS) - declared):
            response = admin.client.open(
                path, method=method.upper(), headers={"Authorization": f"Bearer {admin.token}"}
            )
            assert_error(response, 405, "method_not_allowed")
            allowed = {name.strip().lower() for name in response.headers["Allow"].split(",")}
            assert declared <= allowed, (method, template, allowed)
            checked += 1
    assert checked > 150


def test_a_page_answers_a_method_it_does_not_take_with_allow(client):
    # A safe method: an unsafe one without the form's CSRF token is refused before routing.
    response = client.get("/logout")
    assert response.status_code == 405
    assert sorted(response.headers["Allow"].replace(" ", "").split(",")) == ["OPTIONS", "POST"]
    assert response.mimetype == "text/html"


def test_a_path_that_names_nothing_is_a_404_without_allow(login_as):
    # Werkzeug judges the method before the id; the id 0 names no claim.
    response = login_as("admin").get("/api/v1/claims/0/samples")
    assert_error(response, 404, "not_found")
    assert "Allow" not in response.headers
