"""The demo keeps the README's promises whatever the day it is loaded on: a Monday early in
a month, a Sunday evening whose week crosses a month's end, New Year's Day, a month's last
Sunday evening."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from mealservice import demo
from mealservice.balances.models import BalanceMovement
from mealservice.claims.models import Claim, ClaimAnomaly
from mealservice.core.clock import utcnow
from mealservice.core.periods import month_bounds
from mealservice.delivery.models import DeliveryJob, DeliveryRun
from mealservice.elders.models import WelfareAlert
from mealservice.meals.models import Meal, Order, StandingOrder
from mealservice.menus.models import Menu
from mealservice.places.models import Canteen, District
from mealservice.policy.models import Holiday

INSTANTS = {
    # The first Monday of December, before lunch: the week so far is a single morning,
    # and November's claims are the ones to review.
    "first_monday_of_a_month": ("2026-12-07T08:00:00+08:00", "2026-11"),
    # The week began in November: its Monday belongs to the month claimed.
    "sunday_evening_across_a_months_end": ("2026-12-06T20:30:00+08:00", "2026-11"),
    # A statutory holiday in December's grace period: the claims are November's.
    "new_years_day": ("2027-01-01T09:30:00+08:00", "2026-11"),
    "last_sunday_evening_of_a_month": ("2026-11-29T21:00:00+08:00", "2026-10"),
}

PLANTED = {
    "offline_conflict",
    "duplicate_in_slot",
    "two_places",
    "card_not_valid",
    "elder_inactive",
}


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture(params=list(INSTANTS), ids=list(INSTANTS))
def seeded(request, runner, db, now):
    instant, month = INSTANTS[request.param]
    now.move_to(datetime.fromisoformat(instant))
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return utcnow(), month


def test_the_demo_keeps_its_promises_whatever_the_day(db, seeded):
    moment, month = seeded
    district = db.session.get(District, "330106")
    today = district.local(moment).date()
    places = db.session.scalars(select(Canteen).where(Canteen.district_code == "330106")).all()
    canteens = [place for place in places if place.kind == "canteen"]

    # The 2025–2028 holidays, New Year's Day among them.
    assert count(db, Holiday, Holiday.day == today.replace(month=1, day=1)) == 1

    # Menus every day from a week ago to the end of next week, Sundays and holidays too.
    for day in demo.menu_days(today):
        assert count(db, Menu, Menu.date == day, Menu.slot == "lunch") == len(places), day
        assert count(db, Menu, Menu.date == day, Menu.slot == "dinner") == len(canteens), day

    # The six days before today eaten at the counters, about a third of the elders a day
    # (with the regular diner's planted lunches and yesterday's deliveries), and nothing
    # served after now.
    for day in demo.recent_days(today)[:-1]:
        lunches = count(db, Meal, Meal.date == day, Meal.slot == "lunch")
        assert 80 <= lunches <= 110, (day, lunches)
    meals = db.session.scalars(select(Meal).where(Meal.date >= today - timedelta(days=6))).all()
    assert all(meal.served_at <= moment for meal in meals)
    assert all(district.local(meal.served_at).date() == meal.date for meal in meals)

    # The latest claimable month's claims, one a place, submitted, true to the meals, with
    # every planted mistake flagged.
    assert demo.claimable_month(district) == month
    claims = db.session.scalars(select(Claim).where(Claim.month == month)).all()
    assert len(claims) == len(places) and {claim.status for claim in claims} == {"submitted"}
    for claim in claims:
        served = count(
            db,
            Meal,
            Meal.canteen_id == claim.canteen_id,
            Meal.voided_at.is_(None),
            Meal.date.between(*month_bounds(month)),
        )
        assert claim.meals == served > 0
    assert set(db.session.scalars(select(ClaimAnomaly.code))) >= PLANTED

    # Today's deliveries: once the lunch's ordering cutoff passed, the simulator's run
    # waiting in the outbox; before it, the orders wait for the manager's runs. And a
    # volunteer's round whose first elder did not answer the door, reported before now.
    cutoff = db.session.scalar(
        select(func.min(Menu.order_cutoff)).where(Menu.date == today, Menu.slot == "lunch")
    )
    simulator_run = db.session.scalar(
        select(DeliveryRun).where(DeliveryRun.platform == "simulator", DeliveryRun.date == today)
    )
    if moment >= cutoff:
        assert count(db, DeliveryJob, DeliveryJob.run_id == simulator_run.id) > 0
    else:
        assert simulator_run is None
        waiting = (Order.date == today, Order.channel == "delivery", Order.run_id.is_(None))
        assert count(db, Order, *waiting, Order.status == "confirmed") > 0
    assert count(db, DeliveryRun, DeliveryRun.platform == "volunteer") >= 1
    made = db.session.scalars(select(DeliveryRun.created_at).where(DeliveryRun.date == today))
    assert all(at >= cutoff for at in made)
    [no_answer] = db.session.scalars(select(WelfareAlert).where(WelfareAlert.kind == "no_answer"))
    assert no_answer.followed_up_at is None and no_answer.raised_at <= moment
    assert db.session.get(Order, no_answer.order_id).status == "failed"

    # The regular diner who stopped coming, an open welfare alert.
    absent = db.session.scalars(select(WelfareAlert).where(WelfareAlert.kind == "absent")).all()
    assert absent and all(alert.followed_up_at is None for alert in absent)

    # Orders to come and the standing orders that place them; no money moved after now.
    assert count(db, Order, Order.status == "confirmed") > 5
    assert count(db, StandingOrder) == 4
    assert db.session.scalar(select(func.max(BalanceMovement.at))) <= moment
    assert db.session.scalar(select(func.max(Order.placed_at))) <= moment
