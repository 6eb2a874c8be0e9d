"""Meals served, with their priced snapshots, and the per-elder tallies that hold the
policy's limits inside the database."""

import datetime as dt
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in
from mealservice.core.stamps import keep_stamps
from mealservice.elders.models import Elder
from mealservice.menus.models import MenuOption
from mealservice.places.models import Canteen, Slot
from mealservice.policy.pricing import CHANNELS


class PaymentMethod(StrEnum):
    CASH = "cash"
    BALANCE = "balance"
    E_PAYMENT = "e_payment"


class MealSource(StrEnum):
    CARD = "card"  # the elder's QR card at the counter
    LOOKUP = "lookup"  # no card: found by name and phone at the counter
    ORDER = "order"  # a delivered order


class OrderStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    CONSUMED = "consumed"  # a dine-in booking eaten at the counter
    NO_SHOW = "no_show"  # a dine-in booking nobody came for by the end of its slot
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    FAILED = "failed"


# Orders that still hold what they took (a seat, a place in the limits, money).
LIVE_ORDER_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.DISPATCHED)


class OrderPayment(StrEnum):
    BALANCE = "balance"  # taken from the meal balance when ordered
    ON_DELIVERY = "on_delivery"
    AT_COUNTER = "at_counter"


# How an order of each channel may be paid: from the balance when it is placed, or in cash
# when the meal arrives, which is what an order that names no way is paid by.
PAYMENTS = {
    "delivery": (OrderPayment.BALANCE, OrderPayment.ON_DELIVERY),
    "dine_in": (OrderPayment.BALANCE, OrderPayment.AT_COUNTER),
}


# The columns of a priced snapshot: what `pricing.price_meal` returns, what an order stores
# and what its meal takes over.
PRICED_SNAPSHOT = (
    "policy_version",
    "tier",
    "reason",
    "price_fen",
    "delivery_fee_fen",
    "subsidy_fen",
    "delivery_subsidy_fen",
    "elder_pays_fen",
)


def copy_price(priced: "Meal | Order", price) -> None:
    """Store a priced snapshot on a meal or an order: the `pricing.Price` the pricing
    function returned, or an order's stored one (the same columns)."""
    for column in PRICED_SNAPSHOT:
        setattr(priced, column, getattr(price, column))


@dataclass(frozen=True)
class Holds:
    """Which shared counts a meal or an order took: its place in the slot limit, a seat,
    one of the day's subsidized meals, a place in the meal's delivery capacity. Read
    before the conditional UPDATE that clears them, so that only the writer that cleared
    them gives them back or hands them on."""

    slot: bool = False
    seat: bool = False
    subsidy: bool = False
    delivery: bool = False

    @classmethod
    def of(cls, held: "Meal | Order") -> "Holds":
        return cls(
            slot=held.holds_slot,
            seat=held.holds_seat,
            subsidy=held.holds_subsidy,
            delivery=getattr(held, "holds_delivery", False),
        )

    def columns(self) -> dict[str, bool]:
        """The `holds_*` values a meal takes (a meal holds no delivery place)."""
        return {"holds_slot": self.slot, "holds_seat": self.seat, "holds_subsidy": self.subsidy}


# The UPDATE values that clear what a meal or an order holds.
CLEARED = {"holds_slot": False, "holds_seat": False, "holds_subsidy": False}


def priced_snapshot_checks() -> list[CheckConstraint]:
    """What every priced snapshot (a meal's, an order's) must satisfy: no negative money,
    no subsidy above what it subsidizes, and what the elder pays adds up."""
    return [
        CheckConstraint(
            "price_fen >= 0 AND delivery_fee_fen >= 0 AND subsidy_fen >= 0"
            " AND delivery_subsidy_fen >= 0 AND subsidy_fen <= price_fen"
            " AND delivery_subsidy_fen <= delivery_fee_fen",
            name="money_in_range",
        ),
        CheckConstraint(
            "elder_pays_fen = price_fen + delivery_fee_fen - subsidy_fen - delivery_subsidy_fen",
            name="elder_pays_adds_up",
        ),
    ]


