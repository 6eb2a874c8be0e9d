"""Delivery runs, the outbox that sends them, and the state machine every report goes
through."""

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from mealservice.balances.services import balance_of, top_up
from mealservice.claims import services as claims
from mealservice.core.db import db as _db
from mealservice.core.errors import Conflict, ValidationFailed
from mealservice.delivery import services
from mealservice.delivery.models import DeliveryEvent, DeliveryJob, DeliveryRun
from mealservice.elders.models import WelfareAlert
from mealservice.elders.services import update_elder
from mealservice.meals import limits
from mealservice.meals.models import Meal
from mealservice.menus.models import Menu
from mealservice.places.registry import add_to_blacklist
from tests import factories
from tests.conftest import travelling_to
from tests.core.test_errors import assert_error
from tests.delivery import install_fake_platform, report


@pytest.fixture
def fake(app, db, monkeypatch):
    return install_fake_platform(app, monkeypatch)


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def manager(login_as):
    return login_as("manager")


@pytest.fixture
def poor(district, canteen):
    """An elder on minimum allowance: a meal subsidy and the delivery subsidy."""
    return factories.create_elder(district, canteen.community, categories=["minimum_allowance"])


@pytest.fixture
def order(policy, canteen, poor):
    return factories.create_order(canteen, poor)


def tomorrow(canteen):
    return canteen.district.local_today() + timedelta(days=1)


def dispatched(manager, canteen, platform="fake", **kwargs):
    factories.close_ordering(canteen, tomorrow(canteen))
    runs = services.make_runs(manager.user, canteen, tomorrow(canteen), "lunch", platform, **kwargs)
    _db.session.commit()
    return runs


def count(model, *where):
    return _db.session.scalar(select(func.count()).select_from(model).where(*where))


# Runs


def test_a_run_takes_every_confirmed_delivery_order_of_the_slot(fake, manager, canteen, order):
    other = factories.create_order(canteen, factories.create_elder(canteen.district))
    booking = factories.create_order(
        canteen, factories.create_elder(canteen.district), channel="dine_in"
    )
    [run] = dispatched(manager, canteen)
    assert (run.platform, run.status, run.area) == ("fake", "open", None)
    assert [o.id for o in services.run_orders(run)] == [order.id, other.id]
    for each in (order, other):
        assert each.status == "dispatched" and each.run_id == run.id
        assert len(each.delivery_code) == 6 and each.delivery_code.isdigit()
    assert booking.status == "confirmed" and booking.run_id is None
    jobs = _db.session.scalars(select(DeliveryJob).order_by(DeliveryJob.order_id)).all()
    assert [(j.order_id, j.kind, j.status, j.run_id) for j in jobs] == [
        (order.id, "create", "pending", run.id),
        (other.id, "create", "pending", run.id),
    ]


def test_orders_already_in_a_run_are_not_taken_again(fake, manager, canteen, order):
    dispatched(manager, canteen)
    with pytest.raises(Conflict) as refused:
        dispatched(manager, canteen)
    assert refused.value.code == "no_orders"


def test_too_many_orders_are_split_by_community(app, fake, manager, district, canteen, policy):
    app.config["DELIVERY_RUN_SIZE"] = 2
    try:
        east, west = factories.create_community(district), factories.create_community(district)
        for community, how_many in ((east, 3), (west, 1)):
            for _ in range(how_many):
                factories.create_order(canteen, factories.create_elder(district, community))
        runs = dispatched(manager, canteen)
    finally:
        app.config["DELIVERY_RUN_SIZE"] = 20
    sizes = sorted((run.area, len(services.run_orders(run))) for run in runs)
    assert sizes == sorted([(east.code, 2), (east.code, 1), (west.code, 1)])
    for run in runs:
        areas = {o.elder.community.code for o in services.run_orders(run)}
        assert areas == {run.area}


def test_unknown_platform_is_refused(fake, manager, canteen, order):
    with pytest.raises(ValidationFailed) as refused:
        dispatched(manager, canteen, "nosuch")
    assert "platform" in refused.value.fields
    assert order.status == "confirmed"


