"""The ordering pages in Chromium on a phone, against the live demo: a relative orders lunch
delivered for an elder in at most four taps, sees the subsidy before confirming, cancels
another order; the pages are large, tappable and pass axe."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mealservice import demo
from mealservice.accounts.models import User
from mealservice.core.clock import utcnow
from mealservice.elders.models import Elder
from mealservice.elders.services import linked_elder_ids
from mealservice.meals.models import LIVE_ORDER_STATUSES, Meal, Order, OrderStatus
from mealservice.meals.orders import cancel_order, place_order
from mealservice.menus.models import Menu
from mealservice.menus.services import create_menu
from mealservice.places.geo import distance_m
from mealservice.places.models import Canteen, Function
from tests.browser.helpers import log_in, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.live]

# Long enough for the test to finish before ordering for the chosen meal closes.
MARGIN = timedelta(minutes=20)


def _free_slot(db, elder_id: int, menu: Menu) -> bool:
    """Make the meal orderable for the elder: cancel what the demo booked for them (as the
    relative would), unless they already ate it."""
    eaten = db.session.scalar(
        select(Meal.id).where(
            Meal.elder_id == elder_id,
            Meal.date == menu.date,
            Meal.slot == menu.slot,
            Meal.voided_at.is_(None),
        )
    )
    if eaten is not None:
        return False
    for booked in db.session.scalars(
        select(Order).where(
            Order.elder_id == elder_id,
            Order.date == menu.date,
            Order.slot == menu.slot,
            Order.status.in_(LIVE_ORDER_STATUSES),
        )
    ):
        cancel_order(None, booked)
    return True


def open_meal(db, elder: Elder, slot: str, *, delivered: bool) -> Menu:
    """Today's menu of `slot` at the place nearest the elder (that delivers, if asked)
    while its cutoff is ahead, else tomorrow's (made if the demo has none), free for the
    elder to order."""
    places = [
        canteen
        for canteen in db.session.scalars(select(Canteen))
        if (not delivered or Function.DELIVERY in canteen.functions)
        and (slot != "dinner" or canteen.kind == "canteen")
    ]
    place = min(places, key=lambda c: distance_m(elder.lat, elder.lng, c.lat, c.lng))
    today = place.district.local_today()
    for day in (today, today + timedelta(days=1)):
        menu = db.session.scalar(
            select(Menu).where(Menu.canteen_id == place.id, Menu.date == day, Menu.slot == slot)
        )
        if menu is None:
            menu = create_menu(place, demo.menu_data(place, day, slot))
        if menu.order_cutoff > utcnow() + MARGIN and _free_slot(db, elder.id, menu):
            db.session.commit()
            return menu
    raise AssertionError(f"no {slot} open for ordering today or tomorrow")


@pytest.fixture
def ordering(committed, demo_site):
    """The family login's two elders, a lunch to order delivered for the first, and a
    dinner already ordered for the second, as plain facts."""
    db = committed
    family = db.session.scalar(select(User).where(User.username == "family"))
    first, second = (db.session.get(Elder, i) for i in linked_elder_ids(family))
    lunch = open_meal(db, first, "lunch", delivered=True)
    dinner = open_meal(db, second, "dinner", delivered=False)
    booked = place_order(
        None,
        {
            "elder_id": second.id,
            "menu_id": dinner.id,
            "option_id": dinner.options[1].id,
            "channel": "dine_in",
        },
    )
    db.session.commit()
    facts = SimpleNamespace(
        first=SimpleNamespace(id=first.id, name=first.name),
        second=SimpleNamespace(id=second.id, name=second.name),
        lunch=SimpleNamespace(
            id=lunch.id,
            option_id=lunch.options[0].id,
            today=lunch.date == lunch.canteen.district.local_today(),
        ),
        booked_id=booked.id,
    )
    # On SQLite the test's session holds the lock until its transaction ends, and the live
    # server must write.
    db.session.rollback()
    yield facts
    db.session.close()


def orders_of(db, elder_id: int) -> list[SimpleNamespace]:
    found = [
        SimpleNamespace(
            id=o.id, status=o.status, channel=o.channel, menu_id=o.menu_id, subsidy=o.subsidy_fen
        )
        for o in db.session.scalars(select(Order).where(Order.elder_id == elder_id))
    ]
    db.session.rollback()
    return found


def base_font_px(page) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")


def smallest_text_px(page) -> float:
    return page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('body *')]
            .filter((e) => e.offsetParent !== null && e.getClientRects().length
                && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
            .map((e) => parseFloat(getComputedStyle(e).fontSize)))"""
    )


def small_targets(page) -> list:
    """Visible links and buttons less than 44 px high: too small for an elder's finger."""
    return page.evaluate(
        """() => [...document.querySelectorAll('a, button, input[type=submit]')]
            .filter((e) => e.offsetParent !== null)
            .map((e) => [e.textContent.trim() || e.outerHTML.slice(0, 60),
                         e.getBoundingClientRect().height])
            .filter(([, height]) => height < 44)"""
    )


def assert_made_for_elders(page) -> None:
    assert base_font_px(page) >= 18
    assert smallest_text_px(page) >= 18
    assert small_targets(page) == []
    assert serious_violations(page) == []


