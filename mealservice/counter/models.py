"""Counter terminals (a tablet at a canteen's counter, with an account of its own) and
the queued offline scans the service refused, kept until a person resolves them."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.accounts.models import User
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in
from mealservice.places.models import Canteen


class Terminal(db.Model):
    """A counter terminal acts through a cashier account of its own that nobody knows the
    password of. Revoking the terminal switches that account off, which ends its token and
    its browser session and touches no person's password."""

    __tablename__ = "terminals"
    __table_args__ = (UniqueConstraint("canteen_id", "name", name="name_per_canteen"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))

    canteen: Mapped[Canteen] = relationship()
    user: Mapped[User] = relationship()


class Resolution(StrEnum):
    RETRIED = "retried"  # recorded as a meal after all, with a slot a person chose
    DISMISSED = "dismissed"  # a person decided no meal is to be recorded, and said why


# Which refused scans a list shows.
REFUSED_SCAN_STATUSES = ("open", "resolved", "all")


class RefusedScan(db.Model):
    """A scan a terminal queued while offline that the service refused when it was sent
    (a card that is no card, a month since closed, a scan too old): a meal was handed out
    and left no record, so it is kept, reported by the terminal, until a cashier or
    manager retries it or dismisses it with a reason. The database holds what a resolved
    row must say, so no path can close one silently."""

    __tablename__ = "refused_scans"
    __table_args__ = (
        # The page's Idempotency-Key of the queued scan: a page that reports twice
        # reports one row.
        UniqueConstraint("canteen_id", "key"),
        CheckConstraint(sql_in("resolution", Resolution), name="resolution"),
        CheckConstraint(
            "(resolution IS NULL AND resolved_at IS NULL AND resolved_by IS NULL"
            " AND resolution_reason IS NULL AND meal_id IS NULL)"
            " OR (resolution IS NOT NULL AND resolved_at IS NOT NULL AND resolved_by IS NOT NULL)",
            name="resolved_whole",
        ),
        CheckConstraint(
            "resolution IS NULL OR resolution <> 'dismissed'"
            " OR (resolution_reason IS NOT NULL AND length(trim(resolution_reason)) > 0)",
            name="dismissed_with_reason",
        ),
        CheckConstraint(
            "resolution IS NULL OR resolution <> 'retried' OR meal_id IS NOT NULL",
            name="retried_with_meal",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"))
    key: Mapped[str] = mapped_column(String(64))
    # What the page showed for it: the elder's name, or "卡 3fa2c1" for a card it knew not.
    label: Mapped[str | None] = mapped_column(String(80))
    # The queued body exactly as the page sends it to POST .../scans.
    scan: Mapped[dict] = mapped_column(JSON)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error_code: Mapped[str] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(String(500))
    reported_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolution_reason: Mapped[str | None] = mapped_column(String(200))
    meal_id: Mapped[int | None] = mapped_column(ForeignKey("meals.id"))

    canteen: Mapped[Canteen] = relationship()

    @property
    def slot(self) -> str | None:
        return self.scan.get("slot")
