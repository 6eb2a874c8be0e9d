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
