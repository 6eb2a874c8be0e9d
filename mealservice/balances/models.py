"""The prepaid meal balance (饭卡) of each elder and every movement of it."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in
from mealservice.elders.models import Elder
from mealservice.places.models import Canteen


class MovementKind(StrEnum):
    TOP_UP = "top_up"  # money paid in at a counter
    MEAL = "meal"  # a meal (or an order placed) paid from the balance
    REFUND = "refund"  # a voided meal's or a cancelled order's money given back
    PAYOUT = "payout"  # a deceased elder's balance paid out to the family at a counter


# Movements that take money out of the balance, and those paid in or out by hand at a
# counter (with a method: cash or an e-payment).
OUTGOING = (MovementKind.MEAL, MovementKind.PAYOUT)
BY_HAND = (MovementKind.TOP_UP, MovementKind.PAYOUT)


class TopUpMethod(StrEnum):
    CASH = "cash"
    E_PAYMENT = "e_payment"


class Balance(db.Model):
    """One elder's balance. It moves only by a conditional UPDATE, and the CHECK makes the
    database itself refuse a balance below zero, whatever runs at once."""

    __tablename__ = "balances"
    __table_args__ = (CheckConstraint("balance_fen >= 0", name="never_negative"),)

    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"), primary_key=True)
    balance_fen: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BalanceMovement(db.Model):
    """Every change of a balance, kept for good: the history relatives read and the till
    is reconciled against. `balance_after_fen` is the balance the change left."""

    __tablename__ = "balance_movements"
    __table_args__ = (
        CheckConstraint(sql_in("kind", MovementKind), name="kind"),
        CheckConstraint(
            f"({sql_in('kind', OUTGOING)} AND amount_fen < 0)"
            f" OR (NOT {sql_in('kind', OUTGOING)} AND amount_fen > 0)",
            name="amount_sign",
        ),
        CheckConstraint("balance_after_fen >= 0", name="never_negative"),
        CheckConstraint(
            f"({sql_in('kind', BY_HAND)} AND {sql_in('method', TopUpMethod)})"
            f" OR (NOT {sql_in('kind', BY_HAND)} AND method IS NULL)",
            name="top_up_method",
        ),
        CheckConstraint(
            f"{sql_in('kind', BY_HAND)} OR meal_id IS NOT NULL OR order_id IS NOT NULL",
            name="meal_movement_names_meal",
        ),
        Index("ix_balance_movements_elder_at", "elder_id", "at"),
        Index("ix_balance_movements_canteen_at", "canteen_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"))
    kind: Mapped[str] = mapped_column(String(10))
    amount_fen: Mapped[int]
    balance_after_fen: Mapped[int]
    method: Mapped[str | None] = mapped_column(String(10))
    reference: Mapped[str | None] = mapped_column(String(64))
    meal_id: Mapped[int | None] = mapped_column(ForeignKey("meals.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))

    canteen: Mapped[Canteen] = relationship()
    elder: Mapped[Elder] = relationship()
