"""Each of the eight anomaly checks finds exactly the anomaly planted, and a clean month
has none: the checks run on stored meals, against today's facts."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from mealservice.claims.anomalies import find_anomalies
from mealservice.core.clock import utcnow
from mealservice.elders.cards import revoke_card
from mealservice.elders.models import ElderStatus
from mealservice.meals.models import OrderStatus
from mealservice.menus.models import Menu
from tests import factories
from tests.claims.helpers import FIRST, LAST, a_clean_month, local, menu_for, plant_delivery
from tests.claims.helpers import plant_meal as plant


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def elders(district, canteen, elder):
    return [elder, factories.create_elder(district, canteen.community)]


def found(canteen) -> list[dict]:
    return [a.as_dict() for a in find_anomalies(FIRST, LAST, [canteen.id]).get(canteen.id, [])]


def test_a_clean_month_has_no_anomalies(db, policy, canteen, elders):
    meals = a_clean_month(canteen, elders)
    plant_delivery(canteen, elders[0], date(2026, 10, 10))
    assert len(meals) == 2 * 22
    assert found(canteen) == []


def test_duplicate_in_slot_finds_two_meals_in_one_slot(db, policy, canteen, elders):
    a_clean_month(canteen, elders)
    extra = plant(canteen, elders[0], date(2026, 10, 14), minute=40)
    (anomaly,) = found(canteen)
    assert anomaly["code"] == "duplicate_in_slot"
    assert anomaly["elder_id"] == elders[0].id
    assert extra.id in anomaly["meal_ids"] and len(anomaly["meal_ids"]) == 2
    assert anomaly["detail"] == {"date": "2026-10-14", "slot": "lunch", "meals": 2, "limit": 1}


def test_a_policy_allowing_two_per_slot_finds_no_duplicate(db, district, canteen, elders):
    factories.create_policy(district, max_meals_per_slot=2)
    plant(canteen, elders[0], date(2026, 10, 14))
    plant(canteen, elders[0], date(2026, 10, 14), minute=40)
    assert found(canteen) == []


def test_two_places_finds_an_elder_at_two_canteens_within_the_hour(
    db, policy, district, canteen, elders
):
    other = factories.create_canteen(district)
    here = plant(canteen, elders[0], date(2026, 10, 15), slot="breakfast", hour=9, minute=0)
    there = plant(other, elders[0], date(2026, 10, 15), slot="lunch", hour=9, minute=50)
    # Two hours apart is no anomaly.
    plant(canteen, elders[1], date(2026, 10, 15), slot="breakfast", hour=7)
    plant(other, elders[1], date(2026, 10, 15), slot="lunch", hour=11)
    (anomaly,) = found(canteen)
    assert anomaly["code"] == "two_places"
    assert anomaly["meal_ids"] == [here.id]
    assert anomaly["detail"]["other_meal_ids"] == [there.id]
    assert anomaly["detail"]["other_canteen_ids"] == [other.id]
    # The other canteen's claim sees the same pair from its side.
    assert [a.meal_ids for a in find_anomalies(FIRST, LAST, [other.id])[other.id]] == [[there.id]]


def test_over_capacity_lists_the_meals_beyond_the_seats(db, policy, district, canteen):
    day = date(2026, 10, 20)
    menu_for(canteen, day, seats=2)
    people = [factories.create_elder(district, canteen.community) for _ in range(3)]
    meals = [plant(canteen, person, day, minute=n) for n, person in enumerate(people)]
    (anomaly,) = found(canteen)
    assert anomaly["code"] == "over_capacity"
    assert anomaly["meal_ids"] == [meals[2].id]
    assert anomaly["elder_id"] is None
    assert anomaly["detail"]["seats"] == 2 and anomaly["detail"]["served"] == 3


def test_over_capacity_compares_with_the_seats_as_they_stand_today(
    db, policy, district, canteen, elders
):
    day = date(2026, 10, 21)
    for n, person in enumerate(elders):
        plant(canteen, person, day, minute=n)
    assert found(canteen) == []
    menu = db.session.scalar(db.select(Menu).where(Menu.date == day))
    menu.seats_used, menu.seats = 0, 1
    db.session.flush()
    assert [a["code"] for a in found(canteen)] == ["over_capacity"]


def test_holiday_subsidy_finds_a_subsidy_on_a_date_declared_a_holiday_since(
    db, policy, canteen, elders
):
    meals = a_clean_month(canteen, elders)
    assert found(canteen) == []
    factories.create_holiday(date(2026, 10, 1), "国庆节")
    (anomaly,) = [a for a in found(canteen) if a["elder_id"] == elders[0].id]
    assert anomaly["code"] == "holiday_subsidy"
    assert anomaly["detail"] == {"date": "2026-10-01", "holiday": "国庆节"}
    assert anomaly["meal_ids"] == [m.id for m in meals if m.date == date(2026, 10, 1)][:1]


def test_a_holiday_is_no_anomaly_where_the_policy_pays_on_holidays(db, district, canteen, elder):
    factories.create_policy(district, no_subsidy_on_holidays=False)
    factories.create_holiday(date(2026, 10, 1), "国庆节")
    plant(canteen, elder, date(2026, 10, 1))
    assert found(canteen) == []


def test_an_unsubsidized_meal_on_a_holiday_is_no_anomaly(db, policy, canteen, elder):
    factories.create_holiday(date(2026, 10, 1), "国庆节")
    plant(canteen, elder, date(2026, 10, 1), subsidy_fen=0)
    assert found(canteen) == []


def test_delivery_unconfirmed_finds_a_delivery_subsidy_without_delivered(
    db, policy, canteen, elders
):
    plant_delivery(canteen, elders[0], date(2026, 10, 9))
    failed = plant_delivery(canteen, elders[1], date(2026, 10, 9), status=OrderStatus.FAILED)
    (anomaly,) = found(canteen)
    assert anomaly["code"] == "delivery_unconfirmed"
    assert anomaly["meal_ids"] == [failed.id]
    assert anomaly["detail"]["order_status"] == "failed"


def test_card_not_valid_finds_meals_after_the_card_was_revoked_or_superseded(
    db, policy, canteen, elders
):
    revoked = factories.create_card(elders[0])
    revoked.issued_at = local(date(2026, 9, 1), 9)
    revoke_card(revoked, "lost")
    revoked.revoked_at = local(date(2026, 10, 12), 9)
    old = factories.create_card(elders[1])
    old.issued_at = local(date(2026, 9, 1), 9)
    newer = factories.create_card(elders[1])
    newer.issued_at = local(date(2026, 10, 16), 9)
    db.session.flush()
    plant(canteen, elders[0], date(2026, 10, 11), card=revoked)  # before: fine
    after_revoke = plant(canteen, elders[0], date(2026, 10, 13), card=revoked)
    plant(canteen, elders[1], date(2026, 10, 15), card=old)  # before the new card: fine
    after_new = plant(canteen, elders[1], date(2026, 10, 19), card=old)
    plant(canteen, elders[1], date(2026, 10, 20), card=newer)  # the new card: fine
    anomalies = found(canteen)
    assert {a["code"] for a in anomalies} == {"card_not_valid"}
    assert sorted(id for a in anomalies for id in a["meal_ids"]) == [after_revoke.id, after_new.id]


def test_elder_inactive_finds_meals_from_the_status_date_on(db, policy, canteen, elders):
    a_clean_month(canteen, elders)
    elders[1].status = ElderStatus.DECEASED
    elders[1].status_since = date(2026, 10, 29)
    db.session.flush()
    (anomaly,) = found(canteen)
    assert anomaly["code"] == "elder_inactive"
    assert anomaly["elder_id"] == elders[1].id
    assert len(anomaly["meal_ids"]) == 2  # Thursday the 29th and Friday the 30th
    assert anomaly["detail"]["status"] == "deceased"


def test_offline_conflict_finds_a_queued_scan_recorded_as_a_conflict(db, policy, canteen, elder):
    plant(canteen, elder, date(2026, 10, 8), subsidy_fen=0, conflict="card_revoked", offline=True)
    (anomaly,) = found(canteen)
    assert anomaly["code"] == "offline_conflict"
    assert anomaly["detail"]["conflict"] == "card_revoked"


def test_voided_meals_and_other_months_are_left_out(db, policy, canteen, elder):
    day = date(2026, 10, 14)
    plant(canteen, elder, day)
    plant(canteen, elder, day, minute=30, voided_at=utcnow(), voided_by="m", void_reason="oops")
    plant(canteen, elder, LAST + timedelta(days=1))
    plant(canteen, elder, LAST + timedelta(days=1), minute=30)
    assert found(canteen) == []


def test_every_canteen_at_once_finds_what_each_finds_alone(db, policy, district, canteen, elders):
    other = factories.create_canteen(district)
    plant(canteen, elders[0], date(2026, 10, 14))
    plant(canteen, elders[0], date(2026, 10, 14), minute=30)
    plant(other, elders[1], date(2026, 10, 8), subsidy_fen=0, conflict="capacity_full")
    together = find_anomalies(FIRST, LAST, None)
    assert {c: [a.code for a in found_here] for c, found_here in together.items()} == {
        canteen.id: ["duplicate_in_slot"],
        other.id: ["offline_conflict"],
    }


def test_lunch_and_dinner_are_no_duplicate_but_a_second_lunch_among_three_meals_is(
    db, policy, canteen, elder
):
    day = date(2026, 10, 22)
    plant(canteen, elder, day, slot="lunch")
    plant(canteen, elder, day, slot="dinner")
    assert found(canteen) == []
    second = plant(canteen, elder, day, slot="lunch", minute=45)
    (anomaly,) = found(canteen)
    assert anomaly["code"] == "duplicate_in_slot" and second.id in anomaly["meal_ids"]
    assert anomaly["detail"]["meals"] == 2


@pytest.mark.parametrize("hashing", ["on", "off"])
def test_the_checks_leave_the_planners_settings_as_they_found_them(
    db, policy, canteen, elders, hashing
):
    """The crowded-days pass turns hashing off for its aggregate only (PostgreSQL)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    plant(canteen, elders[0], date(2026, 10, 8))
    plant(canteen, elders[0], date(2026, 10, 8), minute=20)
    db.session.execute(text(f"SET LOCAL enable_hashagg = {hashing}"))
    assert [a["code"] for a in found(canteen)] == ["duplicate_in_slot"]
    assert db.session.scalar(text("SELECT current_setting('enable_hashagg')")) == hashing