def test_a_volunteer_run_writes_no_outbox_and_names_its_volunteer(
    fake, manager, canteen, order, district
):
    volunteer = factories.create_user("volunteer", canteen=canteen)
    [run] = dispatched(manager, canteen, "volunteer", volunteer_id=volunteer.id)
    assert run.volunteer_id == volunteer.id and order.status == "dispatched"
    assert count(DeliveryJob) == 0


def test_a_volunteer_of_another_canteen_is_refused(fake, manager, canteen, order, district):
    stranger = factories.create_user("volunteer", canteen=factories.create_canteen(district))
    with pytest.raises(ValidationFailed) as refused:
        dispatched(manager, canteen, "volunteer", volunteer_id=stranger.id)
    assert "volunteer_id" in refused.value.fields


def test_a_run_before_the_ordering_cutoff_is_refused_and_takes_nothing(
    fake, manager, canteen, order
):
    path = f"/api/v1/canteens/{canteen.id}/delivery-runs"
    body = {"date": tomorrow(canteen).isoformat(), "slot": "lunch", "platform": "fake"}
    error = assert_error(manager.post(path, json=body), 409, "ordering_open")
    menu = _db.session.get(Menu, order.menu_id)
    assert error["detail"]["order_cutoff"] == menu.order_cutoff.isoformat()
    _db.session.refresh(order)
    assert (order.status, order.run_id) == ("confirmed", None)
    assert count(DeliveryRun) == 0 and count(DeliveryJob) == 0


def test_a_volunteer_run_without_a_volunteer_is_refused_naming_volunteer_id(
    fake, manager, canteen, order
):
    factories.close_ordering(canteen, tomorrow(canteen))
    path = f"/api/v1/canteens/{canteen.id}/delivery-runs"
    body = {"date": tomorrow(canteen).isoformat(), "slot": "lunch", "platform": "volunteer"}
    error = assert_error(manager.post(path, json=body), 422, "validation_error")
    assert set(error["fields"]) == {"volunteer_id"}
    with pytest.raises(ValidationFailed) as refused:
        services.make_runs(manager.user, canteen, tomorrow(canteen), "lunch", "volunteer")
    assert set(refused.value.fields) == {"volunteer_id"}
    _db.session.refresh(order)
    assert (order.status, count(DeliveryRun)) == ("confirmed", 0)


def test_runs_through_the_api(fake, manager, canteen, order):
    path = f"/api/v1/canteens/{canteen.id}/delivery-runs"
    body = {"date": tomorrow(canteen).isoformat(), "slot": "lunch", "platform": "fake"}
    factories.close_ordering(canteen, tomorrow(canteen))
    response = manager.post(path, json=body)
    assert response.status_code == 201, response.get_json()
    [run] = response.get_json()["items"]
    assert run["orders"] == [
        {
            "id": order.id,
            "status": "dispatched",
            "elder_id": order.elder_id,
            "address": order.address,
            "delivery_stage": None,
        }
    ]
    assert "delivery_code" not in run["orders"][0]
    assert manager.get(f"/api/v1/delivery-runs/{run['id']}").get_json()["id"] == run["id"]
    assert_error(manager.post(path, json=body), 409, "no_orders")
    assert_error(manager.post(path, json={**body, "platform": "nosuch"}), 422, "validation_error")


def test_a_volunteer_reads_only_the_runs_given_to_them(fake, manager, login_as, canteen, order):
    mine, other = login_as("volunteer"), login_as("volunteer")
    [run] = dispatched(manager, canteen, "volunteer", volunteer_id=mine.user.id)
    assert mine.get(f"/api/v1/delivery-runs/{run.id}").status_code == 200
    assert_error(other.get(f"/api/v1/delivery-runs/{run.id}"), 404, "not_found")
    assert_error(login_as("cashier").get(f"/api/v1/delivery-runs/{run.id}"), 403, "forbidden")


def test_the_live_page_lists_the_days_deliveries(fake, manager, canteen, order):
    [run] = dispatched(manager, canteen)
    response = manager.get(
        f"/api/v1/canteens/{canteen.id}/deliveries?date={tomorrow(canteen).isoformat()}"
    )
    assert response.status_code == 200, response.get_json()
    [item] = response.get_json()["items"]
    assert item["order_id"] == order.id and item["run_id"] == run.id
    assert (item["status"], item["platform"], item["elder_name"]) == (
        "dispatched",
        "fake",
        order.elder.name,
    )


