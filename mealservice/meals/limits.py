"""The policy's limits held by the database: one tally row per elder and slot (and per
elder and day for subsidized meals), taken and given back only by conditional UPDATEs.

Two cashiers scanning the same card at once both reach the same row; the database makes
one wait for the other, and the second UPDATE finds the tally full. The CHECK constraint
on each table stands behind the WHERE clause should any other code path forget it."""

from datetime import date

from sqlalchemy import Date, bindparam, select, text, update

from mealservice.extensions import db
from mealservice.meals.models import SlotTally, SubsidyTally


def take_slot(elder_id: int, day: date, slot: str, allowed: int) -> int | None:
    """Count one more meal in the slot if the limit allows: the count before it, or None."""
    return _take(SlotTally, {"elder_id": elder_id, "date": day, "slot": slot}, allowed)


def release_slot(elder_id: int, day: date, slot: str) -> None:
    _release(SlotTally, {"elder_id": elder_id, "date": day, "slot": slot})


def slot_count(elder_id: int, day: date, slot: str) -> int:
    return _count(SlotTally, {"elder_id": elder_id, "date": day, "slot": slot})


def take_subsidized(elder_id: int, day: date, allowed: int) -> int | None:
    return _take(SubsidyTally, {"elder_id": elder_id, "date": day}, allowed)


def release_subsidized(elder_id: int, day: date) -> None:
    _release(SubsidyTally, {"elder_id": elder_id, "date": day})


def subsidized_count(elder_id: int, day: date) -> int:
    return _count(SubsidyTally, {"elder_id": elder_id, "date": day})


def _take(model, key: dict, allowed: int) -> int | None:
    # One statement: the first meal of the day makes the row, later ones count up, and
    # concurrent ones meet on the same row, where the database makes them take turns.
    # Plain SQL that SQLite and PostgreSQL both speak: the dialects' upsert constructs are
    # compiled afresh on every call, and this runs on every scan.
    table = model.__tablename__
    columns = ", ".join(key)
    statement = text(
        f"INSERT INTO {table} ({columns}, taken, allowed)"
        f" VALUES ({', '.join(':' + column for column in key)}, 1, :allowed)"
        f" ON CONFLICT ({columns}) DO UPDATE"
        # The policy in force decides; the stored figure keeps the CHECK honest.
        f" SET taken = {table}.taken + 1, allowed = :allowed"
        f" WHERE {table}.taken < :allowed"
        " RETURNING taken"
    ).bindparams(bindparam("date", type_=Date))
    taken = db.session.connection().scalar(statement, {**key, "allowed": allowed})
    return None if taken is None else taken - 1


def _release(model, key: dict) -> None:
    db.session.execute(
        update(model)
        .where(*_matching(model, key), model.taken > 0)
        .values(taken=model.taken - 1)
        .execution_options(synchronize_session=False)
    )


def _count(model, key: dict) -> int:
    return db.session.connection().scalar(select(model.taken).where(*_matching(model, key))) or 0


def _matching(model, key: dict):
    return [getattr(model, column) == value for column, value in key.items()]
