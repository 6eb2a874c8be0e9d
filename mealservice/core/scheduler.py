"""The timed work, in one place: the JOBS table, run by the one `flask --app wsgi scheduler`
process (never inside web workers).

Each run of a job is claimed first by inserting its row in `job_runs`, keyed by the job and
the moment the trigger fired. Several schedulers started by mistake fire at the same
moments and race for the same row: the primary key lets one insert win, on SQLite and
PostgreSQL alike, and the others skip that run. Every job is idempotent, so a rerun after
a crash does no harm."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mealservice.core.db import UTCDateTime, utcnow
from mealservice.extensions import db


class JobRun(db.Model):
    """The lease row of one run of a job: who claimed it and how it ended."""

    __tablename__ = "job_runs"

    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(200))