# The outbox


def test_a_job_waits_out_an_outage_with_backoff_then_goes_once(fake, manager, canteen, order):
    dispatched(manager, canteen)
    fake.down_for = 2
    start = datetime.now(UTC)
    assert services.dispatch_pending(start) == 0
    job = _db.session.scalar(select(DeliveryJob))
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.next_attempt_at == start + timedelta(seconds=10)
    assert services.dispatch_pending(start + timedelta(seconds=5)) == 0  # not due yet
    assert services.dispatch_pending(start + timedelta(seconds=10)) == 0
    assert (job.attempts, job.next_attempt_at) == (2, start + timedelta(seconds=30))
    assert "503" in job.last_error
    assert services.dispatch_pending(start + timedelta(seconds=30)) == 1
    assert (job.status, job.platform_ref, job.sent_at) == (
        "sent",
        f"FAKE-{order.id}",
        start + timedelta(seconds=30),
    )
    assert services.dispatch_pending(start + timedelta(hours=1)) == 0
    assert fake.bookings == {order.id: 1}


def test_the_request_carries_a_masked_phone_and_no_id_number(fake, manager, canteen, order):
    dispatched(manager, canteen)
    services.dispatch_pending()
    [request] = fake.requests
    phone = order.elder.phone
    assert request.phone_masked == f"{phone[:3]}****{phone[-4:]}"
    assert request.recipient == order.elder.name
    assert (request.pickup_name, request.dropoff_address) == (canteen.name, order.address)
    assert request.callback_url.endswith("/api/v1/delivery/webhooks/fake")
    assert order.elder.id_number_masked[-4:] not in repr(request).replace(phone, "")


def test_a_crash_before_commit_resends_and_books_once(fake, manager, canteen, order):
    dispatched(manager, canteen)
    with _db.session.begin_nested() as attempt:
        assert services.dispatch_pending() == 1
        attempt.rollback()  # the scheduler died before its commit
    _db.session.expire_all()
    job = _db.session.scalar(select(DeliveryJob))
    assert job.status == "pending"
    assert services.dispatch_pending() == 1
    assert services.dispatch_pending() == 0
    assert job.status == "sent"
    # The platform saw the order twice and books it once by its idempotency key.
    assert fake.calls == 2 and set(fake.bookings) == {order.id}


def test_a_refusal_fails_the_order_without_an_alert(fake, manager, canteen, order):
    dispatched(manager, canteen)
    fake.refuse = True
    services.dispatch_pending()
    job = _db.session.scalar(select(DeliveryJob))
    assert job.status == "gave_up"
    assert (order.status, order.failure_reason) == ("failed", "platform_refused")
    assert count(WelfareAlert) == 0 and count(Meal) == 0


def test_after_twelve_retries_the_order_fails_as_unreachable(fake, manager, canteen, order):
    dispatched(manager, canteen)
    fake.down_for = 100
    now = datetime.now(UTC)
    for _ in range(13):
        services.dispatch_pending(now)
        now += timedelta(minutes=11)
    job = _db.session.scalar(select(DeliveryJob))
    assert (job.status, job.attempts) == ("gave_up", 13)
    assert (order.status, order.failure_reason) == ("failed", "platform_unreachable")
    assert _db.session.get(DeliveryRun, order.run_id).status == "done"


# The state machine


@pytest.fixture
def on_its_way(fake, manager, canteen, order):
    dispatched(manager, canteen)
    services.dispatch_pending()
    return order


def test_reports_move_the_order_forward(on_its_way):
    order = on_its_way
    assert services.apply_report("fake", report(order, "accepted"))
    assert order.delivery_stage == "accepted"
    assert services.apply_report("fake", report(order, "picked_up"))
    assert order.delivery_stage == "picked_up"
    at = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)
    with travelling_to("2026-11-26T12:31:00+08:00"):  # the meal's lunchtime, just after
        assert services.apply_report("fake", report(order, "delivered", at=at, proof="photo-1"))
    assert (order.status, order.delivered_at, order.proof) == ("delivered", at, "photo-1")
    assert _db.session.get(DeliveryRun, order.run_id).status == "done"


