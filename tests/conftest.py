"""Fixtures: the service's clock set for every test, the app on a database built by the
migrations, a database rolled back after every test, API clients per role, a live server
on a committed database, and the demo district seeded once for the session.

The suite runs on SQLite; with TEST_DATABASE_URL set it runs on that database instead."""

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path

import flask_babel
import flask_migrate
import pytest
import time_machine
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, make_url, select, text, update
from sqlalchemy.orm import scoped_session, sessionmaker
from sqlalchemy.pool import NullPool

from config import TestingConfig, normalise_database_url
from mealservice import create_app
from mealservice.core import audit, clock, stamps
from mealservice.core.db import db as _db
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


# The modules that take longest, measured by `--durations`, handed to the workers first:
# pytest-xdist's loadscope deals modules out in collection order, and these (the top
# level's come last in it) would otherwise end the run on one worker while the other
# waits.
LONGEST_FIRST = (
    "tests/test_demo_any_day.py",
    "tests/core/test_fuzz_api.py",
    "tests/test_demo.py",
    "tests/delivery/test_delivery_faults.py",
    "tests/test_money_model.py",
    "tests/test_soak.py",
    "tests/test_multinode.py",
    "tests/core/test_permissions.py",
)


def pytest_collection_modifyitems(items):
    rank = {module: n for n, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


# Every test runs at a stated instant, never at the real date: this one unless the test
# states its own with `@pytest.mark.now("2027-01-01T08:00:00+08:00")`. A Wednesday morning
# in Hangzhou, after the demo's reference date, with no month's end, holiday or weekend near.
DEFAULT_INSTANT = "2026-11-25T10:00:00+08:00"


def instant_of(node) -> str:
    marker = node.get_closest_marker("now")
    return marker.args[0] if marker else DEFAULT_INSTANT


@pytest.fixture(autouse=True)
def closing_the_engines_of_apps_the_test_made():
    """An app a test makes for itself (other settings, another database) is dropped with
    the test: its pooled connections are closed as the test ends, not whenever the
    garbage collector meets them in a later test, where psycopg's ResourceWarning for an
    open connection would fail that test instead. (Flask-SQLAlchemy keeps each app's
    engines in `_app_engines`, weakly, by app.)"""
    before = set(_db._app_engines.keys())
    yield
    for app in list(_db._app_engines.keys()):
        if app not in before:
            for engine in _db._app_engines.get(app, {}).values():
                engine.dispose()


@pytest.fixture(autouse=True)
def now(request):
    """The clock of this test, running on from its instant (time-machine moves the
    process's clock under core.clock); `now.move_to(...)` jumps it."""
    with travelling_to(instant_of(request.node)) as traveller:
        yield traveller


def travelling_to(instant: str):
    """The process's clock at `instant`, running on from there. The `now` fixture sets it
    for each test; a session or module fixture runs outside its tests' clocks, so one that
    seeds data or starts a process by the clock sets it itself."""
    return time_machine.travel(clock.parse_instant(instant), tick=True)


def clock_environment(**variables) -> dict:
    """The environment for a process a test starts (a live server, the scheduler, the
    simulator): its clock starts at this test's clock."""
    return {**os.environ, clock.ENVIRONMENT_VARIABLE: clock.utcnow().isoformat(), **variables}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    elif not worker:
        yield url
    else:
        # `pytest -n`: each worker on a database of its own on TEST_DATABASE_URL's server.
        name = f"{make_url(url).database}_{worker}"
        yield create_postgresql_database(url, name)
        drop_postgresql_database(url, name)


@contextmanager
def postgresql_server(url: str):
    """A connection outside any transaction to `url`'s server, to create databases."""
    engine = create_engine(
        normalise_database_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def create_postgresql_database(url: str, name: str, template: str | None = None) -> str:
    """The URL of a new database `name` on `url`'s server, a copy of `template` if given;
    one of the name left by an interrupted run is dropped first."""
    with postgresql_server(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(
            text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        )
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_postgresql_database(url: str, name: str) -> None:
    with postgresql_server(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
    with rolled_back(app) as database:
        yield database


@pytest.fixture
def statements(db):
    """The SQL statements run on the test's connection from here on, each on one line,
    for tests that hold a path to a number of statements."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


@contextmanager
def rolled_back(app):
    """`db` with the app's context pushed and its session inside a transaction that is
    rolled back at the end."""
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
    """Empty every table, and give every data stamp a new value: PostgreSQL's emptying
    fires no trigger, and the workers' caches (core.stamps) must not outlive the data."""
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as conn, audit.protection_lifted(conn, audit=False):
            for table in reversed(_db.metadata.sorted_tables):
                if table is not stamps.DataStamp.__table__:
                    conn.execute(table.delete())
            for name in conn.scalars(select(stamps.DataStamp.name)).all():
                conn.execute(
                    update(stamps.DataStamp)
                    .where(stamps.DataStamp.name == name)
                    .values(stamp=stamps.new_stamp())
                )


class LiveServer:
    def __init__(self, app, database_url: str, workers: int = 2, threads: int = 8):
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = clock_environment(
            MEALSERVICE_ENV="testing",
            DATABASE_URL=database_url,
            TEST_DATABASE_URL=database_url,
        )
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
        log = self.server_log()
        self.stop()
        raise RuntimeError("the live server did not start:\n" + log)

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


# The demo district, seeded once for the session: loading it takes some twenty seconds,
# copying it a fraction of one.


class DemoTemplate:
    """The demo district loaded by `seed-demo` at DEFAULT_INSTANT into a database of its
    own (a SQLite file, or a database on TEST_DATABASE_URL's PostgreSQL server), never
    written to again, and the committed copies of it that tests work on: SQLite's backup
    of the file, or PostgreSQL's CREATE DATABASE ... TEMPLATE."""

    def __init__(self, database_url: str, directory: Path):
        self.database_url = database_url
        self.directory = directory
        self.postgresql = make_url(database_url).get_backend_name() == "postgresql"
        self.copies: list[str] = []
        self.url = self._new_database("demo")
        self._seed()

    def copy(self) -> str:
        """The URL of a new copy of the seeded demo, committed and the caller's own."""
        url = self._new_database(f"demo_{len(self.copies) + 1}", template=self.url)
        self.copies.append(url)
        return url

    def drop(self, url: str) -> None:
        """Drop a copy once nothing is connected to it."""
        if self.postgresql:
            drop_postgresql_database(self.database_url, make_url(url).database)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(make_url(url).database + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        for url in [*self.copies, self.url]:
            self.drop(url)

    def _new_database(self, name: str, template: str | None = None) -> str:
        if self.postgresql:
            # Named after the suite's database, so suites on one server keep apart.
            return create_postgresql_database(
                self.database_url,
                f"{make_url(self.database_url).database}_{name}",
                template=make_url(template).database if template else None,
            )
        path = self.directory / f"{name}.sqlite"
        if template:
            source = sqlite3.connect(make_url(template).database)
            with closing(source), closing(sqlite3.connect(path)) as target:
                source.backup(target)
        return "sqlite:///" + str(path)

    def _seed(self) -> None:
        app = create_app(TestingConfig, DATABASE_URL=self.url)
        try:
            with travelling_to(DEFAULT_INSTANT), app.app_context():
                flask_migrate.upgrade()
                result = app.test_cli_runner().invoke(args=["seed-demo"])
                if result.exit_code != 0:
                    raise RuntimeError(
                        "seed-demo failed on an empty database:\n"
                        + result.output
                        + "".join(traceback.format_exception(result.exception))
                    )
        finally:
            # Nothing may stay connected to a PostgreSQL template.
            with app.app_context():
                _db.session.remove()
                _db.engine.dispose()


@pytest.fixture(scope="session")
def demo_template(database_url, tmp_path_factory):
    template = DemoTemplate(database_url, tmp_path_factory.mktemp("demo"))
    yield template
    template.close()


@pytest.fixture(scope="session")
def demo_app(demo_template):
    """An app on a copy of the seeded demo, for tests that read the demo in a transaction
    rolled back after each (`rolled_back(demo_app)`), as `app` is for the empty schema.
    Only for tests at DEFAULT_INSTANT: the demo's data depends on the day it was loaded."""
    app = create_app(TestingConfig, DATABASE_URL=demo_template.copy())
    app.test_client_class = TestClient
    yield app
    with app.app_context():
        _db.engine.dispose()
