"""Two app nodes on one database, as two machines behind a load balancer run them: two
gunicorn servers of two workers each, and two scheduler processes, all on the suite's
database (SQLite's one file, or PostgreSQL). The app holds no state of its own, so the
same cards scanned through both nodes at once must still give one meal per elder and
slot, and each scheduled run must happen once."""

import random
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from mealservice.claims.models import Claim
from mealservice.core.scheduler import JOBS, JobRun
from mealservice.elders.cards import payload_of
from mealservice.meals.models import Meal
from tests import factories
from tests.conftest import ROOT, LiveServer, clock_environment, empty_tables
from tests.test_concurrency import call

pytestmark = pytest.mark.live

ELDERS = 40
SCANS_PER_NODE = 3  # each card, through each node, for the same lunch


@pytest.fixture
def lunch(app, committed):
    """Today's lunch at two canteens, elders with cards, a cashier token per canteen."""
    district = factories.create_district()
    canteens = [factories.create_canteen(district) for _ in range(2)]
    factories.create_policy(district)  # one meal per slot
    for canteen in canteens:
        factories.create_menu(canteen, district.local_today(), "lunch", seats=ELDERS)
    elders = [factories.create_elder(district, canteens[0].community) for _ in range(ELDERS)]
    cards = {elder.id: payload_of(factories.create_card(elder)) for elder in elders}
    tokens = {
        canteen.id: factories.token_for(factories.create_user("cashier", canteen=canteen))
        for canteen in canteens
    }
    day = district.local_today()
    # Reading after a commit opened a transaction; on SQLite it holds the write lock.
    committed.session.commit()
    try:
        yield {"cards": cards, "tokens": tokens, "day": day}
    finally:
        committed.session.remove()
        empty_tables(app)


@pytest.fixture
def two_nodes(app, database_url, lunch):
    """Two independent servers started side by side (after `lunch`, stopped before it
    empties the tables)."""
    nodes: list[LiveServer] = []

    def start(_):
        node = LiveServer(app, database_url, workers=2)
        nodes.append(node)
        return node

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(start, range(2)))
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def start_schedulers(database_url: str, count: int = 2) -> list[subprocess.Popen]:
    env = clock_environment(
        MEALSERVICE_ENV="testing", DATABASE_URL=database_url, TEST_DATABASE_URL=database_url
    )
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"]
    return [
        subprocess.Popen(
            [*command, "--every", "1", "--run-for", "4"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(count)
    ]


def wait_until_started(process: subprocess.Popen) -> str:
    """The scheduler's output up to its start, so the scans race its runs."""
    lines = []
    while line := process.stdout.readline():
        lines.append(line)
        if " started with " in line:
            break
    return "".join(lines)


def test_two_nodes_and_two_schedulers_on_one_database_serve_each_meal_once(
    database_url, committed, lunch, two_nodes
):
    schedulers = start_schedulers(database_url)
    # Each card through each node several times, at either canteen, in no order.
    rng = random.Random(2026)
    canteen_ids = list(lunch["tokens"])
    scans = [
        (node, rng.choice(canteen_ids), elder_id)
        for node in two_nodes
        for elder_id in lunch["cards"]
        for _ in range(SCANS_PER_NODE)
    ]
    rng.shuffle(scans)
    started = [wait_until_started(process) for process in schedulers]

    def scan(job):
        node, canteen_id, elder_id = job
        body = {"qr_payload": lunch["cards"][elder_id], "slot": "lunch"}
        status, answer = call(
            node.url,
            "POST",
            f"/api/v1/canteens/{canteen_id}/scans",
            body,
            lunch["tokens"][canteen_id],
        )
        return node.port, elder_id, status, answer

    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(scan, scans))
    finally:
        outputs = [
            first + process.communicate(timeout=30)[0]
            for first, process in zip(started, schedulers, strict=True)
        ]

    logs = "\n".join(node.server_log()[-2000:] for node in two_nodes)
    answers = Counter(
        (status, answer.get("error", {}).get("code")) for _, _, status, answer in results
    )
    # No 5xx, and every refusal is the second meal of a slot.
    assert set(answers) <= {(201, None), (409, "already_served")}, (answers, logs)
    assert {port for port, *_ in results} == {node.port for node in two_nodes}, answers
    served = {
        answer["meal_id"]: elder_id for _, elder_id, status, answer in results if status == 201
    }
    assert answers[(201, None)] == len(served) == ELDERS, (answers, logs)
    # One meal per elder, each the one a 201 announced: none doubled, none lost.
    session = committed.session
    session.expire_all()
    meals = dict(
        session.execute(
            select(Meal.id, Meal.elder_id).where(Meal.date == lunch["day"], Meal.slot == "lunch")
        ).all()
    )
    assert meals == served, (meals, served)
    assert sorted(meals.values()) == sorted(lunch["cards"])

    for process, output in zip(schedulers, outputs, strict=True):
        assert process.returncode == 0, output
    runs = session.execute(select(JobRun.job_id, JobRun.fire_time, JobRun.outcome)).all()
    per_run = Counter((job_id, fire_time) for job_id, fire_time, _ in runs)
    assert per_run and set(per_run.values()) == {1}, runs
    assert {job_id for job_id, _ in per_run} == {job.id for job in JOBS}, runs
    # Every run finished cleanly, but for one known race: firing every second, a
    # make_claims run can start on one scheduler while the previous second's, on the
    # other, is still making the same claims; the later one is refused by the unique
    # claim and records the conflict (its next run finds nothing to make).
    failed = [
        (job_id, outcome)
        for job_id, _, outcome in runs
        if not outcome
        or (
            outcome.startswith("error")
            and not (job_id == "make_claims" and "exists already" in outcome)
        )
    ]
    assert not failed, runs
    claims = session.execute(select(Claim.canteen_id, Claim.month, Claim.revision)).all()
    # ... and no claim was made twice.
    assert len(claims) == len({(canteen, month) for canteen, month, _ in claims}), claims
    # Both schedulers were up at the same seconds and one of them stood back each time.
    assert sum(output.count("another scheduler has this run") for output in outputs) > 0, outputs
    # Ends this read, so the teardown can empty the tables on SQLite.
    session.rollback()
