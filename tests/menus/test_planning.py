"""Menu planning rules, without HTTP: a menu changes only in ways that keep what was
ordered and served valid; weeks are copied as drafts and published."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mealservice.core.db import db
from mealservice.core.errors import Conflict, ValidationFailed
from mealservice.meals.models import Order
from mealservice.menus.models import Menu, MenuStatus
from mealservice.menus.services import (
    copy_week,
    publish_menu,
    publish_week,
    update_menu,
    week_menus,
    week_start,
)
from tests import factories
from tests.menus.helpers import add_order


@pytest.fixture
def today(district):
    return district.local_today()


@pytest.fixture
def menu(canteen, today):
    return factories.create_menu(canteen, today + timedelta(days=2), delivery_capacity=10)


def refused(code: str, *args, **kwargs) -> Conflict:
    with pytest.raises(Conflict) as caught:
        update_menu(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_seats_may_shrink_to_what_is_booked_and_no_further(menu, elder):
    add_order(menu, menu.options[0], elder)
    add_order(menu, menu.options[1], elder)
    error = refused("seats_below_booked", menu, {"seats": 1})
    assert error.detail == {"seats_used": 2}
    assert update_menu(menu, {"seats": 2}).seats == 2


def test_seats_stay_within_what_the_canteen_serves(menu, canteen):
    with pytest.raises(ValidationFailed) as caught:
        update_menu(menu, {"seats": canteen.seats_per_meal + 1})
    assert list(caught.value.fields) == ["seats"]


def test_delivery_capacity_never_goes_below_what_was_ordered(menu, elder):
    add_order(menu, menu.options[0], elder, "delivery")
    add_order(menu, menu.options[0], elder, "delivery")
    error = refused("delivery_below_booked", menu, {"delivery_capacity": 1})
    assert error.detail == {"delivery_used": 2}
    assert update_menu(menu, {"delivery_capacity": 2}).delivery_capacity == 2
    # No capacity at all means no limit, which keeps every order.
    assert update_menu(menu, {"delivery_capacity": None}).delivery_capacity is None


def test_an_option_a_live_order_uses_is_not_removed(menu, elder):
    first, second = menu.options
    add_order(menu, second, elder, "delivery", status="dispatched")
    error = refused("option_in_use", menu, {"options": [{"id": first.id}]})
    assert error.detail["option_id"] == second.id
    assert error.detail["live_orders"] == 1
    assert [o.id for o in menu.options] == [first.id, second.id]


def test_an_option_a_meal_used_is_not_removed(canteen, elder, today):
    meal = factories.create_meal(canteen, elder, "lunch", option_id=None)
    menu = db.session.get(Menu, meal.menu_id)
    used, other = menu.options
    assert meal.option_id == used.id
    error = refused("option_in_use", menu, {"options": [{"id": other.id}]})
    assert error.detail["meals"] == 1


def test_an_unused_option_is_removed_and_the_others_keep_their_ids(menu, elder):
    first, second = menu.options
    add_order(menu, first, elder)
    update_menu(menu, {"options": [{"id": first.id}, {"name": "少糖套餐", "price_fen": 1600}]})
    db.session.commit()
    db.session.expire_all()
    menu = db.session.get(Menu, menu.id)
    assert [(o.name, o.price_fen) for o in menu.options] == [("A套餐", 1800), ("少糖套餐", 1600)]
    assert menu.options[0].id == first.id
    assert menu.options[1].id != second.id


def test_an_option_of_another_menu_is_named_as_a_bad_field(menu, canteen, today):
    other = factories.create_menu(canteen, today + timedelta(days=2), "dinner")
    with pytest.raises(ValidationFailed) as caught:
        update_menu(menu, {"options": [{"id": other.options[0].id}]})
    assert list(caught.value.fields) == ["options.0.id"]


def test_a_new_price_leaves_confirmed_orders_as_they_were_priced(menu, elder):
    option = menu.options[0]
    order = add_order(menu, option, elder, "delivery")
    update_menu(
        menu,
        {"options": [{"id": option.id, "price_fen": 2500}, {"id": menu.options[1].id}]},
    )
    db.session.commit()
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert db.session.get(Menu, menu.id).options[0].price_fen == 2500
    assert (order.price_fen, order.delivery_fee_fen, order.elder_pays_fen) == (1800, 500, 2300)


def test_a_menu_of_a_past_date_cannot_change_or_be_published(canteen, today):
    past = factories.create_menu(canteen, today - timedelta(days=1), status="draft")
    refused("menu_in_past", past, {"seats": 10})
    with pytest.raises(Conflict) as caught:
        publish_menu(past)
    assert caught.value.code == "menu_in_past"


def test_todays_menu_may_still_change(canteen, today):
    menu = factories.create_menu(canteen, today)
    assert update_menu(menu, {"seats": 40}).seats == 40


def test_a_menu_keeps_its_date_and_slot(menu):
    with pytest.raises(ValidationFailed) as caught:
        update_menu(menu, {"date": menu.date + timedelta(days=1), "slot": "dinner"})
    assert set(caught.value.fields) == {"date", "slot"}
    # Repeating them is no change.
    assert update_menu(menu, {"date": menu.date, "slot": menu.slot}) is menu


def test_the_cutoff_stays_before_the_slot_ends(menu):
    with pytest.raises(ValidationFailed) as caught:
        update_menu(menu, {"order_cutoff": menu.order_cutoff + timedelta(hours=2)})
    assert list(caught.value.fields) == ["order_cutoff"]


def test_a_later_cutoff_reopens_ordering(menu):
    menu.ordering_closed_at = menu.order_cutoff
    update_menu(menu, {"order_cutoff": menu.order_cutoff + timedelta(minutes=30)})
    assert menu.ordering_closed_at is None


def test_an_ordered_menu_is_not_taken_back_to_draft(menu, elder):
    add_order(menu, menu.options[0], elder, status="cancelled")
    refused("menu_in_use", menu, {"status": "draft"})


def test_publishing_a_draft(canteen, today):
    draft = factories.create_menu(canteen, today + timedelta(days=1), status="draft")
    assert publish_menu(draft).status == MenuStatus.PUBLISHED
    # Publishing twice changes nothing.
    assert publish_menu(draft).status == MenuStatus.PUBLISHED


def test_publishing_a_week_publishes_its_drafts_from_today_on(canteen, today):
    monday = week_start(today)
    days = [monday + timedelta(days=n) for n in range(7)]
    for day in days:
        factories.create_menu(canteen, day, status="draft")
    published = publish_week(canteen, monday)
    assert [m.date for m in published] == [day for day in days if day >= today]
    states = {day: menu.status for (day, _), menu in week_menus(canteen, monday).items()}
    assert all(states[day] == ("published" if day >= today else "draft") for day in days)


def test_copying_last_week_makes_this_weeks_missing_menus_as_drafts(canteen, today):
    this_week = week_start(today) + timedelta(days=7)  # next week: every day is ahead
    last_week = this_week - timedelta(days=7)
    monday = factories.create_menu(canteen, last_week, "lunch", seats=60, delivery_capacity=15)
    factories.create_menu(canteen, last_week + timedelta(days=2), "dinner")
    kept = factories.create_menu(canteen, this_week + timedelta(days=2), "dinner", seats=33)

    created, skipped = copy_week(canteen, last_week, this_week)

    assert [(m.date, m.slot) for m in created] == [(this_week, "lunch")]
    assert skipped == [
        {"date": this_week + timedelta(days=2), "slot": "dinner", "reason": "exists"}
    ]
    copy = created[0]
    assert copy.status == MenuStatus.DRAFT
    assert (copy.seats, copy.seats_used, copy.delivery_capacity) == (60, 0, 15)
    assert copy.order_cutoff == monday.order_cutoff + timedelta(days=7)
    assert [(o.name, o.price_fen, o.delivery_fee_fen, o.tags) for o in copy.options] == [
        (o.name, o.price_fen, o.delivery_fee_fen, o.tags) for o in monday.options
    ]
    assert {o.id for o in copy.options}.isdisjoint({o.id for o in monday.options})
    assert db.session.get(Menu, kept.id).seats == 33


def test_copying_leaves_past_days_alone(canteen, today):
    this_week = week_start(today)
    for n in range(7):
        factories.create_menu(canteen, this_week - timedelta(days=7 - n))
    created, skipped = copy_week(canteen, this_week - timedelta(days=7), this_week)
    assert [m.date for m in created] == [
        this_week + timedelta(days=n) for n in range(7) if this_week + timedelta(days=n) >= today
    ]
    assert {s["reason"] for s in skipped} <= {"past"}


def test_copying_into_a_week_that_is_over_is_refused(canteen, today):
    monday = week_start(today)
    with pytest.raises(Conflict) as caught:
        copy_week(canteen, monday - timedelta(days=7), monday - timedelta(days=14))
    assert caught.value.code == "menu_in_past"


def test_weeks_to_copy_are_named_by_their_mondays(canteen, today):
    monday = week_start(today)
    with pytest.raises(ValidationFailed) as caught:
        copy_week(canteen, monday + timedelta(days=1), monday + timedelta(days=9))
    assert set(caught.value.fields) == {"from_week", "to_week"}
    with pytest.raises(ValidationFailed) as caught:
        copy_week(canteen, monday, monday)
    assert set(caught.value.fields) == {"to_week"}


def test_copying_twice_makes_nothing_new(canteen, today):
    this_week = week_start(today) + timedelta(days=7)
    factories.create_menu(canteen, this_week - timedelta(days=7))
    copy_week(canteen, this_week - timedelta(days=7), this_week)
    created, skipped = copy_week(canteen, this_week - timedelta(days=7), this_week)
    assert created == [] and [s["reason"] for s in skipped] == ["exists"]
    count = db.session.scalars(select(Menu).where(Menu.date == this_week)).all()
    assert len(count) == 1
