"""The scheduler: the JOBS table, each run claimed once however many copies run, a job
that fails recorded and the others going on — and two real scheduler processes at once."""

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mealservice.core.clock import utcnow
from mealservice.core.db import db as _db
from mealservice.core.idempotency import IdempotentRequest
from mealservice.core.scheduler import (
    JOBS,
    JobRun,
    ScheduledJob,
    build_scheduler,
    claim_run,
    purge_idempotent_requests,
    purge_job_runs,
    run_leased,
)
from mealservice.meals.models import Order
from mealservice.meals.standing import create_standing_order
from tests import factories
from tests.conftest import ROOT, clock_environment, empty_tables

FIRE_TIME = datetime(2026, 12, 1, 4, 15, tzinfo=UTC)


def test_the_jobs_have_stable_unique_ids():
    ids = [job.id for job in JOBS]
    assert len(ids) == len(set(ids))
    assert {
        "close_ordering",
        "mark_no_shows",
        "place_standing_orders",
        "purge_idempotent_requests",
    } <= set(ids)
    assert all(len(job_id) <= 40 for job_id in ids)  # job_runs.job_id


def test_two_claims_of_the_same_run_one_wins(db):
    assert claim_run("place_standing_orders", FIRE_TIME, "host-a:1") is True
    assert claim_run("place_standing_orders", FIRE_TIME, "host-b:2") is False
    # Another fire time, or another job at the same moment, is another run.
    assert claim_run("place_standing_orders", FIRE_TIME + timedelta(minutes=15), "host-b:2")
    assert claim_run("close_ordering", FIRE_TIME, "host-b:2")
    runs = db.session.execute(select(JobRun.job_id, JobRun.fire_time, JobRun.holder)).all()
    assert sorted(runs) == [
        ("close_ordering", FIRE_TIME, "host-b:2"),
        ("place_standing_orders", FIRE_TIME, "host-a:1"),
        ("place_standing_orders", FIRE_TIME + timedelta(minutes=15), "host-b:2"),
    ]


def test_a_run_records_its_outcome(app, db):
    job = ScheduledJob("test_counting", lambda: 3, {"minute": "*"}, "counted")
    assert run_leased(app, job, FIRE_TIME) == "counted 3"
    run = db.session.get(JobRun, ("test_counting", FIRE_TIME))
    assert run.outcome == "counted 3" and run.finished_at is not None
    assert run.finished_at >= run.started_at


def test_a_run_claimed_elsewhere_is_skipped(app, db):
    calls = []
    job = ScheduledJob("test_skipped", lambda: calls.append(1), {"minute": "*"})
    claim_run("test_skipped", FIRE_TIME, "elsewhere:1")
    assert run_leased(app, job, FIRE_TIME) is None
    assert calls == []


def test_a_failing_job_records_its_error_and_is_rolled_back(app, db):
    user = factories.create_user("admin")

    def failing():
        _db.session.add(IdempotentRequest(user_id=user.id, key="k", fingerprint="f"))
        _db.session.flush()
        raise RuntimeError("the platform is down " + "!" * 300)

    outcome = run_leased(app, ScheduledJob("test_failing", failing, {}), FIRE_TIME)
    assert outcome.startswith("error: RuntimeError: the platform is down")
    run = db.session.get(JobRun, ("test_failing", FIRE_TIME))
    assert run.outcome == outcome[:200] and run.finished_at is not None
    assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0
    # The next job runs as usual.
    assert run_leased(app, ScheduledJob("test_next", lambda: 0, {}, "did"), FIRE_TIME) == "did 0"


def test_every_copy_computes_the_same_fire_times(app):
    now = datetime.now(UTC)
    first, second = build_scheduler(app), build_scheduler(app)
    for job in JOBS:
        a = first.get_job(job.id).trigger.get_next_fire_time(None, now)
        b = second.get_job(job.id).trigger.get_next_fire_time(None, now)
        assert a == b and a.microsecond == 0 and a.second == 0


