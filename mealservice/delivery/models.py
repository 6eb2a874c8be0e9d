"""Delivery runs handed to outside platforms (or volunteers), the outbox that sends them,
and every status report the platforms send back."""

import datetime as dt
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in
from mealservice.places.models import Canteen, Slot

# The platform of the canteen's own volunteers: its runs name the volunteer who carries them.
VOLUNTEER_PLATFORM = "volunteer"


class RunStatus(StrEnum):
    OPEN = "open"  # some orders not yet delivered or failed
    DONE = "done"  # every order delivered or failed


class DeliveryRun(db.Model):
    """One batch of a slot's delivery orders at one canteen, handed to one platform."""

    __tablename__ = "delivery_runs"
    __table_args__ = (
        CheckConstraint(sql_in("slot", Slot), name="slot"),
        CheckConstraint(sql_in("status", RunStatus), name="status"),
        Index("ix_delivery_runs_canteen_date_slot", "canteen_id", "date", "slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"))
    date: Mapped[dt.date]
    slot: Mapped[str] = mapped_column(String(10))
    platform: Mapped[str] = mapped_column(String(30))
    # The community the run was split by when the slot's orders were too many for one run.
    area: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default=RunStatus.OPEN)
    # For the `volunteer` platform: who carries the run.
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    canteen: Mapped[Canteen] = relationship()


class JobKind(StrEnum):
    CREATE = "create"
    CANCEL = "cancel"


class JobStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    GAVE_UP = "gave_up"


class DeliveryJob(db.Model):
    """The outbox: written in the same transaction as the run, sent afterwards by the
    scheduler, retried with backoff while the platform is down. The platform gets our order
    id as its idempotency key, so sending a job twice books one courier."""

    __tablename__ = "delivery_jobs"
    __table_args__ = (
        CheckConstraint(sql_in("kind", JobKind), name="kind"),
        CheckConstraint(sql_in("status", JobStatus), name="status"),
        UniqueConstraint("order_id", "kind", name="uq_delivery_jobs_order_kind"),
        Index("ix_delivery_jobs_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("delivery_runs.id"), index=True)
    platform: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10), default=JobKind.CREATE)
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    # What the platform calls the delivery, once it accepted the job.
    platform_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryEvent(db.Model):
    """A status report exactly as a platform sent it. The unique (platform, event_id) makes
    a duplicate report a no-op; `applied` says whether the state machine took it."""

    __tablename__ = "delivery_events"
    __table_args__ = (
        UniqueConstraint("platform", "event_id", name="uq_delivery_events_platform_event"),
        Index("ix_delivery_events_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(30))
    event_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    status: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(64))
    proof: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied: Mapped[bool] = mapped_column(default=False)