@pytest.mark.parametrize("at", ["2001-11-26T12:00:00+08:00", "2099-11-26T12:00:00+08:00"])
def test_a_report_dated_away_from_its_meal_is_refused_naming_at(on_its_way, at):
    order = on_its_way
    with pytest.raises(ValidationFailed) as refused:
        services.apply_report("fake", report(order, "delivered", at=datetime.fromisoformat(at)))
    assert "at" in refused.value.fields
    assert (order.status, count(Meal), count(DeliveryEvent)) == ("dispatched", 0, 0)


def test_a_report_minutes_ahead_of_the_clock_is_refused(on_its_way):
    ahead = datetime.now(UTC) + timedelta(minutes=6)
    with pytest.raises(ValidationFailed):
        services.apply_report("fake", report(on_its_way, "accepted", at=ahead))
    assert services.apply_report(
        "fake", report(on_its_way, "accepted", at=ahead - timedelta(minutes=2))
    )


@pytest.mark.now("2026-10-30T10:00:00+08:00")
def test_a_delivery_reported_into_a_claimed_month_is_kept_and_changes_no_claim(on_its_way, canteen):
    order = on_its_way  # 31 October's lunch
    with travelling_to("2026-11-25T10:00:00+08:00"):  # October's grace period is over
        claim = claims.make_claim(SimpleNamespace(username="m", role="manager"), canteen, "2026-10")
        at = datetime(2026, 10, 31, 4, 30, tzinfo=UTC)
        assert not services.apply_report("fake", report(order, "delivered", at=at))
    assert count(Meal) == 0
    assert order.status == "dispatched"
    event = _db.session.scalar(select(DeliveryEvent))
    assert (event.status, event.applied) == ("delivered", False)
    assert claims.claim_body(claim)["totals"]["meals"] == 0
    assert claims.lines(claim) == ([], False)  # the lines are still what the claim counted


def test_a_delivery_to_a_place_blacklisted_meanwhile_is_not_subsidized(on_its_way, canteen):
    order = on_its_way
    assert order.subsidy_fen + order.delivery_subsidy_fen > 0
    add_to_blacklist(None, canteen, "虚报就餐人次", order.date)
    at = datetime.combine(order.date, time(12, 0), tzinfo=UTC)
    with travelling_to(at.isoformat()):
        assert services.apply_report("fake", report(order, "delivered", at=at))
    meal = _db.session.scalar(select(Meal))
    assert (meal.subsidy_fen, meal.delivery_subsidy_fen, meal.reason) == (
        0,
        0,
        "canteen_blacklisted",
    )
    assert meal.elder_pays_fen == meal.price_fen + meal.delivery_fee_fen
    assert not meal.holds_subsidy


def test_a_delivery_after_the_elder_died_is_not_subsidized(on_its_way, poor):
    order = on_its_way  # already on its way: too late to cancel
    update_elder(poor, {"status": "deceased", "status_since": order.date})
    at = datetime.combine(order.date, time(12, 0), tzinfo=UTC)
    with travelling_to(at.isoformat()):
        assert services.apply_report("fake", report(order, "delivered", at=at))
    meal = _db.session.scalar(select(Meal))
    assert (meal.subsidy_fen, meal.delivery_subsidy_fen, meal.reason) == (0, 0, "elder_inactive")


def test_a_duplicate_report_changes_nothing(on_its_way):
    order = on_its_way
    assert services.apply_report("fake", report(order, "accepted", event_id="x1"))
    assert not services.apply_report("fake", report(order, "picked_up", event_id="x1"))
    assert order.delivery_stage == "accepted"
    assert count(DeliveryEvent) == 1


def test_a_late_report_of_an_earlier_stage_changes_nothing(on_its_way):
    order = on_its_way
    assert services.apply_report("fake", report(order, "picked_up"))
    assert not services.apply_report("fake", report(order, "accepted"))
    assert order.delivery_stage == "picked_up"
    assert services.apply_report("fake", report(order, "delivered"))
    assert not services.apply_report("fake", report(order, "failed", reason="no_answer"))
    assert order.status == "delivered" and count(WelfareAlert) == 0
    applied = _db.session.scalars(select(DeliveryEvent.applied).order_by(DeliveryEvent.id))
    assert list(applied) == [True, False, True, False]


