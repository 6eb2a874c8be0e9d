"""GET /healthz: no login, one SELECT, 503 unless the database answers at the code's head."""

from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, event, text

from mealservice.core import health
from mealservice.core.db import db as _db
from mealservice.core.health import migration_head


def test_the_health_check_needs_no_login_and_names_the_revision(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    with app.app_context():
        head = migration_head()
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "revision": head,
        "head": head,
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_the_health_check_asks_the_database_one_question(app):
    statements = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        event.listen(_db.engine, "before_cursor_execute", note)
        try:
            assert app.test_client().get("/healthz").status_code == 200
        finally:
            event.remove(_db.engine, "before_cursor_execute", note)
    # (SQLite's BEGIN aside, which the engine issues itself.)
    assert [s for s in statements if s != "BEGIN"] == ["SELECT version_num FROM alembic_version"]


@pytest.fixture
def revision_set_back(app):
    """Change the committed revision, as a deployment whose migrations have not run."""

    def set_revision(revision: str) -> None:
        with _db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})

    with app.app_context():
        head = migration_head()
        try:
            yield set_revision
        finally:
            set_revision(head)


def test_a_database_behind_the_code_is_unavailable(app, revision_set_back):
    revision_set_back("0001")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["database"], body["revision"]) == ("unavailable", "ok", "0001")
    assert body["head"] != "0001"


@pytest.fixture
def database_at(app, monkeypatch):
    """Point the health check at another database (no second app: on PostgreSQL runs its
    pool would outlive the suite's)."""
    engines = []

    def point(url: str) -> None:
        engines.append(create_engine(url))
        monkeypatch.setattr(health, "db", SimpleNamespace(engine=engines[-1]))

    yield point
    for engine in engines:
        engine.dispose()


def test_a_database_never_migrated_is_unavailable(app, database_at, tmp_path):
    database_at(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["database"], body["revision"]) == ("unavailable", "ok", None)


def test_a_database_out_of_reach_is_unavailable(app, database_at):
    # Nothing listens on port 1: the connection is refused at once.
    database_at("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["database"], body["revision"]) == (
        "unavailable",
        "unreachable",
        None,
    )
