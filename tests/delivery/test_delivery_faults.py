"""Delivery through the real simulator and the real service over loopback, with the
platform misbehaving: down, hung, reports duplicated, reordered, forged, doors nobody
answers, the service restarting between the run's commit and the dispatch. Whatever
happens, each order ends delivered with exactly one meal or failed with its alert:
never lost, never doubled.

The run is made and the outbox dispatched in the test process (the scheduler's part);
the simulator's reports go to the live server's webhook; both share the database."""

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from config import normalise_database_url
from mealservice.core.clock import utcnow
from mealservice.delivery.models import DeliveryEvent, DeliveryJob, JobStatus
from mealservice.delivery.platforms.base import sign
from mealservice.delivery.services import dispatch_pending, make_runs
from mealservice.elders.models import WelfareAlert
from mealservice.meals.models import Meal, Order, OrderStatus
from tests import factories
from tests.conftest import LiveServer, empty_tables
from tests.delivery.test_simulator import API_KEY, SECRET, Simulator

pytestmark = pytest.mark.live

ORDERS = 3
MANAGER = SimpleNamespace(username="fault-manager", role="manager")


@pytest.fixture
def simulator():
    running = Simulator(step_ms=50)
    yield running
    running.stop()


@pytest.fixture
def service(app, database_url, simulator, monkeypatch):
    """The live server and this test's app, both knowing the simulator as `simulator`;
    the test's app (which dispatches) gives the simulator the live server's webhook."""
    platforms = json.dumps(
        {
            "volunteer": {"adapter": "volunteer"},
            "simulator": {
                "adapter": "simulator",
                "base_url": simulator.url,
                "api_key": API_KEY,
                "webhook_secret": SECRET,
            },
        }
    )
    monkeypatch.setenv("DELIVERY_PLATFORMS", platforms)
    server = LiveServer(app, database_url)
    monkeypatch.setitem(app.config, "DELIVERY_PLATFORMS", platforms)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", server.url)
    try:
        yield server
    finally:
        server.stop()
        empty_tables(app)


@pytest.fixture
def observer(database_url):
    """A session for the test's reads of what the live server writes, on connections
    without the service's SQLite hook, which begins every transaction outside a request
    with the write lock (BEGIN IMMEDIATE): a poll that took it queued behind the
    webhooks being applied, and they behind it, until the busy timeout failed one side.
    Here a read takes no lock (SQLite's WAL readers never wait), and each `rollback()`
    lets the next read see what was committed since."""
    engine = create_engine(normalise_database_url(database_url), poolclass=NullPool)
    with Session(engine) as session:
        yield session
    engine.dispose()


def committed_run(session, count: int = ORDERS) -> list[int]:
    """`count` delivery orders for tomorrow's lunch put in one simulator run and committed,
    nothing dispatched yet: the order ids."""
    district = factories.create_district()
    canteen = factories.create_canteen(district)
    factories.create_policy(district)
    orders = [
        factories.create_order(canteen, factories.create_elder(district, canteen.community))
        for _ in range(count)
    ]
    factories.close_ordering(canteen, orders[0].date)
    make_runs(MANAGER, canteen, orders[0].date, "lunch", "simulator")
    ids = [order.id for order in orders]
    session.commit()
    return ids


def dispatch(session, now=None) -> int:
    sent = dispatch_pending(now)
    session.commit()
    return sent