def test_a_report_from_another_platform_is_recorded_not_applied(on_its_way):
    order = on_its_way
    assert not services.apply_report("volunteer", report(order, "delivered"))
    assert order.status == "dispatched"
    assert _db.session.scalar(select(DeliveryEvent.applied)) is False


def test_delivered_makes_one_meal_with_the_stored_prices(on_its_way, poor):
    order = on_its_way
    assert order.delivery_subsidy_fen > 0 and order.subsidy_fen > 0
    services.apply_report("fake", report(order, "delivered"))
    services.apply_report("fake", report(order, "delivered", event_id="again"))
    [meal] = _db.session.scalars(select(Meal)).all()
    for column in (
        "price_fen",
        "delivery_fee_fen",
        "subsidy_fen",
        "delivery_subsidy_fen",
        "elder_pays_fen",
        "policy_version",
        "tier",
        "reason",
        "date",
        "slot",
        "menu_id",
        "option_id",
        "elder_id",
        "canteen_id",
    ):
        assert getattr(meal, column) == getattr(order, column), column
    assert (meal.channel, meal.source, meal.order_id) == ("delivery", "order", order.id)
    assert (meal.to_collect_fen, meal.payment_method) == (order.elder_pays_fen, None)
    assert meal.holds_slot and not order.holds_slot
    assert meal.recorded_by == "fake"


def test_a_delivered_order_paid_from_the_balance_owes_nothing(
    fake, manager, login_as, canteen, policy, poor
):
    top_up(login_as("cashier").user, canteen, poor, 5000, "cash")
    order = factories.create_order(canteen, poor, payment={"method": "balance"})
    dispatched(manager, canteen)
    services.apply_report("fake", report(order, "delivered"))
    meal = order.meal
    assert (meal.to_collect_fen, meal.payment_method) == (0, "balance")


def test_failed_makes_no_meal_refunds_and_frees_the_slot(
    fake, manager, login_as, canteen, policy, poor
):
    top_up(login_as("cashier").user, canteen, poor, 5000, "cash")
    order = factories.create_order(canteen, poor, payment={"method": "balance"})
    assert balance_of(poor.id) == 5000 - order.paid_fen
    dispatched(manager, canteen)
    assert limits.slot_count(poor.id, order.date, "lunch") == 1
    assert services.apply_report("fake", report(order, "failed", reason="address_not_found"))
    assert (order.status, order.failure_reason) == ("failed", "address_not_found")
    assert count(Meal) == 0 and count(WelfareAlert) == 0
    assert balance_of(poor.id) == 5000
    assert limits.slot_count(poor.id, order.date, "lunch") == 0
    assert not order.holds_slot


def test_no_answer_raises_exactly_one_alert(on_its_way, poor):
    order = on_its_way
    assert services.apply_report("fake", report(order, "failed", reason="no_answer"))
    assert not services.apply_report(
        "fake", report(order, "failed", event_id="resent", reason="no_answer")
    )
    [alert] = _db.session.scalars(select(WelfareAlert)).all()
    assert (alert.kind, alert.elder_id, alert.order_id) == ("no_answer", poor.id, order.id)
    assert alert.community_code == poor.community.code
    assert poor.name not in alert.detail


def test_a_failed_order_goes_out_again_and_can_be_delivered(on_its_way, manager, fake):
    order = on_its_way
    services.apply_report("fake", report(order, "accepted"))
    services.apply_report("fake", report(order, "failed", reason="courier_accident"))
    run = services.redispatch(manager.user, order)
    assert (run.platform, order.status, order.run_id) == ("fake", "dispatched", run.id)
    assert order.delivery_stage is None and order.holds_slot
    job = _db.session.scalar(select(DeliveryJob))
    assert (job.status, job.attempts, job.run_id) == ("pending", 0, run.id)
    assert services.dispatch_pending() == 1
    assert services.apply_report("fake", report(order, "accepted", event_id="second-accepted"))
    assert services.apply_report("fake", report(order, "delivered"))
    assert order.status == "delivered" and count(Meal) == 1


