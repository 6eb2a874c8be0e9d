"""Oversight records. The personal-data access log: who reached which elder's personal
data, when, where and why, for the district's officials to review."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mealservice.core.db import UTCDateTime, sql_in, utcnow
from mealservice.extensions import db


class Access(StrEnum):
    COUNTER_LOOKUP = "counter_lookup"  # name and phone digits searched at a counter
    CARDLESS_SCAN = "cardless_scan"  # a meal served by elder id, without the card


class AccessLogEntry(db.Model):
    __tablename__ = "access_log"
    __table_args__ = (
        CheckConstraint(sql_in("action", Access), name="action"),
        Index("ix_access_log_elder_at", "elder_id", "at"),
        Index("ix_access_log_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    canteen_id: Mapped[int | None] = mapped_column(ForeignKey("canteens.id"))
    # None for a look-up that found nobody: the search itself is still recorded.
    elder_id: Mapped[int | None] = mapped_column(ForeignKey("elders.id"))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(100))
