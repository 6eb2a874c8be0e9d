"""Oversight records: the audit log (every change to a money-bearing record, written by
the database itself, core.audit) and inspections."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in


class AuditEntry(db.Model):
    """One change to a money-bearing row (meals, cards, balances, policies, claims and
    their review): who, when, and the row before and after, as JSON.

    Written by triggers, so no path that writes those tables can skip it, and protected by
    triggers that refuse UPDATE and DELETE (core.audit)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("action IN ('insert', 'update', 'delete')", name="action"),
        Index("ix_audit_log_table_row", "table_name", "row_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    table_name: Mapped[str] = mapped_column(String(40))
    row_key: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(6))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class InspectionResult(StrEnum):
    PASSED = "passed"
    RECTIFY = "rectify"  # passed on condition of fixing what the checklist found
    FAILED = "failed"


# The checklist an inspector fills in (双随机、一公开 spot checks of a meal place).
CHECKLIST = (
    "food_safety_licence",  # 食品经营许可证在有效期
    "kitchen_hygiene",  # 后厨卫生
    "food_samples_kept",  # 留样48小时
    "prices_displayed",  # 价格公示
    "subsidy_notice_displayed",  # 补贴政策公示
    "fire_safety",  # 消防安全
    "accessible_seating",  # 适老化座位与通道
    "meal_records_match",  # 就餐记录与现场一致
)


class Inspection(db.Model):
    """A random inspection: a canteen and an inspector drawn by the system, and the
    checklist the inspector recorded. Results are published without personal data."""

    __tablename__ = "inspections"
    __table_args__ = (
        CheckConstraint(f"result IS NULL OR {sql_in('result', InspectionResult)}", name="result"),
        CheckConstraint("(result IS NULL) = (recorded_at IS NULL)", name="recorded_result"),
        Index("ix_inspections_district_drawn", "district_code", "drawn_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    draw_id: Mapped[str] = mapped_column(String(32))  # the draw that chose it
    drawn_by: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    result: Mapped[str | None] = mapped_column(String(10))
    checklist: Mapped[dict | None] = mapped_column(JSON)  # item → true (fine) / false
    findings: Mapped[str | None] = mapped_column(String(1000))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
