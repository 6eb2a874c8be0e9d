"""A scan's own SQL, replayed alone: the floor that cutting the scan's Python can reach.

`capture` serves one real scan in-process and keeps the statements it ran, as they reached
the database driver (below SQLAlchemy's compiler, with their bound values), but the
caller's look-up. The endpoint that `blueprint` makes runs them again through the request's
connection, authenticated by a cashier's bearer token as a scan is, reading first and writing in a second
transaction on SQLite as the scan does, and answers with no body: a scan with SQLAlchemy's
execution and Flask's request left, but no ORM, parsing, judging, pricing or answer.

The replay writes what the scan wrote: its meal again each time (no constraint stops a
repeat), and its tallies and seat until they are full; from then on their conditional
writes match no row, a little cheaper than a scan's.

`app` is the gunicorn application bench/scan.py serves: the service with this endpoint
added, replaying the statements pickled at BENCH_REPLAY_FILE. Nothing here is part of the
service; it exists only in the benchmarks' processes."""

import os
import pickle

from flask import Blueprint

PATH = "/_bench/replay"

# Where the scan began its write transaction (SQLite's BEGIN IMMEDIATE), in a replay.
WRITING = "-- writing"


def capture(app, one_scan) -> list[tuple[str, object]]:
    """The statements one call of `one_scan` ran, ready to replay."""
    from sqlalchemy import event

    from mealservice.core.db import db

    ran: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def keep(connection, cursor, statement, values, context, executemany):
        ran.append((statement, values))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        status = one_scan()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    if status != 201:
        raise RuntimeError(f"the scan to replay was answered {status}")
    statements = []
    for statement, values in ran:
        words = statement.split()
        if words[0].upper() == "BEGIN":
            # The request's first BEGIN is the replay's own; a second one starts the writes.
            if statements and engine.dialect.name == "sqlite":
                statements.append((WRITING, None))
            continue
        if statement.startswith("SELECT users."):
            continue  # the caller's look-up: the replay's own request makes it
        statements.append((statement, values))
    return statements


def blueprint(statements: list[tuple[str, object]]) -> Blueprint:
    from mealservice.core.auth import require_login
    from mealservice.core.db import db, reads_first, start_writing

    replay = Blueprint("bench_replay", __name__)

    @replay.post(PATH)
    @reads_first
    def run():
        require_login()
        for statement, values in statements:
            if statement == WRITING:
                start_writing()
                continue
            result = db.session.connection().exec_driver_sql(statement, values)
            if result.returns_rows:
                result.all()
        return "", 201

    return replay


def counted(statements: list[tuple[str, object]]) -> int:
    return sum(1 for statement, _ in statements if statement != WRITING)


def served_app():
    from mealservice import create_app

    with open(os.environ["BENCH_REPLAY_FILE"], "rb") as file:
        statements = pickle.load(file)  # noqa: S301 - written by bench/scan.py, this run
    application = create_app()
    application.register_blueprint(blueprint(statements))
    return application


if os.environ.get("BENCH_REPLAY_FILE"):
    app = served_app()
