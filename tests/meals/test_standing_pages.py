"""Standing orders and holds on a page: a relative makes, holds and stops the elder's
standing order through meals.standing; a manager does so at their canteen; refusals
are sentences naming the field, and nothing is half made."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mealservice.core.db import db
from mealservice.meals.models import StandingOrder, StandingOrderHold
from tests import factories
from tests.pages import browser_as, html_of, post_form

FORM = {
    "slot": "lunch",
    "channel": "delivery",
    "weekdays": ["0", "2", "4"],
    "preferred_tag": "soft",
    "payment_method": "on_delivery",
}


@pytest.fixture
def relative(app, elder):
    return browser_as(app, "family", elders=[elder])


def standing_orders() -> list[StandingOrder]:
    db.session.expire_all()
    return db.session.scalars(select(StandingOrder)).all()


def test_a_relative_makes_a_standing_order_on_the_page(app, relative, elder, canteen):
    page = html_of(relative.get("/standing-orders"))
    assert 'data-testid="standing-form"' in page and "No standing orders yet." in page
    response = post_form(
        relative,
        "/standing-orders",
        {**FORM, "canteen": canteen.id, "elder": elder.id},
        "/standing-orders",
    )
    assert response.status_code == 302
    [made] = standing_orders()
    assert (made.elder_id, made.canteen_id, made.weekdays) == (elder.id, canteen.id, "1010100")
    assert (made.preferred_tag, made.payment_method, made.created_by) == (
        "soft",
        "on_delivery",
        relative.user.username,
    )
    page = html_of(relative.get(response.location))
    assert f'data-testid="standing-{made.id}"' in page and "Mon Wed Fri" in page


def test_no_weekday_is_refused_naming_the_field_and_nothing_is_made(app, relative, elder, canteen):
    response = post_form(
        relative,
        "/standing-orders",
        {**FORM, "weekdays": [], "canteen": canteen.id, "elder": elder.id},
        "/standing-orders",
    )
    assert response.status_code == 422
    assert "Weekdays: Choose at least one weekday." in html_of(response)
    assert standing_orders() == []


def test_a_relative_adds_and_lifts_a_hold_then_stops_the_order(app, relative, elder, canteen):
    made = factories.create_standing_order(canteen, elder)
    first = canteen.district.local_today() + timedelta(days=14)
    response = post_form(
        relative,
        f"/standing-orders/{made.id}/holds",
        {
            "starts_on": first.isoformat(),
            "ends_on": (first + timedelta(days=3)).isoformat(),
            "reason": "探亲",
        },
        "/standing-orders",
    )
    assert response.status_code == 302
    hold = db.session.scalar(select(StandingOrderHold).where(StandingOrderHold.reason == "探亲"))
    assert hold.starts_on == first and hold.created_by == relative.user.username

    post_form(
        relative, f"/standing-orders/{made.id}/holds/{hold.id}/remove", {}, "/standing-orders"
    )
    db.session.expire_all()
    assert db.session.get(StandingOrderHold, hold.id) is None

    post_form(relative, f"/standing-orders/{made.id}/stop", {}, "/standing-orders")
    [stopped] = standing_orders()
    assert stopped.stopped_by == relative.user.username
    assert 'data-testid="stopped"' in html_of(relative.get("/standing-orders"))


def test_a_hold_ending_before_it_starts_is_said_in_words(app, relative, elder, canteen):
    made = factories.create_standing_order(canteen, elder)
    day = canteen.district.local_today() + timedelta(days=14)
    response = post_form(
        relative,
        f"/standing-orders/{made.id}/holds",
        {
            "starts_on": day.isoformat(),
            "ends_on": (day - timedelta(days=1)).isoformat(),
            "reason": "x",
        },
        "/standing-orders",
    )
    page = html_of(relative.get(response.location))
    assert "Last day away: The hold must end on or after the day it starts." in page
    assert len(made.holds) == 1  # the factory's own


def test_another_family_cannot_stop_it(app, elder, canteen, district):
    made = factories.create_standing_order(canteen, elder)
    stranger = browser_as(app, "family", elders=[factories.create_elder(district)])
    assert f'data-testid="standing-{made.id}"' not in html_of(stranger.get("/standing-orders"))
    response = post_form(stranger, f"/standing-orders/{made.id}/stop", {}, "/standing-orders")
    assert response.status_code == 404
    assert standing_orders()[0].stopped_at is None


def test_a_manager_sees_the_canteens_standing_orders_and_makes_one_by_elder_number(
    app, canteen, elder, district
):
    made = factories.create_standing_order(canteen, elder)
    manager = browser_as(app, "manager", canteen=canteen)
    page = html_of(manager.get("/standing-orders"))
    assert f'data-testid="standing-{made.id}"' in page and 'id="elder-number"' in page
    other = factories.create_elder(district, canteen.community)
    response = post_form(
        manager,
        "/standing-orders",
        {
            **FORM,
            "slot": "dinner",
            "channel": "dine_in",
            "payment_method": "",
            "canteen": canteen.id,
            "elder": other.id,
        },
        "/standing-orders",
    )
    assert response.status_code == 302
    assert {(s.elder_id, s.slot, s.payment_method) for s in standing_orders()} == {
        (elder.id, "lunch", "on_delivery"),
        (other.id, "dinner", "at_counter"),
    }


def test_a_cashier_may_not_reach_standing_orders(app, canteen):
    cashier = browser_as(app, "cashier", canteen=canteen)
    assert cashier.get("/standing-orders").status_code == 403