class Meal(db.Model):
    """One meal an elder had, priced once and never repriced.

    The price columns are the snapshot `price_meal` returned when the meal was recorded;
    claims add them up as they stand. The `holds_*` flags say which shared counts this
    meal took (a seat, a place in the slot limit, one of the day's subsidized meals), so a
    void gives back exactly those."""

    __tablename__ = "meals"
    __table_args__ = (
        CheckConstraint(sql_in("slot", Slot), name="slot"),
        CheckConstraint(sql_in("channel", CHANNELS), name="channel"),
        CheckConstraint(sql_in("source", MealSource), name="source"),
        CheckConstraint(
            f"payment_method IS NULL OR {sql_in('payment_method', PaymentMethod)}",
            name="payment_method",
        ),
        *priced_snapshot_checks(),
        CheckConstraint("to_collect_fen >= 0 AND to_collect_fen <= elder_pays_fen", name="collect"),
        # A meal the counter could not judge at the time is never paid for by the district.
        CheckConstraint(
            "conflict IS NULL OR (subsidy_fen = 0 AND delivery_subsidy_fen = 0)",
            name="conflict_unsubsidized",
        ),
        CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name="void_has_reason"),
        Index("ix_meals_elder_date_slot", "elder_id", "date", "slot"),
        Index("ix_meals_canteen_date", "canteen_id", "date"),
        # For the claim checks (claims.anomalies): the month's elder-days read from the
        # index alone, and the rare meals (a conflict, a delivery subsidy, a given card)
        # found without reading the month.
        Index(
            "ix_meals_day_elder",
            "date",
            "elder_id",
            "slot",
            "canteen_id",
            sqlite_where=text("voided_at IS NULL"),
            postgresql_where=text("voided_at IS NULL"),
        ),
        # An offline scan's natural key: the same queued scan sent again is the same meal.
        Index(
            "ux_meals_offline_scan",
            "canteen_id",
            "elder_id",
            "served_at",
            unique=True,
            sqlite_where=text("offline"),
            postgresql_where=text("offline"),
        ),
        Index(
            "ix_meals_conflict",
            "conflict",
            sqlite_where=text("conflict IS NOT NULL"),
            postgresql_where=text("conflict IS NOT NULL"),
        ),
        Index(
            "ix_meals_delivery_subsidized",
            "order_id",
            sqlite_where=text("delivery_subsidy_fen > 0"),
            postgresql_where=text("delivery_subsidy_fen > 0"),
        ),
        Index("ix_meals_card_date", "card_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"))
    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"))
    menu_id: Mapped[int | None] = mapped_column(ForeignKey("menus.id"), index=True)
    option_id: Mapped[int | None] = mapped_column(ForeignKey("menu_options.id"))
    card_id: Mapped[str | None] = mapped_column(ForeignKey("cards.id"))
    date: Mapped[date]  # the local date in the canteen district's zone
    slot: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))
    # Queued by a terminal while the network was down, sent later with its scanned_at.
    offline: Mapped[bool] = mapped_column(default=False)

    # The priced snapshot.
    policy_version: Mapped[int | None] = mapped_column(ForeignKey("subsidy_policies.id"))
    tier: Mapped[str | None] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(32))
    price_fen: Mapped[int]
    delivery_fee_fen: Mapped[int] = mapped_column(default=0)
    subsidy_fen: Mapped[int]
    delivery_subsidy_fen: Mapped[int] = mapped_column(default=0)
    elder_pays_fen: Mapped[int]
    to_collect_fen: Mapped[int]

    payment_method: Mapped[str | None] = mapped_column(String(10))
    payment_reference: Mapped[str | None] = mapped_column(String(64))
    # The refusal an offline scan would have met; the manager sees it and the claim too.
    conflict: Mapped[str | None] = mapped_column(String(32))

    holds_seat: Mapped[bool] = mapped_column(default=False)
    holds_slot: Mapped[bool] = mapped_column(default=False)
    holds_subsidy: Mapped[bool] = mapped_column(default=False)
    # The booking this meal consumed, or the delivered order it is.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)

    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[str | None] = mapped_column(String(64))
    void_reason: Mapped[str | None] = mapped_column(String(200))

    canteen: Mapped[Canteen] = relationship()
    elder: Mapped[Elder] = relationship()
    option: Mapped[MenuOption | None] = relationship()
    order: Mapped["Order | None"] = relationship(back_populates="meal")

    @classmethod
    def from_order(cls, order: "Order", holds: Holds, **fields) -> "Meal":
        """The meal an order became (a booking eaten, a delivery delivered): the order's
        menu, option and priced snapshot, the holds it handed over, and what is still owed
        after what was paid ahead. `meals.services.record_meal` judges it before it counts."""
        of_order = {
            "canteen_id": order.canteen_id,
            "elder_id": order.elder_id,
            "date": order.date,
            "slot": order.slot,
            "menu_id": order.menu_id,
            "option_id": order.option_id,
            "order_id": order.id,
        }
        meal = cls(**{**of_order, **fields, **holds.columns()})
        copy_price(meal, order)
        meal.to_collect_fen = meal.elder_pays_fen - order.paid_fen
        return meal


