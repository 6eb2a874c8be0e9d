import json
import re


def test_the_openapi_document_needs_no_login(anonymous):
    response = anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.")


def test_every_operation_declares_its_success_and_error_responses(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) >= 12
    for path, method, op in operations:
        statuses = set(op["responses"])
        assert any(s.startswith("2") for s in statuses), f"{method} {path} has no success response"
        assert any(s.startswith("4") for s in statuses), f"{method} {path} declares no error"
        assert "default" in statuses, f"{method} {path} has no default error"


def test_guarded_operations_declare_401_and_403(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if "x-permission" in op:
                assert {"401", "403"} <= set(op["responses"]), f"{method} {path}"


def test_error_responses_are_documented_with_the_one_error_body(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"code", "message", "fields", "detail"}
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert unauthorized["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_the_docs_need_no_login_and_load_nothing_from_other_hosts(anonymous):
    response = anonymous.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the docs page loads Swagger UI"
    assert "/static/js/api_docs.js" in sources, "Swagger UI is started by our own file"
    for source in sources:
        assert source.startswith(("/api/v1/docs/assets/", "/static/js/")), source
        asset = anonymous.get(source)
        assert asset.status_code == 200 and len(asset.data) > 200, source
        asset.close()


def test_the_document_states_the_rules_a_schema_can_carry(anonymous, app):
    """What the validators enforce, said where JSON Schema can say it, so that a client
    (or schemathesis, tests/core/test_fuzz_api.py) sending what the document allows is
    accepted: NUL-free text, one of card or elder, a nested object or null, the running
    app's platforms, refused values, distinct items, the key of a repeatable request."""
    schemas = anonymous.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["ElderIn"]["properties"]["name"]["pattern"] == "^[^\\u0000]*$"
    assert re.fullmatch(schemas["ElderIn"]["properties"]["name"]["pattern"], "王秀英")
    assert not re.fullmatch(schemas["ElderIn"]["properties"]["name"]["pattern"], "王\x00")
    assert {"oneOf": [{"required": ["qr_payload"]}, {"required": ["elder_id"]}]} in schemas[
        "ScanIn"
    ]["allOf"]
    location = schemas["ElderPatch"]["properties"]["location"]["anyOf"]
    assert {"type": "object", "nullable": True, "enum": [None]} in location
    platforms = schemas["RunIn"]["properties"]["platform"]["enum"]
    assert platforms == sorted(json.loads(app.config["DELIVERY_PLATFORMS"]))
    assert schemas["StandingOrderIn"]["properties"]["weekdays"]["not"] == {"enum": ["0000000"]}
    assert schemas["CanteenIn"]["properties"]["functions"]["uniqueItems"] is True
    checklist = schemas["ResultIn"]["properties"]["checklist"]
    assert checklist["additionalProperties"] is False and len(checklist["required"]) == 8
    assert "Asia/Shanghai" in schemas["DistrictIn"]["properties"]["timezone"]["enum"]


def test_the_idempotency_key_is_said_and_held_to_one_form(anonymous, login_as, canteen, elder):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    scan = spec["paths"]["/api/v1/canteens/{canteen_id}/scans"]["post"]
    (key,) = [p for p in scan["parameters"] if p["name"] == "Idempotency-Key"]
    pattern = key["schema"]["pattern"]
    assert re.fullmatch(pattern, "4f1c2a9e-terminal-7") and not re.fullmatch(pattern, "a b")
    response = login_as("cashier").post(
        f"/api/v1/canteens/{canteen.id}/scans",
        json={"elder_id": elder.id, "no_card_reason": "forgot the card"},
        headers={"Idempotency-Key": "two words"},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "Idempotency-Key": ["Use 1 to 100 visible ASCII characters."]
    }


def test_every_operation_that_takes_a_body_declares_413(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    taking = [
        (method, path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "requestBody" in op
    ]
    assert len(taking) > 30
    for method, path in taking:
        assert "413" in spec["paths"][path][method]["responses"], (method, path)
