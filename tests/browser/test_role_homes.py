"""Each role's main task in Chromium against the live demo, started from the home the login
lands on and followed by the links and buttons a person would tap; then one axe sweep over
every page each role's navigation leads to, its detail pages, and the public pages.

The roles whose main task a browser test of its own area already does from the home:
the elder (test_ordering: orders lunch from 今天 / 明天吃什么 in two taps), the cashier
(test_cashier: scans at the counter the login lands on), the official (test_claims:
reviews a claim from the dashboard's navigation) and the volunteer (test_delivery: marks
a drop delivered on 我的送餐). The others are here, on one live demo: their tasks touch
different rows."""

import html
import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mealservice.accounts.models import User
from mealservice.elders.models import Elder
from mealservice.elders.services import linked_elder_ids
from mealservice.oversight.models import Inspection
from tests.browser.conftest import site_context
from tests.browser.helpers import LATER_ROWS, load_axe_in_every_page, log_in, serious_violations
from tests.browser.test_ordering import open_meal

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


@pytest.fixture
def family_lunch(committed, demo_site):
    """The family login's second elder, with a lunch free to order today or tomorrow."""
    db = committed
    family = db.session.scalar(select(User).where(User.username == "family"))
    elder = db.session.get(Elder, linked_elder_ids(family)[1])
    lunch = open_meal(db, elder, "lunch", delivered=False)
    facts = SimpleNamespace(id=elder.id, name=elder.name, day=lunch.date.isoformat())
    db.session.rollback()
    yield facts
    db.session.close()


def test_a_relative_picks_an_elder_on_the_home_and_orders_in_three_taps(family_lunch, phone):
    log_in(phone, "family")
    # Two elders: the home asks for whom first.
    expect(phone).to_have_url(re.compile(r"/what-to-eat$"))
    phone.get_by_test_id(f"pick-elder-{family_lunch.id}").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text(family_lunch.name)

    choice = phone.get_by_test_id(f"home-day-{family_lunch.day}").locator("a.pay").first
    amount = choice.locator(".amount").inner_text()
    choice.click()
    expect(phone.get_by_test_id("to-pay")).to_have_text(amount)
    phone.get_by_test_id("confirm-order").click()
    expect(phone.get_by_test_id("order-status")).to_have_text("已确认")
    order_id = re.search(r"/orders/(\d+)", phone.url).group(1)

    # Home again (the brand link), then the same elder: the meal shows as booked, linked.
    phone.locator(".brand").click()
    phone.get_by_test_id(f"pick-elder-{family_lunch.id}").click()
    booked = phone.get_by_test_id(f"home-booked-{order_id}")
    expect(booked).to_contain_text("已预订")
    expect(booked.get_by_test_id(f"see-order-{order_id}")).to_be_visible()


def test_a_manager_goes_from_today_at_the_canteen_to_its_deliveries(desk):
    log_in(desk, "manager")
    expect(desk).to_have_url(re.compile(r"/canteens/\d+/today$"))
    today = desk.get_by_test_id("canteen-today")
    expect(today.get_by_role("heading", level=1)).to_have_text("食堂今日 · 北山街道老年食堂")
    expect(desk.get_by_test_id("today-lunch").get_by_test_id("seats")).to_have_text(
        re.compile(r"\d+ / \d+")
    )
    delivered_today = sum(
        int(n) for n in desk.get_by_test_id("today-deliveries").locator("strong").all_inner_texts()
    )
    assert delivered_today > 0

    desk.get_by_test_id("today-deliveries-link").click()
    expect(desk).to_have_url(re.compile(r"/canteens/\d+/deliveries$"))
    expect(desk.get_by_test_id("deliveries")).to_be_visible()
    # Every delivery the day counted has its row, with its stage.
    rows = desk.locator("tr[data-order-id]")
    expect(rows).to_have_count(delivered_today)
    expect(rows.first.locator("[data-role=stage]")).to_be_visible()


def test_an_inspector_records_an_inspection_from_the_list(desk, committed):
    log_in(desk, "inspector")
    expect(desk).to_have_url(re.compile(r"/inspections$"))
    form = desk.locator("form[data-testid^=record-]").first
    inspection_id = int(form.get_attribute("data-testid").removeprefix("record-"))
    expect(desk.get_by_test_id(f"inspection-{inspection_id}")).to_contain_text("尚未检查")

    for box in form.locator("input[name=met]").all():
        box.check()
    form.get_by_label("合格", exact=True).check()
    form.get_by_label("检查发现").fill("后厨整洁，留样齐全。")
    form.get_by_test_id(f"record-submit-{inspection_id}").click()

    expect(desk.get_by_role("status")).to_have_text("检查结果已录入。")
    expect(desk.get_by_test_id(f"record-{inspection_id}")).to_have_count(0)
    expect(desk.get_by_test_id(f"inspection-{inspection_id}")).to_contain_text("合格")
    recorded = committed.session.get(Inspection, inspection_id)
    assert recorded.result == "passed" and recorded.findings == "后厨整洁，留样齐全。"
    committed.session.rollback()


