"""The one door every meal goes through (`meals.services.record_meal`): what it judges, and
that every path that makes a meal goes through it."""

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from mealservice.core.db import db as _db
from mealservice.core.errors import Conflict
from mealservice.delivery import services as delivery
from mealservice.elders.models import ElderStatus
from mealservice.meals import limits
from mealservice.meals import services as meals
from mealservice.meals.models import Holds, Meal, MealSource
from mealservice.places.registry import add_to_blacklist, close_month
from tests import factories
from tests.conftest import travelling_to
from tests.delivery import install_fake_platform, report

CASHIER = SimpleNamespace(username="cashier", role="cashier")
MANAGER = SimpleNamespace(username="manager", role="manager")


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def poor(district, canteen):
    return factories.create_elder(district, canteen.community, categories=["minimum_allowance"])


@pytest.fixture
def order(policy, canteen, poor):
    """Tomorrow's lunch delivered, subsidized, holding the elder's subsidized place."""
    return factories.create_order(canteen, poor)


def delivered_meal(order, paid_fen: int = 0) -> Meal:
    order.paid_fen = paid_fen
    at = datetime.combine(order.date, time(4, 30), tzinfo=UTC)
    return Meal.from_order(
        order,
        Holds(slot=True, subsidy=True),
        channel="delivery",
        source=MealSource.ORDER,
        served_at=at,
        recorded_by="test",
    )


def test_a_meal_from_an_order_takes_its_menu_price_and_holds(order):
    meal = delivered_meal(order)
    assert (meal.menu_id, meal.option_id, meal.order_id) == (
        order.menu_id,
        order.option_id,
        order.id,
    )
    assert (meal.subsidy_fen, meal.delivery_subsidy_fen) == (1500, 300)
    assert (meal.holds_slot, meal.holds_seat, meal.holds_subsidy) == (True, False, True)
    assert meal.to_collect_fen == meal.elder_pays_fen


def test_a_subsidized_meal_of_an_elder_gone_that_day_is_recorded_at_full_price(order, poor):
    # Set without the registry's cascade: the door holds even where a path forgot it.
    poor.status, poor.status_since = ElderStatus.DECEASED, order.date
    meal = meals.record_meal(delivered_meal(order, paid_fen=100))
    assert (meal.subsidy_fen, meal.delivery_subsidy_fen, meal.reason) == (0, 0, "elder_inactive")
    assert meal.elder_pays_fen == meal.price_fen + meal.delivery_fee_fen
    assert meal.to_collect_fen == meal.elder_pays_fen - 100  # what was paid ahead stays paid
    assert not meal.holds_subsidy


def test_an_elder_gone_from_a_later_day_still_has_this_meal_subsidized(order, poor):
    poor.status, poor.status_since = ElderStatus.MOVED, order.date + timedelta(days=1)
    meal = meals.record_meal(delivered_meal(order))
    assert (meal.subsidy_fen, meal.reason) == (1500, order.reason)
    assert meal.holds_subsidy


def test_a_subsidized_meal_at_a_place_blacklisted_that_day_is_recorded_at_full_price(
    order, canteen
):
    add_to_blacklist(None, canteen, "虚报就餐人次", order.date)
    meal = meals.record_meal(delivered_meal(order))
    assert (meal.subsidy_fen, meal.delivery_subsidy_fen, meal.reason) == (
        0,
        0,
        "canteen_blacklisted",
    )


def test_no_meal_enters_a_closed_month(order, canteen):
    close_month(canteen.id, order.date.strftime("%Y-%m"))
    with pytest.raises(Conflict) as refused:
        meals.record_meal(delivered_meal(order))
    assert refused.value.code == "month_closed"
    assert _db.session.scalar(select(Meal.id)) is None


# Every path that makes a meal goes through the door.


@pytest.fixture
def door(monkeypatch):
    """The meals recorded through `record_meal`, by source and channel."""
    passed = []
    real = meals.record_meal

    def spy(meal, *args, **kwargs):
        passed.append((meal.source, meal.channel, bool(meal.offline)))
        return real(meal, *args, **kwargs)

    monkeypatch.setattr(meals, "record_meal", spy)
    return passed


def lunchtime(order) -> str:
    return datetime.combine(order.date, time(12, 0)).isoformat() + "+08:00"


def test_a_scan_and_an_offline_scan_go_through_the_door(door, policy, canteen, poor, elder):
    factories.create_meal(canteen, poor)
    scanned_at = datetime.now(UTC) - timedelta(minutes=5)
    meals.scan(CASHIER, canteen, {"elder_id": elder.id, "slot": "lunch", "scanned_at": scanned_at})
    assert door == [("lookup", "dine_in", False), ("lookup", "dine_in", True)]


def test_a_booking_eaten_goes_through_the_door(door, policy, canteen, poor):
    booking = factories.create_order(canteen, poor, channel="dine_in")
    with travelling_to(lunchtime(booking)):
        meal = meals.scan(CASHIER, canteen, {"elder_id": poor.id})
    assert meal.order_id == booking.id and booking.status == "consumed"
    assert door == [("lookup", "dine_in", False)]


def test_a_delivery_reported_goes_through_the_door(app, door, monkeypatch, order, canteen):
    install_fake_platform(app, monkeypatch)
    factories.close_ordering(canteen, order.date)
    delivery.make_runs(MANAGER, canteen, order.date, "lunch", "fake")
    delivery.dispatch_pending()
    at = datetime.combine(order.date, time(3, 30), tzinfo=UTC)  # 11:30 in the district
    with travelling_to(lunchtime(order)):
        assert delivery.apply_report("fake", report(order, "delivered", at=at))
    assert door == [("order", "delivery", False)]


@pytest.mark.parametrize("how", ["at the door", "by hand"])
def test_a_volunteer_drop_goes_through_the_door(door, policy, canteen, poor, how):
    run = factories.create_volunteer_run(canteen, poor)
    [order] = delivery.run_orders(run)
    volunteer = SimpleNamespace(username="volunteer", role="volunteer", id=run.volunteer_id)
    with travelling_to(lunchtime(order)):
        if how == "at the door":
            delivery.confirm_drop(volunteer, order, order.delivery_code)
        else:
            delivery.settle_drop_by_hand(MANAGER, order, delivered=True)
    assert order.status == "delivered"
    assert door == [("order", "delivery", False)]


def test_a_meal_recorded_gives_its_subsidized_place_back_when_not_owed(order, poor):
    taken = limits.subsidized_count(poor.id, order.date)
    poor.status, poor.status_since = ElderStatus.DECEASED, order.date
    meal = delivered_meal(order)
    meal.holds_subsidy = True
    limits.take_subsidized(poor.id, order.date, 5)
    meals.record_meal(meal)
    assert limits.subsidized_count(poor.id, order.date) == taken