def wait_until_settled(
    session, simulator, service, ids, events_each: int, timeout_s: float = 30
) -> dict:
    """Until every order left `dispatched` and the simulator has had an answer to every
    report it sends; the orders' statuses."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = session.execute(select(Order.id, Order.status).where(Order.id.in_(ids)))
        statuses = {order_id: status for order_id, status in rows}
        session.rollback()  # the next poll sees what was committed meanwhile
        deliveries = simulator.state()["deliveries"].values()
        answers = {event["answer"] for delivery in deliveries for event in delivery["events"]}
        if answers - {200}:  # the service refused or broke on a genuine report
            pytest.fail(f"the webhook answered {answers}\n{service.server_log()[-4000:]}")
        reported = all(len(delivery["events"]) >= events_each for delivery in deliveries)
        if (
            OrderStatus.DISPATCHED not in statuses.values()
            and reported
            and len(deliveries) == len(ids)
        ):
            return statuses
        if time.monotonic() > deadline:
            pytest.fail(f"not settled: {statuses}\n{service.server_log()[-4000:]}")
        time.sleep(0.1)


def assert_each_order_settled_once(session, ids, service) -> None:
    """Delivered with exactly one meal, or failed with exactly one alert; nothing else."""
    for order_id in ids:
        order = session.get(Order, order_id)
        meals = session.scalar(select(func.count()).where(Meal.order_id == order_id))
        alerts = session.scalar(select(func.count()).where(WelfareAlert.order_id == order_id))
        if order.status == OrderStatus.DELIVERED:
            assert (meals, alerts) == (1, 0), order_id
        else:
            assert order.status == OrderStatus.FAILED, service.server_log()[-3000:]
            assert (meals, alerts) == (0, 1), order_id
    session.rollback()


def test_orders_dispatched_to_the_simulator_end_delivered_with_one_meal_each(
    committed, simulator, service, observer
):
    ids = committed_run(committed.session)
    assert dispatch(committed.session) == ORDERS
    statuses = wait_until_settled(observer, simulator, service, ids, events_each=3)
    assert set(statuses.values()) == {OrderStatus.DELIVERED}
    assert simulator.state()["bookings"] == ORDERS
    assert_each_order_settled_once(observer, ids, service)
    proofs = set(observer.scalars(select(Order.proof).where(Order.id.in_(ids))))
    assert all(proof.startswith("photo:sim-") for proof in proofs)


def test_a_platform_down_is_tried_again_later_and_books_each_order_once(
    committed, simulator, service, observer
):
    ids = committed_run(committed.session)
    simulator.control(fail_requests=ORDERS)
    assert dispatch(committed.session) == 0
    jobs = committed.session.scalars(select(DeliveryJob).where(DeliveryJob.order_id.in_(ids)))
    assert {(job.status, job.attempts) for job in jobs} == {(JobStatus.PENDING, 1)}
    committed.session.rollback()
    assert dispatch(committed.session) == 0  # not due yet: the backoff holds
    later = utcnow() + timedelta(minutes=5)
    assert dispatch(committed.session, later) == ORDERS
    assert dispatch(committed.session, later + timedelta(hours=1)) == 0
    wait_until_settled(observer, simulator, service, ids, events_each=3)
    state = simulator.state()
    assert (state["bookings"], state["requests"]) == (ORDERS, 2 * ORDERS)
    assert_each_order_settled_once(observer, ids, service)


def test_a_hung_platform_that_booked_anyway_delivers_once(committed, simulator, service, observer):
    # The first booking hangs past the adapter's 3 s timeout, then books all the same.
    ids = committed_run(committed.session, count=1)
    simulator.control(hang_requests=1, hang_s=4)
    assert dispatch(committed.session) == 0
    assert dispatch(committed.session, utcnow() + timedelta(minutes=5)) == 1
    wait_until_settled(observer, simulator, service, ids, events_each=3)
    assert simulator.state()["bookings"] == 1
    assert_each_order_settled_once(observer, ids, service)


def test_duplicated_and_reordered_reports_make_one_meal_per_order(
    committed, simulator, service, observer
):
    ids = committed_run(committed.session)
    simulator.control(duplicate_events=True, reorder_events=True)
    dispatch(committed.session)
    # picked_up, accepted, delivered, delivered; each twice.
    statuses = wait_until_settled(observer, simulator, service, ids, events_each=8)
    assert set(statuses.values()) == {OrderStatus.DELIVERED}
    assert_each_order_settled_once(observer, ids, service)
    applied = observer.scalars(
        select(DeliveryEvent.status).where(
            DeliveryEvent.order_id.in_(ids), DeliveryEvent.applied.is_(True)
        )
    ).all()
    # accepted came after picked_up: late, recorded, not applied.
    assert sorted(applied) == sorted(["picked_up", "delivered"] * ORDERS)


def test_a_forged_report_is_refused_and_changes_nothing(committed, simulator, service, observer):
    (order_id,) = committed_run(committed.session, count=1)
    report = {"event_id": "forged-1", "order_id": order_id, "status": "delivered",
              "at": utcnow().isoformat(), "proof": "photo:none"}  # fmt: skip
    raw = json.dumps(report).encode()
    now = str(int(time.time()))
    stale = str(int(time.time()) - 600)
    for timestamp, signature in [
        (now, sign("guessed-secret", now, raw)),
        (stale, sign(SECRET, stale, raw)),
        (now, "0" * 64),
    ]:
        status = post_raw(service.url + "/api/v1/delivery/webhooks/simulator", raw,
                          {"X-Timestamp": timestamp, "X-Signature": signature})  # fmt: skip
        assert status == 401
    assert post_raw(service.url + "/api/v1/delivery/webhooks/pigeon", raw, {}) == 404
    committed.session.expire_all()
    assert committed.session.get(Order, order_id).status == OrderStatus.DISPATCHED
    assert committed.session.scalar(select(func.count()).select_from(DeliveryEvent)) == 0
    assert committed.session.scalar(select(func.count()).select_from(Meal)) == 0
    committed.session.rollback()
    # The genuine reports still go through.
    dispatch(committed.session)
    wait_until_settled(observer, simulator, service, [order_id], events_each=3)
    assert_each_order_settled_once(observer, [order_id], service)


def test_restarts_between_the_runs_commit_and_the_dispatch_book_each_order_once(
    committed, simulator, service, observer
):
    ids = committed_run(committed.session)
    # Two dispatches that crash before their commit: the platform heard them, we did not
    # keep it; the jobs stay pending and go out again.
    for _ in range(2):
        assert dispatch_pending() == ORDERS
        committed.session.rollback()
    assert dispatch(committed.session) == ORDERS
    assert dispatch(committed.session) == 0
    wait_until_settled(observer, simulator, service, ids, events_each=3)
    state = simulator.state()
    assert (state["bookings"], state["requests"]) == (ORDERS, 3 * ORDERS)
    assert_each_order_settled_once(observer, ids, service)


def test_a_door_nobody_answers_fails_the_order_with_one_welfare_alert(
    committed, simulator, service, observer
):
    ids = committed_run(committed.session)
    simulator.control(no_answer=True, duplicate_events=True)
    dispatch(committed.session)
    statuses = wait_until_settled(observer, simulator, service, ids, events_each=6)
    assert set(statuses.values()) == {OrderStatus.FAILED}
    reasons = set(observer.scalars(select(Order.failure_reason).where(Order.id.in_(ids))))
    assert reasons == {"no_answer"}
    assert_each_order_settled_once(observer, ids, service)


def post_raw(url: str, raw: bytes, headers: dict) -> int:
    request = urllib.request.Request(
        url, data=raw, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        with error:
            return error.code
