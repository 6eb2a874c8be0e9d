"""Request body limits: a body over its limit is a 413 in the error format (a page for
people), decided before the body is read, whether or not it declares its length."""

import io
import json

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from mealservice.delivery import services as delivery_services
from tests import factories
from tests.core.test_errors import assert_error
from tests.core.test_pages import log_in
from tests.delivery import install_fake_platform, signed_headers

LIMIT = 1024 * 1024
TWO_MB = 2 * 1024 * 1024


class CountingStream(io.BytesIO):
    """A request body of `size` bytes that counts how much of it was read."""

    def __init__(self, size: int, head: bytes = b'{"username": "'):
        super().__init__(head + b"a" * (size - len(head)))
        self.read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer):
        count = super().readinto(buffer)
        self.read_bytes += count
        return count

    def readline(self, size=-1):
        data = super().readline(size)
        self.read_bytes += len(data)
        return data


def big_json(size: int = TWO_MB) -> bytes:
    return json.dumps({"username": "a" * size, "password": "x"}).encode()


def assert_too_large(response, limit: int = LIMIT) -> dict:
    error = assert_error(response, 413, "payload_too_large")
    assert error["detail"]["limit_bytes"] == limit
    assert str(limit) in error["message"], "the message names the limit"
    return error


def test_a_2_mb_login_without_a_token_is_refused_with_413(anonymous):
    response = anonymous.client.post(
        "/api/v1/auth/token", data=big_json(), content_type="application/json"
    )
    assert_too_large(response)


def test_a_2_mb_body_from_a_logged_in_caller_is_refused_with_413(login_as):
    response = login_as("official").post(
        "/api/v1/elders", data=big_json(), content_type="application/json"
    )
    assert_too_large(response)


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(anonymous):
    stream = CountingStream(TWO_MB)
    response = anonymous.client.post(
        "/api/v1/auth/token",
        input_stream=stream,
        content_type="application/json",
        headers={"Content-Length": str(TWO_MB)},
    )
    assert_too_large(response)
    assert stream.read_bytes == 0


def test_a_body_without_a_declared_length_is_cut_off_at_the_limit(anonymous):
    # Chunked: the server (gunicorn, Werkzeug's) ends the stream and says so.
    stream = CountingStream(TWO_MB)
    response = anonymous.client.post(
        "/api/v1/auth/token",
        input_stream=stream,
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_too_large(response)
    assert stream.read_bytes <= LIMIT + 64 * 1024, "read no further than the limit"


def test_a_body_under_the_limit_is_read_as_usual(anonymous):
    response = anonymous.client.post(
        "/api/v1/auth/token", data=big_json(LIMIT - 1000), content_type="application/json"
    )
    assert response.status_code in (401, 422), response.get_data(as_text=True)[:300]


def test_the_limit_is_the_max_content_length_setting(app, anonymous, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100)
    response = anonymous.post("/api/v1/auth/token", {"username": "a" * 100, "password": "x"})
    assert_too_large(response, 100)


# Webhooks: refused before the signature is computed over the body.


@pytest.fixture
def no_webhook_work(monkeypatch):
    calls = []
    monkeypatch.setattr(
        delivery_services, "receive_webhook", lambda *args, **kwargs: calls.append(args)
    )
    return calls


def test_a_webhook_over_the_limit_is_413_not_401(app, anonymous, monkeypatch, no_webhook_work):
    install_fake_platform(app, monkeypatch)
    raw = b'{"event_id": "' + b"x" * TWO_MB + b'"}'
    response = anonymous.client.post(
        "/api/v1/delivery/webhooks/fake", data=raw, headers=signed_headers(b"not this body")
    )
    assert_too_large(response)
    assert no_webhook_work == [], "nothing was hashed or parsed"


def test_a_chunked_webhook_over_the_limit_is_413(app, anonymous, monkeypatch):
    install_fake_platform(app, monkeypatch)
    hashed = []
    real = delivery_services.receive_webhook
    monkeypatch.setattr(
        delivery_services,
        "receive_webhook",
        lambda platform, headers, raw, *rest: (
            hashed.append(len(raw)) or real(platform, headers, raw)
        ),
    )
    response = anonymous.client.post(
        "/api/v1/delivery/webhooks/fake",
        input_stream=CountingStream(TWO_MB, b'{"event_id": "'),
        content_type="application/json",
        headers=signed_headers(b"not this body"),
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_too_large(response)
    assert hashed == []


# Pages: a page for people, in their language.


def test_a_page_form_over_the_limit_gets_a_page_that_says_so(client):
    response = client.post("/login", data={"username": "a" * TWO_MB, "password": "x"})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "超过了本页面可接收的大小" in html and "1 MB" in html


def test_the_page_says_it_in_english_after_the_switch(client):
    client.get("/lang/en")
    response = client.post("/login", data={"username": "a" * TWO_MB, "password": "x"})
    assert "larger than this page takes (at most 1 MB)" in response.get_data(as_text=True)


# The elder import takes a workbook: its own, larger limit.


def multipart(fields: dict) -> dict:
    """A multipart body as bytes: the test client would spool a large one to a file of its
    own that nobody closes."""
    boundary, body = encode_multipart(fields)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def a_file(size: int) -> FileStorage:
    return FileStorage(io.BytesIO(b"\0" * size), "elders.xlsx")


def upload(official, size: int):
    form = {"file": a_file(size), "consent_confirmed": "true"}
    return official.post("/api/v1/elders/import", **multipart(form))


def test_the_import_takes_a_file_larger_than_the_api_limit(app, login_as):
    response = upload(login_as("official"), TWO_MB)
    # Read and judged as a workbook (it is none), not refused for its size.
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["file"]


def test_the_import_refuses_a_request_over_its_own_limit(app, login_as):
    limit = app.config["IMPORT_MAX_REQUEST_BYTES"]
    assert limit > app.config["IMPORT_MAX_FILE_BYTES"] > LIMIT
    response = upload(login_as("official"), limit + 1)
    assert_too_large(response, limit)


def test_a_chunked_import_over_its_limit_is_cut_off(app, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_REQUEST_BYTES", TWO_MB)
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    stream = CountingStream(3 * 1024 * 1024, head)
    response = login_as("official").post(
        "/api/v1/elders/import",
        input_stream=stream,
        content_type=f"multipart/form-data; boundary={boundary}",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_too_large(response, TWO_MB)
    assert stream.read_bytes <= TWO_MB + 64 * 1024


def test_the_import_page_over_its_limit_gets_a_page_that_names_it(app, client, district):
    factories.create_user(
        "official", district=district, username="limit-official", password="green-tea-42"
    )
    log_in(client, "limit-official", "green-tea-42")
    too_big = app.config["IMPORT_MAX_REQUEST_BYTES"] + 1
    form = {"file": a_file(too_big), "consent": "y"}
    response = client.post("/elders/import", **multipart(form))
    assert response.status_code == 413
    assert "5.06 MB" in response.get_data(as_text=True)