class Order(db.Model):
    """A meal ordered ahead, for delivery or as a dine-in booking that holds a seat.

    Priced once when placed, like a meal, and never repriced: a menu's later price change
    leaves it alone. The `holds_*` flags say which shared counts it took, so a
    cancellation or a no-show gives back exactly those; `paid_fen` is what was taken
    from the meal balance, refunded when the order comes to nothing."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(sql_in("slot", Slot), name="slot"),
        CheckConstraint(sql_in("channel", CHANNELS), name="channel"),
        CheckConstraint(sql_in("status", OrderStatus), name="status"),
        CheckConstraint(sql_in("payment_method", OrderPayment), name="payment_method"),
        *priced_snapshot_checks(),
        CheckConstraint("paid_fen >= 0 AND paid_fen <= elder_pays_fen", name="paid_in_range"),
        CheckConstraint("channel <> 'delivery' OR address IS NOT NULL", name="delivery_address"),
        CheckConstraint("channel = 'delivery' OR NOT holds_delivery", name="delivery_hold"),
        CheckConstraint("channel = 'dine_in' OR NOT holds_seat", name="seat_hold"),
        # A standing order places at most one order a day.
        UniqueConstraint("standing_order_id", "date", name="one_per_standing_order_and_date"),
        Index("ix_orders_elder_date_slot", "elder_id", "date", "slot"),
        Index("ix_orders_menu_status", "menu_id", "status"),
        # The month's orders, for the claim check delivery_unconfirmed.
        Index("ix_orders_date_status", "date", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"))
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"), index=True)
    menu_id: Mapped[int] = mapped_column(ForeignKey("menus.id"))
    option_id: Mapped[int] = mapped_column(ForeignKey("menu_options.id"))
    date: Mapped[dt.date]
    slot: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default=OrderStatus.CONFIRMED)
    address: Mapped[str | None] = mapped_column(String(200))

    # The priced snapshot.
    policy_version: Mapped[int | None] = mapped_column(ForeignKey("subsidy_policies.id"))
    tier: Mapped[str | None] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(32))
    price_fen: Mapped[int]
    delivery_fee_fen: Mapped[int] = mapped_column(default=0)
    subsidy_fen: Mapped[int]
    delivery_subsidy_fen: Mapped[int] = mapped_column(default=0)
    elder_pays_fen: Mapped[int]

    payment_method: Mapped[str] = mapped_column(String(12))
    paid_fen: Mapped[int] = mapped_column(default=0)

    holds_seat: Mapped[bool] = mapped_column(default=False)
    holds_delivery: Mapped[bool] = mapped_column(default=False)
    holds_slot: Mapped[bool] = mapped_column(default=False)
    holds_subsidy: Mapped[bool] = mapped_column(default=False)

    standing_order_id: Mapped[int | None] = mapped_column(ForeignKey("standing_orders.id"))
    # Delivery: the run it went out in, how far it got, and what the door said.
    run_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_runs.id"), index=True)
    delivery_stage: Mapped[str | None] = mapped_column(String(12))  # accepted, picked_up
    delivery_code: Mapped[str | None] = mapped_column(String(6))  # the elder gives it at the door
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str | None] = mapped_column(String(64))
    proof: Mapped[str | None] = mapped_column(String(200))
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    # Why the registry cancelled it (canteen_blacklisted, elder_inactive); None: by a person.
    cancel_reason: Mapped[str | None] = mapped_column(String(32))

    canteen: Mapped[Canteen] = relationship()
    elder: Mapped[Elder] = relationship()
    option: Mapped[MenuOption] = relationship()
    meal: Mapped[Meal | None] = relationship(back_populates="order")


class StandingOrder(db.Model):
    """ "Lunch delivered every weekday": the scheduler places an order from it for each
    published menu of its canteen and slot on its weekdays, until it is stopped, except
    on the dates a hold covers."""

    __tablename__ = "standing_orders"
    __table_args__ = (
        CheckConstraint(sql_in("slot", Slot), name="slot"),
        CheckConstraint(sql_in("channel", CHANNELS), name="channel"),
        CheckConstraint(sql_in("payment_method", OrderPayment), name="payment_method"),
        # Monday first: "1111100" is every weekday.
        CheckConstraint("length(weekdays) = 7", name="weekdays"),
        CheckConstraint("channel <> 'delivery' OR address IS NOT NULL", name="delivery_address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"), index=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"), index=True)
    slot: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    weekdays: Mapped[str] = mapped_column(String(7))
    # The option chosen each day: the first carrying this tag (soft, low-salt...), else the first.
    preferred_tag: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))
    payment_method: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_by: Mapped[str | None] = mapped_column(String(64))

    canteen: Mapped[Canteen] = relationship()
    elder: Mapped[Elder] = relationship()
    holds: Mapped[list["StandingOrderHold"]] = relationship(
        order_by="StandingOrderHold.starts_on", cascade="all, delete-orphan"
    )


class StandingOrderHold(db.Model):
    """Dates away (hospital, a family visit): no orders from `starts_on` to `ends_on`
    inclusive; the standing order resumes by itself the day after."""

    __tablename__ = "standing_order_holds"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates_in_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standing_order_id: Mapped[int] = mapped_column(
        ForeignKey("standing_orders.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rating(db.Model):
    """An elder's (or a relative's) rating of a meal eaten: 1 to 5 and a comment."""

    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_ratings_canteen_rated_at", "canteen_id", "rated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meal_id: Mapped[int] = mapped_column(ForeignKey("meals.id"), unique=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"))
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(String(300))
    rated_by: Mapped[str] = mapped_column(String(64))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meal: Mapped[Meal] = relationship()


class SlotTally(db.Model):
    """How many meals (and, later, live orders) an elder has in one slot of one local
    date, at every canteen. It moves only by a conditional UPDATE, and the CHECK makes the
    database itself refuse one beyond the policy's `max_meals_per_slot`."""

    __tablename__ = "slot_tallies"
    __table_args__ = (
        CheckConstraint(sql_in("slot", Slot), name="slot"),
        CheckConstraint("taken >= 0 AND taken <= allowed", name="within_limit"),
    )

    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"), primary_key=True)
    # dt.date: a bare `date` would be this very column by the time the annotation is read.
    date: Mapped[dt.date] = mapped_column(primary_key=True)
    slot: Mapped[str] = mapped_column(String(10), primary_key=True)
    taken: Mapped[int] = mapped_column(default=0)
    allowed: Mapped[int]


class SubsidyTally(db.Model):
    """How many subsidized meals an elder had on one local date, against the policy's
    `max_subsidized_per_day`; moved and bounded as SlotTally is."""

    __tablename__ = "subsidy_tallies"
    __table_args__ = (CheckConstraint("taken >= 0 AND taken <= allowed", name="within_limit"),)

    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"), primary_key=True)
    # dt.date: a bare `date` would be this very column by the time the annotation is read.
    date: Mapped[dt.date] = mapped_column(primary_key=True)
    taken: Mapped[int] = mapped_column(default=0)
    allowed: Mapped[int]


# A scan writes these after reading the stamps, and they change none (core.stamps).
keep_stamps(Meal.__table__, SlotTally.__table__, SubsidyTally.__table__)