def test_redispatch_is_refused_when_the_elder_ate_meanwhile(on_its_way, manager, canteen):
    order = on_its_way
    services.apply_report("fake", report(order, "failed", reason="no_answer"))
    limits.take_slot(order.elder_id, order.date, "lunch", 1)  # a meal elsewhere
    with pytest.raises(Conflict) as refused:
        services.redispatch(manager.user, order)
    assert refused.value.code == "already_served"


def test_redispatch_through_the_api(on_its_way, manager):
    order = on_its_way
    path = f"/api/v1/orders/{order.id}/redispatch"
    assert_error(manager.post(path, json={}), 409, "order_not_failed")
    services.apply_report("fake", report(order, "failed", reason="no_answer"))
    _db.session.commit()
    response = manager.post(path, json={"platform": "volunteer"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["platform"] == "volunteer"
    assert response.get_json()["orders"][0]["status"] == "dispatched"


def test_only_the_elders_side_sees_the_delivery_code(app, monkeypatch, login_as, canteen, elder):
    install_fake_platform(app, monkeypatch)
    order = factories.create_order(canteen, elder)
    manager = login_as("manager")
    factories.close_ordering(canteen, order.date)
    services.make_runs(manager.user, canteen, order.date, "lunch", "fake")
    _db.session.commit()
    family = login_as("family").get(f"/api/v1/orders/{order.id}").get_json()
    assert family["delivery_code"] == order.delivery_code and len(order.delivery_code) == 6
    assert manager.get(f"/api/v1/orders/{order.id}").get_json()["delivery_code"] is None


# Deliveries nobody reports on


def quiet_for(order, minutes: int) -> str:
    """The instant `minutes` after the order went out."""
    return (order.status_changed_at + timedelta(minutes=minutes)).isoformat()


def test_a_delivery_the_platform_lost_fails_gives_back_and_raises_an_alert(
    login_as, canteen, poor, fake, manager, policy
):
    top_up(login_as("cashier").user, canteen, poor, 5000, "cash")
    order = factories.create_order(canteen, poor, payment={"method": "balance"})
    dispatched(manager, canteen)
    services.dispatch_pending()
    _db.session.refresh(order)
    fake.statuses[order.id] = None  # the platform no longer knows it
    with travelling_to(quiet_for(order, 60)):
        assert services.reconcile_deliveries() == 0  # not quiet for long enough yet
    with travelling_to(quiet_for(order, 121)):
        assert services.reconcile_deliveries() == 1
    _db.session.refresh(order)
    assert (order.status, order.failure_reason) == ("failed", "platform_lost")
    assert balance_of(poor.id) == 5000  # the prepaid meal is refunded
    assert not order.holds_slot and not order.holds_subsidy
    alert = _db.session.scalar(select(WelfareAlert).where(WelfareAlert.order_id == order.id))
    assert alert.kind == "no_delivery"
    # A report that arrives after all changes nothing and is kept.
    late = report(order, "delivered", at=datetime.now(UTC))
    assert not services.apply_report("fake", late)
    assert count(Meal) == 0
    assert _db.session.scalar(select(DeliveryEvent.applied)) is False


def test_a_quiet_delivery_the_platform_says_was_delivered_becomes_its_meal(on_its_way, fake):
    order = on_its_way
    fake.statuses[order.id] = "delivered"
    with travelling_to(quiet_for(order, 121)):
        assert services.reconcile_deliveries() == 1
    assert order.status == "delivered"
    assert count(Meal) == 1


def test_a_delivery_still_moving_or_a_platform_down_is_asked_again_later(on_its_way, fake):
    order = on_its_way
    fake.down_for = 1
    with travelling_to(quiet_for(order, 121)):
        assert services.reconcile_deliveries() == 0  # unreachable
        assert services.reconcile_deliveries() == 0  # picked up, still on its way
    assert fake.asked == [order.id, order.id]
    assert order.status == "dispatched"


def test_a_recent_report_keeps_a_delivery_from_being_asked_about(on_its_way, fake):
    order = on_its_way
    with travelling_to(quiet_for(order, 100)):
        services.apply_report("fake", report(order, "accepted", at=datetime.now(UTC)))
    with travelling_to(quiet_for(order, 130)):
        assert services.reconcile_deliveries() == 0
    assert fake.asked == []