class Taps:
    """Counts what the person taps, from the page they land on after logging in."""

    def __init__(self):
        self.count = 0

    def tap(self, locator) -> None:
        locator.click()
        self.count += 1


def test_a_relative_orders_lunch_delivered_in_four_taps_and_cancels_another_order(
    ordering, phone, committed
):
    log_in(phone, "family")
    taps = Taps()

    taps.tap(phone.get_by_test_id("nav-order"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("为哪位老人订餐？")
    taps.tap(phone.get_by_test_id(f"pick-elder-{ordering.first.id}"))

    # The menu list: nearest places first, with the walk and the seats left.
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"为{ordering.first.name}订餐")
    menu = phone.get_by_test_id(f"menu-{ordering.lunch.id}")
    expect(menu).to_contain_text("午餐")
    expect(phone.get_by_test_id("walk").first).to_have_text(re.compile(r"步行约\d+分钟 · \d+米"))
    if ordering.lunch.today:
        expect(phone.get_by_test_id(re.compile(r"^day-")).first).to_contain_text("今天")
    assert_made_for_elders(phone)

    taps.tap(phone.get_by_test_id(f"deliver-{ordering.lunch.option_id}"))

    # The confirmation: the subsidy and what is left to pay, before anything is taken.
    expect(phone.get_by_role("heading", level=1)).to_have_text("确认订单")
    expect(phone.get_by_test_id("channel")).to_have_text("送餐上门")
    subsidy = phone.get_by_test_id("subsidy").inner_text()
    assert re.fullmatch(r"-¥\d+\.\d\d", subsidy) and subsidy != "-¥0.00"
    expect(phone.get_by_test_id("to-pay")).to_have_text(re.compile(r"¥\d+\.\d\d"))
    assert_made_for_elders(phone)

    taps.tap(phone.get_by_test_id("confirm-order"))

    expect(phone.get_by_test_id("order-status")).to_have_text("已确认")
    assert taps.count <= 4
    [placed] = [
        o for o in orders_of(committed, ordering.first.id) if o.menu_id == ordering.lunch.id
    ]
    assert placed.status == OrderStatus.CONFIRMED and placed.channel == "delivery"
    assert placed.subsidy > 0
    assert f"-¥{placed.subsidy // 100}." in subsidy

    # The other elder's history: cancel the dinner booked for them.
    phone.goto(f"/orders?elder={ordering.second.id}")
    booked = phone.get_by_test_id(f"order-{ordering.booked_id}")
    expect(booked.get_by_test_id("status")).to_have_text("已确认")
    assert_made_for_elders(phone)
    booked.get_by_test_id(f"cancel-{ordering.booked_id}").click()
    # Cancelling asks first, saying what goes back.
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"取消订单 {ordering.booked_id}？")
    expect(phone.get_by_test_id("refund")).to_contain_text("退")
    assert_made_for_elders(phone)
    phone.get_by_test_id("cancel-confirm").click()
    expect(phone.get_by_role("status")).to_have_text("订单已取消。")
    expect(booked.get_by_test_id("status")).to_have_text("已取消")
    expect(booked.get_by_test_id(f"cancel-{ordering.booked_id}")).to_have_count(0)
    [cancelled] = [
        o for o in orders_of(committed, ordering.second.id) if o.id == ordering.booked_id
    ]
    assert cancelled.status == OrderStatus.CANCELLED


@pytest.fixture
def elder_lunch(committed, demo_site):
    """The elder login's elder, with a lunch free for them to order today or tomorrow."""
    db = committed
    user = db.session.scalar(select(User).where(User.username == "elder"))
    [elder_id] = linked_elder_ids(user)
    elder = db.session.get(Elder, elder_id)
    lunch = open_meal(db, elder, "lunch", delivered=False)
    facts = SimpleNamespace(elder_id=elder.id, day=lunch.date.isoformat())
    db.session.rollback()
    yield facts
    db.session.close()


def test_an_elder_orders_lunch_from_the_home_in_two_taps(elder_lunch, phone, committed):
    log_in(phone, "elder")
    taps = Taps()

    # The home: what to eat today and tomorrow, what the elder pays in large type.
    expect(phone).to_have_url(re.compile(r"/what-to-eat$"))
    expect(phone.get_by_role("heading", level=1)).to_contain_text("今天 / 明天吃什么")
    day = phone.get_by_test_id(f"home-day-{elder_lunch.day}")
    choice = day.locator("a.pay").first
    expect(choice.locator(".amount")).to_have_text(re.compile(r"¥\d+\.\d\d"))
    assert_made_for_elders(phone)
    amount = choice.locator(".amount").inner_text()

    taps.tap(choice)
    expect(phone.get_by_role("heading", level=1)).to_have_text("确认订单")
    expect(phone.get_by_test_id("to-pay")).to_have_text(amount)
    taps.tap(phone.get_by_test_id("confirm-order"))

    expect(phone.get_by_test_id("order-status")).to_have_text("已确认")
    assert taps.count == 2
    placed = [o for o in orders_of(committed, elder_lunch.elder_id) if o.status == "confirmed"]
    assert placed

    # Back home, the meal shows as booked, linked to its order.
    phone.goto("/")
    expect(phone.get_by_test_id(re.compile(r"^home-booked-")).first).to_contain_text("已预订")
