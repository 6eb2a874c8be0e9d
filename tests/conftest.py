"""Fixtures: the app on a database built by the migrations, a database rolled back after
every test, API clients per role, and a live server on a committed database.

The suite runs on SQLite; with TEST_DATABASE_URL set it runs on that database instead."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import flask_babel
import flask_migrate
import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import scoped_session, sessionmaker

from config import TestingConfig
from mealservice import create_app
from mealservice.extensions import db as _db
from mealservice.oversight import audit
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


def empty_database(engine) -> None:
    """Drop everything, the migration history included, so the migrations build from nothing."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            _db.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


class TestClient(FlaskClient):
    """Requests in a test share the `db` fixture's app context; start each with an empty
    `g` and no cached translations, as a fresh app context per request would in production."""

    def open(self, *args, **kwargs):
        if has_app_context():
            for name in list(g):
                g.pop(name)
            flask_babel.refresh()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(TestingConfig, DATABASE_URL=database_url)
    app.test_client_class = TestClient
    with app.app_context():
        empty_database(_db.engine)
        flask_migrate.upgrade()
    yield app
    # Closed here, not left to the garbage collector once later apps have replaced it.
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """A session inside a transaction that is rolled back after the test.

    Commits in the code under test become savepoint releases, so each test starts from
    the empty schema whatever it did."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        _db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


class ApiClient:
    """A test client that speaks JSON with a bearer token."""

    def __init__(self, client, token: str | None = None, user=None):
        self.client = client
        self.token = token
        self.user = user

    def _headers(self, headers):
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def get(self, path, **kwargs):
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.client.post(
            path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs
        )

    def patch(self, path, json=None, **kwargs):
        return self.client.patch(
            path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs
        )

    def put(self, path, json=None, **kwargs):
        return self.client.put(
            path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs
        )

    def delete(self, path, **kwargs):
        return self.client.delete(
            path, headers=self._headers(kwargs.pop("headers", None)), **kwargs
        )


@pytest.fixture
def district(db):
    return factories.create_district()


@pytest.fixture
def canteen(db, district):
    return factories.create_canteen(district)


@pytest.fixture
def elder(db, canteen, district):
    return factories.create_elder(district, canteen.community)


@pytest.fixture
def login_as(app, db, district, canteen, elder):
    """`login_as("manager")` → an API client with a token of a user of that role, placed in
    the test district and canteen, family and elder accounts linked to the test elder
    (pass district=, canteen= or elders= to place it elsewhere)."""

    def login(role: str, **placement) -> ApiClient:
        placement = {"district": district, "canteen": canteen, "elders": [elder], **placement}
        user = factories.create_user(role, **placement)
        return ApiClient(app.test_client(), factories.token_for(user), user)

    return login


@pytest.fixture
def anonymous(app, db):
    return ApiClient(app.test_client())


# The live server: the real service in its own processes, on a committed database.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def empty_tables(app) -> None:
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as conn, audit.protection_lifted(conn, audit=False):
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())


class LiveServer:
    def __init__(self, app, database_url: str, workers: int = 2, threads: int = 8):
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "MEALSERVICE_ENV": "testing",
            "DATABASE_URL": database_url,
            "TEST_DATABASE_URL": database_url,
        }
        # Kept open for the server's lifetime; stop() closes it.
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "2",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(self.url + "/api/v1/openapi.json", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        self.log.seek(0)
        raise RuntimeError("the live server did not start:\n" + self.log.read())

    def server_log(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def live_server(app, database_url):
    server = LiveServer(app, database_url)
    try:
        yield server
    finally:
        server.stop()
        empty_tables(app)


@pytest.fixture
def committed(app):
    """An app context whose changes are committed, for tests that use the live server."""
    with app.app_context():
        yield _db
        _db.session.remove()
