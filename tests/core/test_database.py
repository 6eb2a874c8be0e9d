import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from config import normalise_database_url
from mealservice.core.db import db as _db

ROOT = Path(__file__).resolve().parents[2]


def test_models_and_migrations_agree(app):
    """The test database was built by `flask db upgrade`; the models must need nothing more."""
    with app.app_context(), _db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, _db.metadata) == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app):
    with app.app_context():
        if _db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite settings")
        with _db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_sqlite_write_transactions_take_the_write_lock_at_begin(app):
    with app.app_context():
        if _db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite settings")
        with _db.engine.connect() as writer:
            writer.begin()
            other = _db.engine.raw_connection()
            try:
                cursor = other.cursor()
                cursor.execute("PRAGMA busy_timeout=100")
                # BEGIN IMMEDIATE holds the write lock already: another writer must wait.
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    cursor.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
            writer.rollback()


def run_upgrade(url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEALSERVICE_ENV": "development", "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def expected_tables() -> set[str]:
    return set(_db.metadata.tables) | {"alembic_version"}


def test_db_upgrade_builds_the_schema_on_an_empty_sqlite_file(app, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    result = run_upgrade(url)
    assert result.returncode == 0, result.stderr
    assert set(inspect(create_engine(url)).get_table_names()) == expected_tables()


def test_db_upgrade_builds_the_schema_on_an_empty_postgresql_database(app):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("runs when TEST_DATABASE_URL names a PostgreSQL server")
    admin = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    name = f"mealservice_fresh_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    fresh_url = url.rsplit("/", 1)[0] + "/" + name
    try:
        result = run_upgrade(fresh_url)
        assert result.returncode == 0, result.stderr
        engine = create_engine(normalise_database_url(fresh_url))
        assert set(inspect(engine).get_table_names()) == expected_tables()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_times_are_stored_in_utc_and_come_back_aware(db, district):
    from datetime import datetime, timedelta, timezone

    from mealservice.places.models import Canteen
    from tests import factories

    shanghai_noon = datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    canteen = factories.create_canteen(district, created_at=shanghai_noon)
    db.session.expire_all()
    stored = db.session.get(Canteen, canteen.id).created_at
    assert stored == shanghai_noon and stored.utcoffset() == timedelta(0)
    raw = db.session.execute(
        text("SELECT created_at FROM canteens WHERE id = :id"), {"id": canteen.id}
    ).scalar()
    assert str(raw).startswith("2026-11-24 04:00:00")


def test_naive_datetimes_are_refused(db, district):
    from datetime import datetime

    from tests import factories

    with pytest.raises(Exception, match="naive datetimes"):
        factories.create_canteen(district, created_at=datetime(2026, 11, 24, 12, 0))


def test_check_constraints_of_models_and_migrations_agree(app):
    """compare_metadata leaves CHECK constraints out; compare their names table by table."""
    with app.app_context():
        inspector = inspect(_db.engine)
        for table in _db.metadata.sorted_tables:
            in_models = {
                c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint"
            }
            in_database = {c["name"] for c in inspector.get_check_constraints(table.name)}
            assert in_models == in_database, table.name


def test_the_database_refuses_a_canteen_whose_community_lies_in_another_district(db, district):
    from sqlalchemy.exc import IntegrityError

    from mealservice.places.models import Canteen
    from tests import factories

    foreign = factories.create_community(factories.create_district())
    canteen = factories.create_canteen(district)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            Canteen.__table__.update()
            .where(Canteen.id == canteen.id)
            .values(community_id=foreign.id)
        )


@pytest.mark.parametrize(
    ("role", "in_district"),
    [
        ("chef", False),  # no such role
        ("cashier", True),  # canteen staff without a canteen
        ("admin", True),  # an admin placed in a district
        ("official", False),  # an official of no district
    ],
)
def test_the_database_refuses_accounts_that_break_the_role_rules(db, district, role, in_district):
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from mealservice.accounts.models import User

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            User.__table__.insert().values(
                username=f"bad-{role}",
                password_hash="x",
                role=role,
                district_code=district.code if in_district else None,
                canteen_id=None,
                active=True,
                created_at=datetime.now(UTC),
            )
        )


def test_a_requests_statements_end_at_its_deadline_on_postgresql(app, db, monkeypatch):
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the deadline is PostgreSQL's statement_timeout")
    monkeypatch.setitem(app.config, "REQUEST_DEADLINE_S", 0.2)
    with app.test_request_context("/api/v1/canteens"), Session(db.engine) as held:
        with pytest.raises(OperationalError) as stopped:
            held.execute(text("SELECT pg_sleep(1)"))
        assert stopped.value.orig.sqlstate == "57014"
    # The scheduler and the command line have no deadline.
    with app.app_context(), Session(db.engine) as job:
        job.execute(text("SELECT pg_sleep(0.4)"))


def test_the_callers_look_up_is_named_once_after_it_on_postgresql(app, db):
    """A request's first transaction begins with the look-up of its caller: it is named
    (actor, clock, deadline) once the caller is known, by the current-user loader, not
    first as nobody and then again. Any other transaction is named as it begins."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from mealservice.core.audit import actor_awaited

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the actor is named by set_config on PostgreSQL only")
    settings = []

    def note(_conn, _cursor, statement, *_args):
        if "set_config" in statement:
            settings.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        with app.test_request_context("/api/v1/canteens"):
            with Session(db.engine) as looking_up, actor_awaited():
                looking_up.execute(text("SELECT 1"))
            assert settings == []
            with Session(db.engine) as later:
                later.execute(text("SELECT 1"))
            assert len(settings) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