def test_an_admin_finds_a_deactivated_account_from_the_overview(desk):
    log_in(desk, "admin")
    expect(desk).to_have_url(re.compile(r"/overview$"))
    expect(desk.get_by_test_id("count-users")).to_have_text(re.compile(r"\d+"))
    desk.get_by_test_id("overview").get_by_role("link", name="用户管理").click()

    filters = desk.get_by_test_id("user-filters")
    filters.get_by_label("用户名").fill("former")
    filters.get_by_label("状态").select_option(label="已停用")
    filters.get_by_role("button", name="查找").click()
    found = desk.get_by_test_id("users").locator("li")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("former.cashier")
    expect(found).to_contain_text("已停用")

    found.get_by_role("link", name="former.cashier").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("former.cashier")
    expect(desk.get_by_test_id("status")).to_have_text("已停用：无法登录")


# The axe sweep

# Each role at the size it works at, in the order the demo's LOGINS give them.
SWEEP_ROLES = {
    "elder": PHONE,
    "family": PHONE,
    "cashier": PHONE,
    "volunteer": PHONE,
    "manager": DESK,
    "official": DESK,
    "inspector": DESK,
    "admin": DESK,
}
# Not pages: files, charts, the language switch (which only redirects back).
NOT_PAGES = re.compile(r"\.(svg|pdf|xlsx|csv|png)(\?|$)|^/lang/|^/api/|^/static/|^tel:|^mailto:")


def shape_of(href: str) -> str:
    """A link's page, whatever its row or filters: /claims/12?x=1 and /claims/13 are one."""
    return re.sub(r"\d+", "N", href.split("?", 1)[0].split("#", 1)[0])


def links_in(page, where: str) -> list[str]:
    hrefs = page.locator(f"{where} a[href]").evaluate_all(
        "links => links.map((a) => a.getAttribute('href'))"
    )
    return [href for href in hrefs if href.startswith("/") and not NOT_PAGES.search(href)]


def new_kinds(links: list[str], seen_shapes: set[str]) -> list[str]:
    """The first link to each kind of page not seen yet (now seen)."""
    found = []
    for link in links:
        if (
            link.startswith("/")
            and not NOT_PAGES.search(link)
            and shape_of(link) not in seen_shapes
        ):
            seen_shapes.add(shape_of(link))
            found.append(link)
    return found


def sweep(page, seen_shapes: set[str], swept_at: set[tuple]) -> dict[str, list]:
    """The page the browser is on (a home), each page its navigation links to, then the
    first link of each kind of page their content leads to and no sweep has visited yet (a
    claim, an elder, a run's route sheet, an order…): axe's serious findings by page.
    Every page opens.

    A navigation page of a kind another role's sweep already read at this screen size is
    opened and its links followed, but axe does not read it again: it is the same template
    (the role's own header is read on its home), and reading every role's copy took the
    sweep past the suite's time budget."""
    width = page.viewport_size["width"]
    home = re.sub(r"^https?://[^/]+", "", page.url)
    navigation = [
        href for href in dict.fromkeys(links_in(page, "header.topbar nav")) if href != home
    ]
    found = {}
    details = []
    for href in [home, *navigation]:
        if href != home:
            if (shape_of(href), width) in swept_at:
                answer = page.request.get(href)
                assert answer.ok, f"{href} answers {answer.status}"
                main = re.search(r"<main>(.*)</main>", answer.text(), re.S).group(1)
                links = [
                    html.unescape(link) for link in re.findall(r'<a[^>]* href="([^"]+)"', main)
                ]
                details += new_kinds(links, seen_shapes)
                continue
            answer = page.goto(href)
            assert answer.ok, f"{href} answers {answer.status}"
        found[href] = serious_violations(page, exclude=LATER_ROWS)
        swept_at.add((shape_of(href), width))
        seen_shapes.add(shape_of(href))
        details += new_kinds(links_in(page, "main"), seen_shapes)
    for href in details:
        answer = page.goto(href)
        assert answer.ok, f"{href} (from {home}'s pages) answers {answer.status}"
        found[href] = serious_violations(page, exclude=LATER_ROWS)
        swept_at.add((shape_of(href), width))
    return found


def swept_as(browser, site, viewport, seen: tuple[set, set], username: str | None = None):
    """The sweep from a login's home (the page it lands on) or, without one, from the
    login page."""
    context = site_context(browser, site, viewport=viewport)
    load_axe_in_every_page(context)
    page = context.new_page()
    if username:
        log_in(page, username)
    else:
        page.goto("/login")
    try:
        return sweep(page, *seen)
    finally:
        context.close()


def test_axe_finds_nothing_serious_on_any_page_of_any_role(browser, demo_site):
    seen = (set(), set())  # the kinds of page swept; the kinds swept at a screen width
    found = {
        f"public {href}": violations
        for href, violations in swept_as(browser, demo_site, PHONE, seen).items()
    }
    for role, viewport in SWEEP_ROLES.items():
        swept = swept_as(browser, demo_site, viewport, seen, role)
        found |= {f"{role} {href}": violations for href, violations in swept.items()}
    assert {page: violations for page, violations in found.items() if violations} == {}
    # Every role's home, each kind of page once at each size it is used at.
    assert len(found) >= 55, sorted(found)