def test_every_replaces_every_trigger_by_every_nth_second(app):
    scheduler = build_scheduler(app, every=5)
    now = datetime(2026, 12, 1, 4, 15, 1, 500, tzinfo=UTC)
    for job in JOBS:
        fire = scheduler.get_job(job.id).trigger.get_next_fire_time(None, now)
        assert fire == datetime(2026, 12, 1, 4, 15, 5, tzinfo=UTC)


def test_idempotency_keys_older_than_a_day_are_purged(db):
    user = factories.create_user("admin")
    now = utcnow()
    for key, age in (("old", timedelta(hours=25)), ("fresh", timedelta(hours=23))):
        db.session.add(
            IdempotentRequest(user_id=user.id, key=key, fingerprint="f", claimed_at=now - age)
        )
    db.session.commit()
    assert purge_idempotent_requests(now) == 1
    assert db.session.scalars(select(IdempotentRequest.key)).all() == ["fresh"]
    assert purge_idempotent_requests(now) == 0


def test_job_runs_older_than_a_month_are_purged(db):
    claim_run("close_ordering", FIRE_TIME - timedelta(days=31), "a:1")
    claim_run("close_ordering", FIRE_TIME - timedelta(days=29), "a:1")
    assert purge_job_runs(FIRE_TIME) == 1
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_the_command_refuses_a_bad_interval(runner):
    result = runner.invoke(args=["scheduler", "--every", "0"])
    assert result.exit_code == 2 and "--every" in result.output


# Two real scheduler processes on one committed database.


@pytest.fixture
def committed_standing_order(app, committed):
    district = factories.create_district()
    canteen = factories.create_canteen(district)
    elder = factories.create_elder(district, canteen.community)
    factories.create_policy(district)
    tomorrow = district.local_today() + timedelta(days=1)
    factories.create_menu(canteen, tomorrow)
    data = {
        "elder_id": elder.id,
        "canteen_id": canteen.id,
        "slot": "lunch",
        "channel": "delivery",
        "weekdays": "1111111",
    }
    standing_order = create_standing_order(None, data)
    committed.session.commit()
    standing_order_id = standing_order.id
    # Reading after a commit opened a transaction; on SQLite it holds the write lock.
    committed.session.commit()
    try:
        yield standing_order_id
    finally:
        # The test's reads hold a transaction (on SQLite the write lock) until let go.
        committed.session.remove()
        empty_tables(app)


@pytest.mark.live
def test_two_schedulers_at_once_run_each_job_once_per_fire_time(
    database_url, committed, committed_standing_order
):
    env = clock_environment(
        MEALSERVICE_ENV="testing", DATABASE_URL=database_url, TEST_DATABASE_URL=database_url
    )
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "scheduler",
        "--every",
        "1",
        "--run-for",
        "4",
    ]
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=30)[0] for process in processes]

    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert f":{process.pid} started" in output, output
        assert f":{process.pid} stopped" in output, output
    committed.session.remove()
    runs = committed.session.execute(
        select(JobRun.job_id, JobRun.fire_time, JobRun.holder, JobRun.outcome)
    ).all()
    per_run = Counter((job_id, fire_time) for job_id, fire_time, _, _ in runs)
    assert per_run and set(per_run.values()) == {1}
    # Both ran every job at each second they were both up; every run finished cleanly.
    assert {job_id for job_id, _ in per_run} == {job.id for job in JOBS}
    assert all(outcome and not outcome.startswith("error") for *_, outcome in runs), runs
    skipped = sum(output.count("another scheduler has this run") for output in outputs)
    assert skipped > 0, outputs
    # The standing order placed tomorrow's lunch once, however many runs looked at it.
    placed = committed.session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.standing_order_id == committed_standing_order)
    )
    assert placed == 1
    outcomes = [o for job_id, _, _, o in runs if job_id == "place_standing_orders"]
    assert outcomes.count("placed 1") == 1, outcomes
