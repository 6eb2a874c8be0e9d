"""Monthly subsidy claims, their anomalies and their review.

A claim's lines are the canteen's stored meals of the month, read where they lie: once a
claim exists the month is closed to new scans, voids and orders, so they cannot change
under it, and a revision only reads them again. Only what the review adds is stored: the
anomalies found, the lines rejected, and every decision."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in
from mealservice.places.models import Canteen


class ClaimStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    REJECTED = "rejected"


DECIDED = (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED, ClaimStatus.REJECTED)


class AnomalyCode(StrEnum):
    DUPLICATE_IN_SLOT = "duplicate_in_slot"
    TWO_PLACES = "two_places"
    OVER_CAPACITY = "over_capacity"
    HOLIDAY_SUBSIDY = "holiday_subsidy"
    DELIVERY_UNCONFIRMED = "delivery_unconfirmed"
    CARD_NOT_VALID = "card_not_valid"
    ELDER_INACTIVE = "elder_inactive"
    OFFLINE_CONFLICT = "offline_conflict"
    # Not a check on the meals: an official's phone call found the line untrue (随机抽查).
    SAMPLE_FAILED = "sample_failed"


# The codes the checks of claims.anomalies find again whenever they run.
CHECKED_CODES = tuple(code for code in AnomalyCode if code != AnomalyCode.SAMPLE_FAILED)


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Claim(db.Model):
    """One revision of a canteen's claim for one month, with its totals as made.

    The database refuses to change or delete a decided claim (a trigger, see
    claims.protection), so a decision cannot be silently undone."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("canteen_id", "month", "revision", name="uq_claims_canteen_month_rev"),
        CheckConstraint(sql_in("status", ClaimStatus), name="status"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint(
            "meals >= 0 AND subsidized_meals >= 0 AND subsidized_meals <= meals"
            " AND meal_subsidy_fen >= 0 AND delivery_subsidy_fen >= 0"
            " AND operating_subsidy_fen >= 0",
            name="totals_in_range",
        ),
        CheckConstraint(
            "total_fen = meal_subsidy_fen + delivery_subsidy_fen + operating_subsidy_fen",
            name="total_adds_up",
        ),
        CheckConstraint(
            "(status = 'submitted') = (approved_fen IS NULL)"
            " AND (approved_fen IS NULL OR (approved_fen >= 0 AND approved_fen <= total_fen))",
            name="approved_when_decided",
        ),
        Index("ix_claims_district_month_status", "district_code", "month", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"))
    # Kept with the claim so officials list their district's claims without a join.
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    month: Mapped[str] = mapped_column(String(7))  # "YYYY-MM", local to the district
    revision: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default=ClaimStatus.SUBMITTED)

    meals: Mapped[int]
    subsidized_meals: Mapped[int]
    meal_subsidy_fen: Mapped[int]
    delivery_subsidy_fen: Mapped[int]
    operating_subsidy_fen: Mapped[int]
    total_fen: Mapped[int]
    approved_fen: Mapped[int | None]

    made_by: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the anomaly checks last ran (again after a status change or a new holiday).
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    canteen: Mapped[Canteen] = relationship()
    anomalies: Mapped[list["ClaimAnomaly"]] = relationship(
        order_by="ClaimAnomaly.id", cascade="all, delete-orphan", passive_deletes=True
    )
    reviews: Mapped[list["ClaimReview"]] = relationship(order_by="ClaimReview.id")

    @property
    def decided(self) -> bool:
        return self.status in DECIDED


class ClaimAnomaly(db.Model):
    """Something a check found in the claim's meals: the meals concerned and why."""

    __tablename__ = "claim_anomalies"
    __table_args__ = (CheckConstraint(sql_in("code", AnomalyCode), name="code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(24))
    elder_id: Mapped[int | None] = mapped_column(ForeignKey("elders.id"))
    meal_ids: Mapped[list] = mapped_column(JSON)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ClaimReview(db.Model):
    """An official's decision on a claim: who, when, why, and what it approved."""

    __tablename__ = "claim_reviews"
    __table_args__ = (CheckConstraint(sql_in("decision", Decision), name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    decision: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    approved_fen: Mapped[int]
    rejected_meals: Mapped[int] = mapped_column(default=0)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SampleOutcome(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"  # the elder confirmed the meal on the phone
    FAILED = "failed"  # the meal did not happen as claimed
    UNREACHABLE = "unreachable"


class SampleCheck(db.Model):
    """One line of a claim drawn at random for phone verification (随机抽查), and what the
    call found. A failed check becomes a `sample_failed` anomaly on the claim."""

    __tablename__ = "claim_sample_checks"
    __table_args__ = (
        UniqueConstraint("claim_id", "meal_id", name="uq_claim_sample_checks_claim_meal"),
        CheckConstraint(sql_in("outcome", SampleOutcome), name="outcome"),
        CheckConstraint(
            "(outcome = 'pending') = (checked_at IS NULL)", name="checked_when_not_pending"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    meal_id: Mapped[int] = mapped_column(ForeignKey("meals.id"))
    drawn_by: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(12), default=SampleOutcome.PENDING)
    note: Mapped[str | None] = mapped_column(String(300))
    checked_by: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RejectedLine(db.Model):
    """A meal of a claim the official refused to pay for, and why."""

    __tablename__ = "claim_rejected_lines"

    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), primary_key=True)
    meal_id: Mapped[int] = mapped_column(ForeignKey("meals.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
