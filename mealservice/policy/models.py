from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in
from mealservice.policy.pricing import TIER_CHANNELS


class SubsidyPolicy(db.Model):
    """One version of a district's meal subsidy policy, in force from its date until the
    next version's. A served meal keeps the version it was priced under."""

    __tablename__ = "subsidy_policies"
    __table_args__ = (
        UniqueConstraint("district_code", "effective_from", name="uq_policy_version_date"),
        CheckConstraint("max_meals_per_slot >= 1", name="slot_limit_positive"),
        CheckConstraint(
            "max_subsidized_per_day IS NULL OR max_subsidized_per_day >= 1",
            name="daily_limit_positive",
        ),
        CheckConstraint("delivery_subsidy_fen >= 0", name="delivery_subsidy_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    effective_from: Mapped[date]
    no_subsidy_on_holidays: Mapped[bool] = mapped_column(default=True)
    max_meals_per_slot: Mapped[int] = mapped_column(default=1)
    max_subsidized_per_day: Mapped[int | None]
    refuse_beyond_limit: Mapped[bool] = mapped_column(default=True)
    delivery_subsidy_fen: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))

    tiers: Mapped[list["PolicyTier"]] = relationship(
        order_by="PolicyTier.position", cascade="all, delete-orphan"
    )


class PolicyTier(db.Model):
    __tablename__ = "policy_tiers"
    __table_args__ = (
        CheckConstraint(sql_in("channel", TIER_CHANNELS), name="channel"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint("min_age IS NULL OR min_age >= 0", name="min_age_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("subsidy_policies.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))
    min_age: Mapped[int | None]
    categories: Mapped[list | None] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(10))
    amount_fen: Mapped[int]


class Holiday(db.Model):
    """The statutory holiday calendar (法定节假日): data, not code."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
