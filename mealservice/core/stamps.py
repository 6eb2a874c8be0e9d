"""Per-worker caches of data that changes rarely (policies, holidays, the blacklist, the
months closed to meals, the places), each checked against a version stamp the database keeps.

Every write to a stamped table, by any path (the ORM, Core, raw SQL, another worker,
another node, a migration, PostgreSQL's TRUNCATE), sets its stamp to a new random number
by a trigger, in the writing transaction. A cache keeps each value with the stamp it was
loaded under and serves it while a request reads the same stamp, so another worker's write
is seen at once, and a rolled-back write (the tests' transactions) takes its stamp back
with it. Random stamps, not counters: a counter rolled back and bumped again would repeat.

A transaction reads all stamps in one statement and keeps them until it ends or runs
anything that might change one: any statement but a SELECT, except a write to a table
declared to keep the stamps (`keep_stamps`: a scan's tallies, seats and meal). A stamp
missing (a table emptied by hand) turns its cache off until the next write."""

import random
import re
import threading
from collections.abc import Callable, Hashable

from sqlalchemy import BigInteger, String, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from mealservice.core.db import db

# Where a transaction keeps the stamps it read: the connection's info, emptied whenever
# the connection begins, commits, rolls back or runs anything but a SELECT.
MEMO = "data_stamps"


class DataStamp(db.Model):
    __tablename__ = "data_stamps"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)


ALL_STAMPS = select(DataStamp.name, DataStamp.stamp)


def stamp_of(name: str) -> int | None:
    """The stamp `name` has in the current transaction (None when the row is missing)."""
    connection = db.session.connection()
    stamps = connection.info.get(MEMO)
    if stamps is None:
        stamps = connection.info[MEMO] = dict(connection.execute(ALL_STAMPS).all())
    return stamps.get(name)


def fresh_stamp_of(name: str) -> int | None:
    """The stamp `name` has now, read again whatever the transaction read before: on
    PostgreSQL (read committed) another transaction may have committed a new one since."""
    db.session.connection().info.pop(MEMO, None)
    return stamp_of(name)


# Tables whose writes change no stamp: none has a stamp trigger, and no trigger or cascade
# of theirs writes a stamped table (tests/core/test_stamps.py holds them to it). A write
# to one of them keeps the stamps the transaction read.
KEEPING_TABLES: set[str] = set()

# The table an INSERT, UPDATE or DELETE writes, as SQLAlchemy and the hand write them.
WRITTEN_TABLE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)


def keep_stamps(*tables) -> None:
    """Declare that writes to these tables (Table objects) change no stamp."""
    KEEPING_TABLES.update(table.name for table in tables)


def _forget(connection, *args) -> None:
    connection.info.pop(MEMO, None)


def _forget_on_write(connection, cursor, statement, *args) -> None:
    if MEMO not in connection.info or statement.lstrip()[:6].upper() == "SELECT":
        return
    written = WRITTEN_TABLE.match(statement)
    if written is None or written.group(1) not in KEEPING_TABLES:
        connection.info.pop(MEMO, None)


for _name in ("begin", "commit", "rollback"):
    event.listen(Engine, _name, _forget)
event.listen(Engine, "before_cursor_execute", _forget_on_write)


class StampedCache:
    """Values loaded from the tables behind the stamp `name`, kept by this worker while the
    stamp holds. A value must be plain data (never an ORM object: it outlives its session)."""

    def __init__(self, name: str, size: int = 4096):
        self.name = name
        self.size = size
        self.entries: dict[Hashable, tuple[int, object]] = {}
        self.lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], object]):
        stamp = stamp_of(self.name)
        if stamp is None:
            return load()
        entry = self.entries.get(key)
        if entry is not None and entry[0] == stamp:
            return entry[1]
        value = load()
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.clear()
            self.entries[key] = (stamp, value)
        return value


# The triggers, for the migrations that stamp a table.

PG_STAMP_FUNCTION = """
CREATE OR REPLACE FUNCTION new_data_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO data_stamps (name, stamp)
  VALUES (TG_ARGV[0], floor(random() * 9000000000000000000)::bigint)
  ON CONFLICT (name) DO UPDATE SET stamp = excluded.stamp;
  RETURN NULL;
END $$"""


def stamp_statements(dialect: str, table: str, name: str) -> list[str]:
    """The triggers that give the stamp `name` a new value on every write to `table`."""
    if dialect == "postgresql":
        return [
            PG_STAMP_FUNCTION,
            f"CREATE TRIGGER stamp_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION new_data_stamp('{name}')",
        ]
    return [
        f"CREATE TRIGGER stamp_{table}_{action} AFTER {action.upper()} ON {table} BEGIN"
        f" INSERT INTO data_stamps (name, stamp) VALUES ('{name}', random())"
        " ON CONFLICT (name) DO UPDATE SET stamp = excluded.stamp; END"
        for action in ("insert", "update", "delete")
    ]


def drop_stamp_statements(dialect: str, table: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS stamp_{table} ON {table}"]
    return [
        f"DROP TRIGGER IF EXISTS stamp_{table}_{action}"
        for action in ("insert", "update", "delete")
    ]


def new_stamp() -> int:
    return random.getrandbits(62)
