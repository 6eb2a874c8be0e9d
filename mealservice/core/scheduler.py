"""The timed work, in one place: the JOBS table, run by the one `flask --app wsgi scheduler`
process (never inside web workers).

Each run of a job is claimed first by inserting its row in `job_runs`, keyed by the job and
the moment the trigger fired. Several schedulers started by mistake fire at the same
moments and race for the same row: the primary key lets one insert win, on SQLite and
PostgreSQL alike, and the others skip that run. Every job is idempotent, so a rerun after
a crash does no harm."""

import gc
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import String, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.utils import import_string

from mealservice.core.audit import acting
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db
from mealservice.core.idempotency import IdempotentRequest

log = logging.getLogger(__name__)


class JobRun(db.Model):
    """The lease row of one run of a job: who claimed it and how it ended."""

    __tablename__ = "job_runs"

    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(200))


IDEMPOTENCY_KEPT_FOR = timedelta(days=1)
JOB_RUNS_KEPT_FOR = timedelta(days=30)


# The jobs. Each runs in its own transaction, committed by `run_leased` (the scheduler's
# counterpart of the request transaction), and must be idempotent: a run that crashed
# half-way, or a copy of the scheduler that lost its clock, may run it again.
@dataclass(frozen=True)
class ScheduledJob:
    id: str  # stable: the lease rows of job_runs are keyed by it
    func: str | Callable[[], object]  # a dotted path, imported when the job runs
    cron: dict  # CronTrigger fields, in the TIMEZONE setting's zone
    done: str = "done"  # the outcome's verb: "placed 3"


