from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in
from mealservice.core.stamps import keep_stamps
from mealservice.places.models import Canteen, Slot


class MenuStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Menu(db.Model):
    """A canteen's menu for one local date and slot, and the one count of its seats.

    `seats_used` is the single accounting of seats that scans and bookings share: it only
    moves through a conditional UPDATE, and the CHECK constraint makes the database itself
    refuse a seat beyond `seats`, however many requests race for the last one."""

    __tablename__ = "menus"
    __table_args__ = (
        UniqueConstraint("canteen_id", "date", "slot", name="uq_menus_canteen_date_slot"),
        CheckConstraint(sql_in("slot", Slot), name="slot"),
        CheckConstraint(sql_in("status", MenuStatus), name="status"),
        CheckConstraint("seats >= 0", name="seats_not_negative"),
        CheckConstraint("seats_used >= 0 AND seats_used <= seats", name="seats_used_within_seats"),
        CheckConstraint(
            "delivery_capacity IS NULL OR (delivery_used >= 0"
            " AND delivery_used <= delivery_capacity)",
            name="delivery_within_capacity",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"), index=True)
    date: Mapped[date]
    slot: Mapped[str] = mapped_column(String(10))
    seats: Mapped[int]
    seats_used: Mapped[int] = mapped_column(default=0)
    order_cutoff: Mapped[datetime] = mapped_column(UTCDateTime)
    delivery_capacity: Mapped[int | None]
    delivery_used: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default=MenuStatus.PUBLISHED)
    # Stamped by the scheduler once the cutoff passed: the kitchen's counts are final.
    ordering_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    canteen: Mapped[Canteen] = relationship()
    options: Mapped[list["MenuOption"]] = relationship(
        order_by="MenuOption.position", cascade="all, delete-orphan"
    )

    @property
    def seats_left(self) -> int:
        return self.seats - self.seats_used

    @hybrid_method
    def ordering_open(self, now: datetime):
        """Orders are taken, and cancelled, until the cutoff: one rule for Python and SQL."""
        return self.order_cutoff > now


class MenuOption(db.Model):
    __tablename__ = "menu_options"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
        CheckConstraint("delivery_fee_fen >= 0", name="delivery_fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    menu_id: Mapped[int] = mapped_column(ForeignKey("menus.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))
    price_fen: Mapped[int]
    delivery_fee_fen: Mapped[int] = mapped_column(default=0)
    dishes: Mapped[list] = mapped_column(JSON, default=list)
    tags: Mapped[list] = mapped_column(JSON, default=list)


# A scan takes a seat (UPDATE menus) after reading the stamps; menus change none.
keep_stamps(Menu.__table__)
