"""The policy's limits held by the database: one tally row per elder and slot (and per
elder and day for subsidized meals), taken and given back only by conditional UPDATEs.

Two cashiers scanning the same card at once both reach the same row; the database makes
one wait for the other, and the second UPDATE finds the tally full. The CHECK constraint
on each table stands behind the WHERE clause should any other code path forget it."""

from datetime import date

from sqlalchemy import Date, bindparam, select, text, update

from mealservice.core.db import db
from mealservice.meals.models import SlotTally, SubsidyTally

SLOT_KEY = ("elder_id", "date", "slot")
DAY_KEY = ("elder_id", "date")


def _take_statement(model, key: tuple[str, ...]):
    """One statement: the first meal of the day makes the row, later ones count up, and
    concurrent ones meet on the same row, where the database makes them take turns.
    Plain SQL that SQLite and PostgreSQL both speak: the dialects' upsert constructs are
    compiled afresh on every call, and this runs on every scan."""
    table, columns = model.__tablename__, ", ".join(key)
    return text(
        f"INSERT INTO {table} ({columns}, taken, allowed)"
        f" VALUES ({', '.join(':' + column for column in key)}, 1, :allowed)"
        f" ON CONFLICT ({columns}) DO UPDATE"
        # The policy in force decides; the stored figure keeps the CHECK honest.
        f" SET taken = {table}.taken + 1, allowed = :allowed"
        f" WHERE {table}.taken < :allowed"
        " RETURNING taken"
    ).bindparams(bindparam("date", type_=Date))


def _release_statement(model, key: tuple[str, ...]):
    return (
        update(model.__table__)
        .where(*_matching(model, key), model.taken > 0)
        .values(taken=model.taken - 1)
    )


def _count_statement(model, key: tuple[str, ...]):
    return select(model.taken).where(*_matching(model, key))


def _matching(model, key: tuple[str, ...]):
    # Named apart from the columns: SQLAlchemy keeps column names for an UPDATE's own values.
    return [getattr(model, column) == bindparam(f"{column}_") for column in key]


# Built once: every scan runs them, and building one costs more than running it.
TAKE_SLOT, TAKE_SUBSIDIZED = (
    _take_statement(SlotTally, SLOT_KEY),
    _take_statement(SubsidyTally, DAY_KEY),
)
RELEASE_SLOT, RELEASE_SUBSIDIZED = (
    _release_statement(SlotTally, SLOT_KEY),
    _release_statement(SubsidyTally, DAY_KEY),
)
COUNT_SLOT, COUNT_SUBSIDIZED = (
    _count_statement(SlotTally, SLOT_KEY),
    _count_statement(SubsidyTally, DAY_KEY),
)


def take_slot(elder_id: int, day: date, slot: str, allowed: int) -> int | None:
    """Count one more meal in the slot if the limit allows: the count before it, or None."""
    return _take(TAKE_SLOT, {"elder_id": elder_id, "date": day, "slot": slot}, allowed)


def release_slot(elder_id: int, day: date, slot: str) -> None:
    _run(RELEASE_SLOT, {"elder_id": elder_id, "date": day, "slot": slot})


def slot_count(elder_id: int, day: date, slot: str) -> int:
    return _run(COUNT_SLOT, {"elder_id": elder_id, "date": day, "slot": slot}).scalar() or 0


def take_subsidized(elder_id: int, day: date, allowed: int) -> int | None:
    return _take(TAKE_SUBSIDIZED, {"elder_id": elder_id, "date": day}, allowed)


def release_subsidized(elder_id: int, day: date) -> None:
    _run(RELEASE_SUBSIDIZED, {"elder_id": elder_id, "date": day})


def subsidized_count(elder_id: int, day: date) -> int:
    return _run(COUNT_SUBSIDIZED, {"elder_id": elder_id, "date": day}).scalar() or 0


def subsidized_on_day(elder_id):
    """`subsidized_count` as a scalar subquery on the elder `elder_id` names (a column), at
    the bound "day", for a statement that reads it with other things (None: no meal yet)."""
    return (
        select(SubsidyTally.taken)
        .where(SubsidyTally.elder_id == elder_id, SubsidyTally.date == bindparam("day"))
        .scalar_subquery()
    )


def _take(statement, key: dict, allowed: int) -> int | None:
    taken = db.session.connection().scalar(statement, {**key, "allowed": allowed})
    return None if taken is None else taken - 1


def _run(statement, key: dict):
    return db.session.connection().execute(
        statement, {f"{column}_": value for column, value in key.items()}
    )
