"""The logs: one JSON object a line, a line per request by route template, and no
personal data in any of them, whatever the requests carried."""

import contextlib
import io
import json
import logging
import sys
from datetime import datetime

import pytest
from sqlalchemy import text

from mealservice.core import logs
from mealservice.core.db import db as _db
from mealservice.core.idnumber import make_id_number
from mealservice.elders import services as elder_services
from tests import factories

ID_NUMBER = make_id_number("330106", datetime(1941, 5, 17).date(), 437)
NAME = "欧阳秀兰"
PHONE = "13912345678"
ADDRESS = "西湖区保俶路77号2单元"


@pytest.fixture
def log_lines(app, caplog):
    """The lines the JSON formatter writes for everything logged during the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    caplog.set_level(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        root.removeHandler(handler)


def parsed(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "mealservice.requests"]


def test_a_counters_day_leaves_json_lines_without_personal_data(
    login_as, district, canteen, log_lines, monkeypatch
):
    official = login_as("official")
    body = factories.elder_data(
        district, canteen.community, name=NAME, id_number=ID_NUMBER, phone=PHONE, address=ADDRESS
    )
    created = official.post("/api/v1/elders", json=body)
    assert created.status_code == 201, created.get_json()
    elder_id = created.get_json()["id"]
    card = official.post(f"/api/v1/elders/{elder_id}/cards")
    assert card.status_code == 201, card.get_json()
    payload = card.get_json()["qr_payload"]

    factories.create_policy(district)
    factories.create_menu(canteen, district.local_today(), "lunch")
    cashier = login_as("cashier")
    scanned = cashier.post(
        f"/api/v1/canteens/{canteen.id}/scans", json={"qr_payload": payload, "slot": "lunch"}
    )
    assert scanned.status_code == 201, scanned.get_json()
    found = cashier.get(
        f"/api/v1/canteens/{canteen.id}/elder-lookup",
        query_string={"name": NAME, "phone_last4": PHONE[-4:]},
    )
    assert [item["id"] for item in found.get_json()["items"]] == [elder_id]
    invalid = official.post("/api/v1/elders", json={**body, "ability_level": "bedridden"})
    assert invalid.status_code == 422

    # A failure deep in a service, with the request's values bound into its SQL.
    def explode(actor, data):
        _db.session.execute(
            text("SELECT * FROM no_such_table WHERE name = :name AND phone = :phone"),
            {"name": data["name"], "phone": data["phone"]},
        )

    monkeypatch.setattr(elder_services, "create_elder", explode)
    failed = official.post("/api/v1/elders", json=body)
    assert failed.status_code == 500

    output = "\n".join(log_lines())
    for secret in (ID_NUMBER, ID_NUMBER[:17], NAME, PHONE, ADDRESS, payload):
        assert secret not in output, secret
    lines = parsed(log_lines())
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line)
        assert line["time"].endswith("Z") and datetime.fromisoformat(line["time"])
    requests = request_lines(lines)
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("POST", "/api/v1/elders", 201),
        ("POST", "/api/v1/elders/<id:elder_id>/cards", 201),
        ("POST", "/api/v1/canteens/<id:canteen_id>/scans", 201),
        ("GET", "/api/v1/canteens/<id:canteen_id>/elder-lookup", 200),
        ("POST", "/api/v1/elders", 422),
        ("POST", "/api/v1/elders", 500),
    ]
    assert {(r["user_id"], r["role"]) for r in requests} == {
        (official.user.id, "official"),
        (cashier.user.id, "cashier"),
    }
    assert all(isinstance(r["duration_ms"], float) for r in requests)
    # Every line of a request carries its id: the service's own lines and the 500's.
    lookup = requests[3]
    assert any(
        line["request_id"] == lookup["request_id"] and "look-up" in line["message"]
        for line in lines
    )
    [crash] = [line for line in lines if "unhandled error" in line["message"]]
    assert crash["request_id"] == requests[-1]["request_id"]
    assert "no_such_table" in crash["exception"] and "[parameters:" not in crash["exception"]


def test_a_personal_value_in_a_message_is_masked(app, log_lines):
    logging.getLogger("mealservice.test").info("careless: %s, %s", ID_NUMBER, PHONE)
    [line] = parsed(log_lines())
    assert ID_NUMBER not in line["message"] and PHONE not in line["message"]
    assert "*" * 14 + ID_NUMBER[-4:] in line["message"]
    assert line["request_id"] is None


def test_a_number_that_is_no_id_number_is_left_alone(app, log_lines):
    logging.getLogger("mealservice.test").info("reference 123456789012345678")
    assert "123456789012345678" in parsed(log_lines())[0]["message"]


def test_a_callers_request_id_is_kept_and_sent_back(client, log_lines):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-42.a"})
    assert response.headers["X-Request-ID"] == "lb-42.a"
    response = client.get("/no-such-page?name=" + NAME, headers={"X-Request-ID": "bad id!"})
    assert response.headers["X-Request-ID"] not in ("bad id!", "lb-42.a")
    [line] = request_lines(parsed(log_lines()))
    assert (line["route"], line["status"]) == (None, 404)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert NAME not in "\n".join(log_lines())


def test_a_successful_health_check_is_not_logged(client, log_lines):
    assert client.get("/healthz").status_code == 200
    assert request_lines(parsed(log_lines())) == []


def test_the_development_servers_request_line_is_dropped(app, log_lines):
    logs.configure_logging("text")
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.info('127.0.0.1 - - [x] "%s" %s %s\n', f"GET /?name={NAME} HTTP/1.1", "200", "-")
    werkzeug.info("Running on %s", "http://127.0.0.1:5000")
    assert [line["message"] for line in parsed(log_lines())] == ["Running on http://127.0.0.1:5000"]


@contextlib.contextmanager
def bare_root():
    """The root logger as a fresh process has it: no handlers, level WARNING (pytest's
    own handlers are set aside meanwhile)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers.clear()
    root.setLevel(logging.WARNING)
    try:
        yield root
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_configuring_writes_info_lines_to_stderr(log_format, monkeypatch):
    stderr = io.StringIO()
    with bare_root():
        assert logs.configure_logging(log_format)
        # Written to stderr as it is when the line is written, not when configured.
        monkeypatch.setattr(sys, "stderr", stderr)
        logging.getLogger("mealservice.test").info("scheduler started")
    line = stderr.getvalue().strip()
    if log_format == "json":
        assert json.loads(line)["message"] == "scheduler started"
    else:
        assert line.endswith("INFO mealservice.test: scheduler started")


def test_configuring_leaves_a_configured_root_alone():
    existing = logging.NullHandler()
    with bare_root() as root:
        root.addHandler(existing)
        assert not logs.configure_logging("json")
        assert root.handlers == [existing]


def test_an_unknown_log_format_is_refused():
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        logs.formatter_for("xml")


def test_production_logs_json_and_development_text(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOG_FORMAT", None)
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    assert logs.log_format_of(app) == "json"
    monkeypatch.setitem(app.config, "ENV_NAME", "development")
    assert logs.log_format_of(app) == "text"
    monkeypatch.setitem(app.config, "LOG_FORMAT", "json")
    assert logs.log_format_of(app) == "json"
