"""The delivery pages in Chromium against the live demo: a volunteer on a phone confirms a
drop with the code the elder gives at the door (after a wrong one), and the manager's
and the volunteer's pages pass axe."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mealservice.accounts.services import create_user
from mealservice.delivery import services
from mealservice.elders.models import Elder
from mealservice.meals.models import LIVE_ORDER_STATUSES, Order, OrderStatus
from mealservice.meals.orders import place_order
from mealservice.menus.models import Menu
from mealservice.places.models import Canteen
from tests.browser.helpers import log_in, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.live]

CANTEEN = "北山街道老年食堂"
VOLUNTEER = "volunteer-li"
VOLUNTEER_PASSWORD = "bamboo-basket-42"


@pytest.fixture
def demo_site(fresh_demo_site):
    """Each test on a demo of its own: both sign the same volunteer up."""
    return fresh_demo_site


@pytest.fixture
def drop(committed, demo_site):
    """A volunteer of the demo canteen with today's run holding a delivery the test placed
    for tomorrow's lunch (the run is moved to today: the page lists today's runs)."""
    db = committed
    canteen = db.session.scalar(select(Canteen).where(Canteen.name == CANTEEN))
    tomorrow = canteen.district.local_today() + timedelta(days=1)
    menu = db.session.scalar(
        select(Menu).where(
            Menu.canteen_id == canteen.id, Menu.date == tomorrow, Menu.slot == "lunch"
        )
    )
    busy = select(Order.elder_id).where(
        Order.date == tomorrow, Order.slot == "lunch", Order.status.in_(LIVE_ORDER_STATUSES)
    )
    elder = db.session.scalar(
        select(Elder)
        .where(Elder.id.not_in(busy), Elder.community_id == canteen.community_id)
        .order_by(Elder.id)
    ) or db.session.scalar(select(Elder).where(Elder.id.not_in(busy)).order_by(Elder.id))
    volunteer = create_user(
        None,
        username=VOLUNTEER,
        password=VOLUNTEER_PASSWORD,
        role="volunteer",
        district=None,
        canteen_id=canteen.id,
        elder_ids=[],
    )
    order = place_order(
        None,
        {
            "elder_id": elder.id,
            "menu_id": menu.id,
            "option_id": menu.options[0].id,
            "channel": "delivery",
        },
    )
    manager = SimpleNamespace(username="browser-test", role="manager", canteen_id=canteen.id)
    # Made at the cutoff, as runs are: the shared demo's menu is left as it is.
    runs = services.make_runs(
        manager, canteen, tomorrow, "lunch", "volunteer", volunteer.id, now=menu.order_cutoff
    )
    for run in runs:
        run.date = canteen.district.local_today()
    db.session.flush()
    facts = SimpleNamespace(
        order_id=order.id,
        code=order.delivery_code,
        name=elder.name,
        canteen_id=canteen.id,
        tomorrow=tomorrow,
    )
    db.session.commit()
    yield facts
    # An open read would hold SQLite's lock while the live server's tables are emptied.
    db.session.close()


def test_a_volunteer_on_a_phone_confirms_a_drop_with_the_elders_code(phone, drop, committed):
    log_in(phone, VOLUNTEER, VOLUNTEER_PASSWORD)
    expect(phone).to_have_url(re.compile(r"/my-drops$"))  # the volunteer's home
    stop = phone.get_by_test_id(f"drop-{drop.order_id}")
    expect(stop).to_contain_text(drop.name)
    # An open drop of an active run: the elder's phone, to call from the door.
    expect(stop.locator('a[href^="tel:"]')).to_have_count(1)
    assert serious_violations(phone) == []

    wrong = "000000" if drop.code != "000000" else "111111"
    phone.get_by_test_id(f"code-{drop.order_id}").fill(wrong)
    phone.get_by_test_id(f"delivered-{drop.order_id}").click()
    expect(phone.get_by_test_id(f"drop-error-{drop.order_id}")).to_be_visible()

    phone.get_by_test_id(f"code-{drop.order_id}").fill(drop.code)
    phone.get_by_test_id(f"delivered-{drop.order_id}").click()
    expect(phone.get_by_test_id(f"drop-stage-{drop.order_id}")).to_be_visible()
    expect(phone.get_by_test_id(f"code-{drop.order_id}")).to_have_count(0)
    # The big button fits a phone's width: nothing scrolls sideways.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    committed.session.rollback()
    order = committed.session.get(Order, drop.order_id)
    assert order.status == OrderStatus.DELIVERED and order.delivered_at is not None
    committed.session.rollback()


def test_the_managers_delivery_page_passes_axe_and_refreshes_itself(desk, drop, committed):
    log_in(desk, "manager")
    desk.get_by_test_id("nav-deliveries").click()
    desk.goto(f"/canteens/{drop.canteen_id}/deliveries?date={drop.tomorrow.isoformat()}")
    row = desk.get_by_test_id(f"order-{drop.order_id}")
    expect(row).to_be_visible()
    assert serious_violations(desk) == []

    # The volunteer hands the meal over meanwhile: the row changes without a reload.
    committed.session.rollback()
    order = committed.session.get(Order, drop.order_id)
    order.delivery_stage = "picked_up"
    committed.session.commit()
    expect(desk.get_by_test_id(f"stage-{drop.order_id}")).to_have_attribute(
        "data-stage", "picked_up", timeout=12_000
    )
    redispatch = desk.get_by_test_id(f"redispatch-{drop.order_id}")
    expect(redispatch).to_be_hidden()

    # Then nobody answers the door: the row says so and offers to send the meal again.
    order = committed.session.get(Order, drop.order_id)
    order.status, order.failure_reason = OrderStatus.FAILED, "no_answer"
    committed.session.commit()
    expect(redispatch).to_be_visible(timeout=12_000)
    committed.session.rollback()
