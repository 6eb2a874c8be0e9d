"""`flask backup` and `flask restore`: SQLite's online backup API both ways, so a backup
taken while the service works is a consistent snapshot and a restore brings back every
row of every table as it was."""

import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select, text

from config import TestingConfig
from mealservice import create_app
from mealservice.core.audit import acting
from mealservice.core.db import db as _db
from mealservice.policy.models import Holiday
from tests import factories

on_postgresql = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="backup and restore are SQLite's; PostgreSQL has pg_dump and pg_restore",
)


@pytest.fixture(scope="module")
def demo(demo_template):
    """A copy of the seeded demo district: a SQLite file of its own (these tests run on
    SQLite only)."""
    url = demo_template.copy()
    app = create_app(TestingConfig, DATABASE_URL=url)
    app.live = Path(make_url(url).database)
    yield app
    with app.app_context():
        _db.engine.dispose()
    demo_template.drop(url)


def run(app, *args, **kwargs):
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), **kwargs)


def connect(path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=5)


def every_row(path) -> dict[str, list]:
    """Every table's rows (and the schema), read from the committed database."""
    with closing(connect(path)) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        rows = {
            table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }
        rows["(schema)"] = connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    return rows


@on_postgresql
def test_a_backup_taken_mid_work_restores_every_row_of_every_table(demo, tmp_path):
    at_backup = every_row(demo.live)
    assert len(at_backup["elders"]) > 250 and len(at_backup["meals"]) > 0
    backup = tmp_path / "backup.sqlite"

    # A cashier's connection in the middle of a read, and a writer holding the write lock
    # with a change not yet committed: the backup waits for neither and sees no more
    # than what was committed.
    reader, writer = connect(demo.live), connect(demo.live)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM meals").fetchone()
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE elders SET phone = '13900000000'")
        result = run(demo, "backup", str(backup))
        assert result.exit_code == 0, result.output
        assert "Backed up" in result.output and "revision" in result.output
        writer.execute("COMMIT")
        reader.execute("COMMIT")
    finally:
        reader.close()
        writer.close()
    assert every_row(backup) == at_backup
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600, "it holds personal data"

    # Then the day goes on: names change, holidays go, money moves (the audit trail
    # records it), a district is added.
    with demo.app_context(), acting("test"):
        _db.session.execute(text("UPDATE elders SET name = name || '（改）'"))
        _db.session.execute(text("DELETE FROM holidays"))
        _db.session.execute(text("UPDATE balances SET balance_fen = balance_fen + 100"))
        _db.session.commit()
        factories.create_district("999999")
        _db.engine.dispose()
    changed = every_row(demo.live)
    assert {t for t in at_backup if changed[t] != at_backup[t]} >= {
        "elders",
        "holidays",
        "balances",
        "audit_log",
        "districts",
    }

    result = run(demo, "restore", "--yes", str(backup))
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output
    assert every_row(demo.live) == at_backup
    with closing(connect(demo.live)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with demo.app_context():
        holidays = _db.session.scalar(select(func.count()).select_from(Holiday))
        assert holidays == len(at_backup["holidays"]) > 0


@on_postgresql
def test_restore_asks_first_and_changes_nothing_when_told_no(demo, tmp_path):
    backup = tmp_path / "backup.sqlite"
    assert run(demo, "backup", str(backup)).exit_code == 0
    with closing(connect(backup)) as connection:
        connection.execute("DELETE FROM holidays")
    before = every_row(demo.live)
    result = run(demo, "restore", str(backup), input="n\n")
    assert result.exit_code != 0 and "Replace everything in" in result.output
    assert every_row(demo.live) == before


def plain_sqlite(path) -> None:
    with closing(connect(path)) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")


@on_postgresql
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path.write_text("name,phone\n"), "is not a SQLite database"),
        (plain_sqlite, "no alembic_version table"),
    ],
    ids=["text file", "another sqlite database"],
)
def test_restore_refuses_a_file_that_is_no_mealservice_database(demo, tmp_path, make, reason):
    candidate = tmp_path / "candidate.sqlite"
    make(candidate)
    before = every_row(demo.live)
    result = run(demo, "restore", "--yes", str(candidate))
    assert result.exit_code != 0
    assert reason in result.output and "Nothing was changed" in result.output
    assert every_row(demo.live) == before


@on_postgresql
def test_restore_refuses_a_backup_of_another_migration_revision(demo, tmp_path):
    backup = tmp_path / "backup.sqlite"
    assert run(demo, "backup", str(backup)).exit_code == 0
    with closing(connect(backup)) as connection:
        head = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        connection.execute("UPDATE alembic_version SET version_num = '0009'")
    before = every_row(demo.live)
    result = run(demo, "restore", "--yes", str(backup))
    assert result.exit_code != 0
    assert "at migration revision 0009, this code at " + head in result.output
    assert every_row(demo.live) == before


@on_postgresql
def test_restore_refuses_a_backup_whose_id_numbers_this_key_cannot_read(
    demo, tmp_path, monkeypatch
):
    backup = tmp_path / "backup.sqlite"
    assert run(demo, "backup", str(backup)).exit_code == 0
    monkeypatch.setitem(demo.config, "ELDER_DATA_KEY", "another installation's key")
    result = run(demo, "restore", "--yes", str(backup))
    assert result.exit_code != 0 and "another ELDER_DATA_KEY" in result.output


@on_postgresql
def test_a_backup_is_never_written_over_the_database(demo):
    result = run(demo, "backup", str(demo.live))
    assert result.exit_code != 0 and "over the database itself" in result.output


def test_postgresql_is_refused_with_its_own_tools_named(request, tmp_path):
    if os.environ.get("TEST_DATABASE_URL"):
        app = request.getfixturevalue("app")
    else:
        # Refused from the URL alone: nothing needs to listen there.
        app = create_app(TestingConfig, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    file = tmp_path / "backup.sqlite"
    file.write_bytes(b"")
    for args in (["backup", str(file)], ["restore", str(file)]):
        result = run(app, *args)
        assert result.exit_code != 0, args
        assert "PostgreSQL" in result.output, result.output
        assert "pg_dump" in result.output and "pg_restore" in result.output
