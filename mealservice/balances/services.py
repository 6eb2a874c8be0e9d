"""Prepaid meal balances (饭卡): topped up at a counter, paid from at a scan, refunded
when a meal is voided. Every change is one conditional statement on the balance row,
so two counters charging the same elder at once can never take it below zero (and the
CHECK on the row stands behind that), and every change leaves a movement behind."""

from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, select, text

from mealservice.balances.models import Balance, BalanceMovement, MovementKind
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db
from mealservice.core.errors import Conflict
from mealservice.elders.models import Elder, ElderStatus


class PaidFor(Protocol):
    """A meal or an order: what a movement names. Meals sit above balances, so they are
    known here by their shape and their table, not by their classes."""

    __tablename__: str
    id: int
    elder_id: int
    canteen_id: int


# The movement's column that names each kind of thing paid for.
NAMED_BY = {"meals": "meal_id", "orders": "order_id"}

# Plain SQL both databases speak, as the meal limits use: the first top-up makes the row.
ADD = text(
    "INSERT INTO balances (elder_id, balance_fen, updated_at) VALUES (:elder_id, :amount, :now)"
    " ON CONFLICT (elder_id) DO UPDATE"
    " SET balance_fen = balances.balance_fen + :amount, updated_at = :now"
    " RETURNING balance_fen"
).bindparams(bindparam("now", type_=UTCDateTime))
# The WHERE is the whole rule: a short balance matches no row and nothing changes.
TAKE = text(
    "UPDATE balances SET balance_fen = balance_fen - :amount, updated_at = :now"
    " WHERE elder_id = :elder_id AND balance_fen >= :amount"
    " RETURNING balance_fen"
).bindparams(bindparam("now", type_=UTCDateTime))

HISTORY_LENGTH = 50


def balance_of(elder_id: int) -> int:
    return db.session.scalar(select(Balance.balance_fen).where(Balance.elder_id == elder_id)) or 0


def _add(elder_id: int, amount_fen: int, now: datetime | None = None) -> int:
    return db.session.execute(
        ADD, {"elder_id": elder_id, "amount": amount_fen, "now": now or utcnow()}
    ).scalar_one()


def top_up(
    actor,
    canteen,
    elder,
    amount_fen: int,
    method: str,
    reference: str | None = None,
    now: datetime | None = None,
) -> BalanceMovement:
    """Money paid in at the counter; the movement names who took it, where and how.

    `now` is the clock's reading; only the demo loader, replaying a week, sets it."""
    now = now or utcnow()
    movement = BalanceMovement(
        elder_id=elder.id,
        kind=MovementKind.TOP_UP,
        amount_fen=amount_fen,
        balance_after_fen=_add(elder.id, amount_fen, now),
        method=method,
        reference=reference,
        canteen_id=canteen.id,
        at=now,
        recorded_by=actor.username,
    )
    db.session.add(movement)
    db.session.flush()
    return movement


def owed_to_family(elder) -> int:
    """What a deceased elder's balance owes their family: all of it, until paid out."""
    return balance_of(elder.id) if elder.status == ElderStatus.DECEASED else 0


def owed_to_families(elders_query) -> list[tuple]:
    """The deceased elders among `elders_query` whose balance still holds money, with what
    it holds: the payouts a counter has still to make, oldest death first."""
    return list(
        db.session.execute(
            elders_query.add_columns(Balance.balance_fen)
            .join(Balance, Balance.elder_id == Elder.id)
            .where(Elder.status == ElderStatus.DECEASED, Balance.balance_fen > 0)
            .order_by(Elder.status_since, Elder.id)
        )
    )


def pay_out(actor, canteen, elder, method: str, reference: str | None = None) -> BalanceMovement:
    """A deceased elder's whole balance paid out to the family at the counter (cash, or an
    e-payment back with its reference): the money never stays with the service."""
    if elder.status != ElderStatus.DECEASED:
        raise Conflict(
            "elder_not_deceased",
            "Only a deceased elder's balance is paid out; a living elder spends it on meals.",
            {"elder_id": elder.id, "status": elder.status},
        )
    owed = balance_of(elder.id)
    # Exactly what was read is taken: an order refunded meanwhile stays for a second
    # payout, and of two counters paying out at once, one finds nothing left to take.
    left = take_for_meal(elder.id, owed) if owed else None
    if left is None:
        raise Conflict(
            "nothing_owed",
            "The balance holds nothing to pay out.",
            {"elder_id": elder.id, "balance_fen": balance_of(elder.id)},
        )
    movement = BalanceMovement(
        elder_id=elder.id,
        kind=MovementKind.PAYOUT,
        amount_fen=-owed,
        balance_after_fen=left,
        method=method,
        reference=reference,
        canteen_id=canteen.id,
        recorded_by=actor.username,
    )
    db.session.add(movement)
    db.session.flush()
    return movement


def take_for_meal(elder_id: int, amount_fen: int) -> int | None:
    """Take a meal's price from the balance: the balance left, or None when it is short."""
    return db.session.execute(
        TAKE, {"elder_id": elder_id, "amount": amount_fen, "now": utcnow()}
    ).scalar_one_or_none()


def insufficient_balance(elder_id: int, needed_fen: int, elder_name: str | None = None) -> Conflict:
    """The refusal of a meal or order the balance cannot pay; the counter names the elder."""
    balance = balance_of(elder_id)
    detail = {"elder_id": elder_id, "balance_fen": balance, "needed_fen": needed_fen}
    if elder_name is not None:
        detail["elder_name"] = elder_name
    return Conflict(
        "insufficient_balance",
        f"The meal balance holds ¥{balance / 100:.2f}; this meal needs ¥{needed_fen / 100:.2f}.",
        detail,
    )


def record_payment(
    by: str, paid_for: PaidFor, amount_fen: int, balance_after_fen: int
) -> BalanceMovement:
    """The movement of a meal or an order paid from the balance (`take_for_meal` took it)."""
    return _movement(by, paid_for, MovementKind.MEAL, -amount_fen, balance_after_fen)


def refund(by: str, paid_for: PaidFor, amount_fen: int) -> BalanceMovement:
    """A voided meal, or an order that came to nothing (cancelled, a no-show), gives back
    what it took from the balance."""
    after = _add(paid_for.elder_id, amount_fen)
    movement = _movement(by, paid_for, MovementKind.REFUND, amount_fen, after)
    db.session.flush()
    return movement


def _movement(by: str, paid_for: PaidFor, kind: MovementKind, amount_fen: int, after: int):
    named = {NAMED_BY[paid_for.__tablename__]: paid_for.id}
    movement = BalanceMovement(
        elder_id=paid_for.elder_id,
        kind=kind,
        amount_fen=amount_fen,
        balance_after_fen=after,
        canteen_id=paid_for.canteen_id,
        recorded_by=by,
        **named,
    )
    db.session.add(movement)
    return movement


def history(elder_id: int, limit: int = HISTORY_LENGTH) -> list[BalanceMovement]:
    return list(
        db.session.scalars(
            select(BalanceMovement)
            .where(BalanceMovement.elder_id == elder_id)
            .order_by(BalanceMovement.at.desc(), BalanceMovement.id.desc())
            .limit(limit)
        )
    )