def purge_idempotent_requests(now: datetime | None = None) -> int:
    """Forget Idempotency-Keys after a day: a terminal repeats a request within minutes,
    and the stored responses hold personal data nobody needs after that."""
    cutoff = (now or utcnow()) - IDEMPOTENCY_KEPT_FOR
    return db.session.execute(
        delete(IdempotentRequest)
        .where(IdempotentRequest.claimed_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount


def purge_job_runs(now: datetime | None = None) -> int:
    """Keep a month of lease rows to look back on; older ones only grow the table."""
    cutoff = (now or utcnow()) - JOB_RUNS_KEPT_FOR
    return db.session.execute(
        delete(JobRun).where(JobRun.fire_time < cutoff).execution_options(synchronize_session=False)
    ).rowcount


JOBS: tuple[ScheduledJob, ...] = (
    # Stamp the menus whose ordering cutoff passed: the kitchen's counts are final.
    ScheduledJob(
        "close_ordering", "mealservice.meals.orders.close_ordering", {"minute": "*"}, "closed"
    ),
    # Bookings nobody came for by the end of their slot give their seats back.
    ScheduledJob(
        "mark_no_shows", "mealservice.meals.orders.mark_no_shows", {"minute": "*/5"}, "marked"
    ),
    ScheduledJob(
        "place_standing_orders",
        "mealservice.meals.standing.place_standing_orders",
        {"minute": "*/15"},
        "placed",
    ),
    # The delivery outbox: jobs written with their runs go to the platforms, retried
    # with backoff while one is down.
    ScheduledJob(
        "dispatch_deliveries",
        "mealservice.delivery.services.dispatch_pending",
        {"minute": "*"},
        "sent",
    ),
    # Last month's subsidy claim for every canteen, once its grace period has passed.
    # Deliveries nobody has reported on for long are asked about; lost ones end as failed.
    ScheduledJob(
        "reconcile_deliveries",
        "mealservice.delivery.services.reconcile_deliveries",
        {"minute": "*/10"},
        "settled",
    ),
    ScheduledJob(
        "make_claims",
        "mealservice.claims.services.make_due_claims",
        {"hour": 1, "minute": 10},
        "made",
    ),
    # Regular diners not seen for days: a welfare alert for their community.
    ScheduledJob(
        "raise_absence_alerts",
        "mealservice.oversight.services.warnings.raise_absence_alerts",
        {"hour": 8, "minute": 0},
        "raised",
    ),
    ScheduledJob(
        "purge_idempotent_requests", purge_idempotent_requests, {"hour": 3, "minute": 30}, "purged"
    ),
    ScheduledJob("purge_job_runs", purge_job_runs, {"hour": 3, "minute": 40}, "purged"),
)

# A run later than this after its fire time is skipped (logged by APScheduler); the next
# one catches up, since every job is idempotent.
MISFIRE_GRACE_S = 60

HOLDER = f"{socket.gethostname()}:{os.getpid()}"[:80]


def claim_run(job_id: str, fire_time: datetime, holder: str) -> bool:
    """Insert the run's lease row in its own short transaction: True when this process
    has the run, False when another copy of the scheduler inserted it first."""
    try:
        db.session.execute(
            insert(JobRun).values(
                job_id=job_id, fire_time=fire_time, holder=holder, started_at=utcnow()
            )
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def finish_run(job_id: str, fire_time: datetime, outcome: str) -> None:
    db.session.execute(
        update(JobRun)
        .where(JobRun.job_id == job_id, JobRun.fire_time == fire_time)
        .values(finished_at=utcnow(), outcome=outcome[:200])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def run_leased(app: Flask, job: ScheduledJob, fire_time: datetime | None = None) -> str | None:
    """One run of a job: claim it, run it in the app context, commit, record how it
    ended. A job that raises is rolled back and its error recorded; the scheduler goes on.

    `fire_time` is given by LeasingExecutor (APScheduler checks the arguments it is
    given itself when a job is added, hence the default)."""
    if fire_time is None:
        raise TypeError("run_leased needs the run's fire time; schedule it with LeasingExecutor")
    with app.app_context(), acting(f"scheduler:{job.id}"):
        if not claim_run(job.id, fire_time, HOLDER):
            log.info("%s at %s: another scheduler has this run; skipped", job.id, fire_time)
            return None
        try:
            func = import_string(job.func) if isinstance(job.func, str) else job.func
            result = func()
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            log.exception("%s at %s failed", job.id, fire_time)
            outcome = f"error: {type(error).__name__}: {error}"
        else:
            outcome = f"{job.done} {result}" if isinstance(result, int) else job.done
            log.info("%s at %s: %s", job.id, fire_time, outcome)
        finish_run(job.id, fire_time, outcome)
        return outcome


class _AtFireTime:
    """A job as APScheduler's `run_job` sees it, with the moment its trigger fired added
    to its arguments: that moment keys the lease row, and every copy of the scheduler
    computes the same one from the same cron trigger."""

    def __init__(self, job, fire_time: datetime):
        self._job = job
        self.args = (*job.args, fire_time)

    def __getattr__(self, name):
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class LeasingExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, handing each run its scheduled fire time (APScheduler 3
    tells a job function nothing of it). Jobs coalesce, so a run has one fire time: the
    latest of those missed."""

    def _do_submit_job(self, job, run_times):
        super()._do_submit_job(_AtFireTime(job, run_times[-1]), run_times[-1:])


def build_scheduler(app: Flask, every: int | None = None) -> BlockingScheduler:
    """The scheduler with every job of JOBS; `every` fires them all at every N-th second
    instead (tests, the demo)."""
    zone = ZoneInfo(app.config["TIMEZONE"])
    scheduler = BlockingScheduler(
        timezone=zone,
        executors={"default": LeasingExecutor(max_workers=len(JOBS))},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_S,
        },
    )
    for job in JOBS:
        fields = {"second": f"*/{every}"} if every else job.cron
        scheduler.add_job(
            run_leased,
            CronTrigger(**fields, timezone=zone),
            args=(app, job),
            id=job.id,
            name=job.id,
        )
    return scheduler


def settle_heap() -> None:
    """Put what the process holds once started (modules, the app, its mappers and
    compiled statements) out of the garbage collector's sight. A full collection walks the
    whole heap, some 240,000 objects and 0.1-0.2 s once the app is made, and lands inside
    whichever job happens to be running: a month's claims took twice as long in half the
    runs. What the jobs allocate is still collected as before."""
    gc.collect()
    gc.freeze()


def run(app: Flask, every: int | None = None, run_for: float | None = None) -> None:
    """Run the scheduler in this process until stopped (Ctrl-C, SIGTERM) or for
    `run_for` seconds; the runs under way finish first."""
    scheduler = build_scheduler(app, every)
    settle_heap()

    def stop() -> None:
        if scheduler.running:
            scheduler.shutdown()

    if run_for is not None:
        timer = threading.Timer(run_for, stop)
        timer.daemon = True
        # Counted from the start proper, so a short run_for cannot end it before it began.
        scheduler.add_listener(lambda _: timer.start(), EVENT_SCHEDULER_STARTED)
    if threading.current_thread() is threading.main_thread():
        # `kill` (as `make demo` does on its way out) stops it as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("scheduler %s started with %s", HOLDER, ", ".join(job.id for job in JOBS))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop()
    log.info("scheduler %s stopped", HOLDER)
