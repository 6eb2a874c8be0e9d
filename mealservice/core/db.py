"""Database plumbing: the declarative base, engine settings, the request transaction."""

from datetime import UTC

from flask import Response, g, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    MetaData,
    Table,
    any_,
    bindparam,
    column,
    event,
    func,
)
from sqlalchemy import insert as sql_insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from mealservice.core.errors import ApiError, error_response
from mealservice.core.marks import mark_of

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always handed back timezone-aware.

    SQLite keeps no offsets, so every value is converted to UTC on the way in and
    marked as UTC on the way out; the same code then serves PostgreSQL unchanged.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def sql_in(column: str, values) -> str:
    """`column IN ('a', 'b')` for a CHECK constraint over an enum's fixed values."""
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"


def among(column, values):
    """`column IN values`; on PostgreSQL as `= ANY` of one array parameter (the same plan):
    an IN list of a few hundred bind parameters costs SQLAlchemy and psycopg more to
    expand and parse than the server takes to look them up."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(table: Table, rows: list[dict], *returning):
    """INSERT `rows` (dicts with the same keys, of JSON's types: numbers, strings, None,
    lists and dicts for JSON columns) into `table` in one statement; the columns left out
    take their defaults. On PostgreSQL the rows travel as one JSON parameter read by
    json_to_recordset, and a default is evaluated once for the statement: a few hundred
    rows of ten columns as bind parameters cost psycopg more to parse into the statement
    than the server takes to insert them (a month's 300 claims: 95 ms, now 17). Elsewhere,
    the usual executemany."""
    if db.session.get_bind().dialect.name != "postgresql":
        statement = sql_insert(table)
        return db.session.execute(statement.returning(*returning) if returning else statement, rows)
    names = list(rows[0])
    records = (
        func.json_to_recordset(bindparam("rows", rows, type_=JSON))
        .table_valued(*(column(name, table.c[name].type) for name in names))
        .render_derived(with_types=True)
    )
    statement = sql_insert(table).from_select(names, records.select(), include_defaults=True)
    return db.session.execute(statement.returning(*returning) if returning else statement)


def configure_engine(engine: Engine, busy_timeout_s: float) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def set_sqlite_pragmas(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below issue BEGIN itself instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin_transaction(connection):
        # A deferred transaction that reads and then writes fails at once with
        # "database is locked" when another writer got there first; taking the write
        # lock up front makes it wait its turn (busy_timeout) instead. Reads of
        # GET requests, and the read phase of views marked `reads_first`, stay deferred
        # so they never queue behind writers.
        if has_request_context() and (request.method in SAFE_METHODS or _in_read_phase()):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def reads_first(view):
    """Mark a busy write view whose reads run before its writes, in their own transaction:
    the view calls `start_writing()` between the two, so on SQLite the write lock is held
    only for the writes. Correctness must then rest on the writes themselves (conditional
    UPDATEs, constraints), not on what was read a moment earlier."""
    view.reads_first = True
    return view


def _in_read_phase() -> bool:
    if g.get("writing"):
        return False
    return mark_of("reads_first", False)


def start_writing() -> None:
    """On SQLite, end the read transaction, keeping what it loaded; the next statement
    begins the write transaction (BEGIN IMMEDIATE). PostgreSQL's reads never wait for a
    writer, so there the request stays one transaction: a commit, a new BEGIN and a fresh
    check-out of the connection would be all the split cost. Outside a request (the
    command line, the demo loader) there is one transaction and this does nothing."""
    if not has_request_context():
        return
    session = db.session()
    if session.get_bind().dialect.name == "sqlite":
        session.expire_on_commit = False
        try:
            session.commit()
        finally:
            session.expire_on_commit = True
    g.writing = True


def start_reading() -> None:
    """After a write transaction was committed mid-request: back to deferred reads."""
    g.writing = False


def commit_request_transaction(response: Response) -> Response:
    """One transaction per request, committed here and nowhere else in the web app."""
    if response.status_code >= 400:
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return error_response(
            ApiError(409, "conflict", "The change conflicts with data saved at the same time.")
        )
    return response


def add_unique(obj, code: str, message: str, detail: dict | None = None):
    """Add and flush `obj` in a savepoint; a unique-constraint race becomes a 409."""
    if not add_once(obj):
        raise ApiError(409, code, message, detail=detail)
    return obj


def add_once(obj) -> bool:
    """Add and flush `obj` in a savepoint; False (and nothing added) when a unique
    constraint says it is there already: the same report, alert or claim made again."""
    try:
        with db.session.begin_nested():
            db.session.add(obj)
    except IntegrityError:
        return False
    return True


def render_migration_item(type_, obj, autogen_context):
    """Write UTCDateTime into migrations as a plain DateTime, so revisions never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False
