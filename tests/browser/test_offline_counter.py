"""The counter through an outage, in Chromium as a cashier meets it: a meal outside every
window is one tap online and kept offline; a second meal in a slot is warned of before it
is queued; a queued scan the service refuses stays under "To resolve" until a person
resolves it; the page reloads, and a tablet starts, without network; the camera reads a
card offline. The network is switched off with Playwright's offline emulation, which the
page's service worker sees too."""

import os
import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect
from sqlalchemy import select

from mealservice.accounts.models import User
from mealservice.core import clock
from mealservice.counter.models import RefusedScan
from mealservice.counter.services import register_terminal
from mealservice.elders.card_codec import CardClaims, encode_card
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, open_counter
from tests.browser.counter import (
    camera_filming,
    canteen_of,
    fresh_payload,
    hungry_elders,
    lunches_of,
    open_cashier,
    scan_like_a_scanner,
)
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

# The suite's instant is 10:00 in the district: with these windows it lies outside every
# one, and lunch (from 10:30) is the nearest.
LATE_HOURS = {
    "breakfast": ["06:00", "07:00"],
    "lunch": ["10:30", "13:30"],
    "dinner": ["16:30", "19:30"],
}


@pytest.fixture
def between_meals(committed, demo_site):
    open_counter(committed, LATE_HOURS)
    yield committed
    committed.session.close()


def ready_for_an_outage(page) -> None:
    """Waits until the service worker controls the page and keeps its files and the page
    itself, and the day's roster is stored: what a tablet has after its first visit."""
    kept = page.evaluate(
        """async () => {
            await navigator.serviceWorker.ready;
            for (let i = 0; i < 200; i += 1) {
                const pages = await (await caches.open("cashier-pages")).keys();
                const files = (await caches.keys()).filter((n) => n.startsWith("cashier-files-"));
                const roster = Object.keys(localStorage).some(
                    (k) => k.startsWith("mealservice.offline-roster."));
                if (navigator.serviceWorker.controller && pages.length && files.length && roster) {
                    return true;
                }
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            return false;
        }"""
    )
    assert kept, "the service worker did not keep the page for an outage"


def forged_payload(db) -> tuple[str, str]:
    """A card in the right form, signed by a key the service does not know: the page cannot
    tell (the key is not on its list), the service refuses it. With the label the page
    gives a card it does not know."""
    today = canteen_of(db).district.local_today()
    db.session.rollback()
    card_id = os.urandom(8)
    claims = CardClaims(77, card_id, 1, today + timedelta(days=365))
    return encode_card(claims, Ed25519PrivateKey.generate()), f"卡 {card_id.hex()[:6]}"


def expect_uploaded(page) -> None:
    # The banner may still name scans to resolve: the demo's own, or another test's.
    expect(page.get_by_test_id("offline-banner")).not_to_contain_text("待上传")
    expect(page.get_by_test_id("scan-list").locator("li", has_text="待上传")).to_have_count(0)


def refused_rows(db, label: str) -> list:
    rows = [
        (row.error_code, row.resolution, row.resolution_reason, row.meal_id)
        for row in db.session.scalars(
            select(RefusedScan).where(RefusedScan.label == label).order_by(RefusedScan.id)
        )
    ]
    db.session.rollback()
    return rows


# ---- a meal outside every window ------------------------------------------------------


def test_a_late_lunch_online_is_one_tap_from_the_refusal(between_meals, tablet):
    elder = hungry_elders(between_meals, 1)[0]
    payload = fresh_payload(between_meals, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)
    expect(tablet.get_by_test_id("slot-auto")).to_have_text("按时间：现在不在就餐时段内")

    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("refusal-reason")).to_contain_text("现在不在任何就餐时段内")
    # The nearest window's meal comes first.
    buttons = tablet.get_by_test_id("answer").get_by_role("button")
    expect(buttons.first).to_have_text("记为午餐")
    tablet.get_by_test_id("record-as-lunch").click()

    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "served")
    expect(tablet.get_by_test_id("elder-name")).to_contain_text(elder.name)
    assert [meal.offline for meal in lunches_of(between_meals, elder)] == [False]


def test_a_meal_the_cashier_picks_is_recorded_as_that_meal(between_meals, tablet):
    elder = hungry_elders(between_meals, 1)[0]
    payload = fresh_payload(between_meals, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)
    tablet.get_by_role("radio", name="午餐").check()
    expect(tablet.get_by_test_id("scan-input")).to_be_focused()

    scan_like_a_scanner(tablet, payload)

    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "served")
    assert len(lunches_of(between_meals, elder)) == 1


def test_a_scan_made_offline_outside_every_window_is_kept_as_the_nearest_meal(
    between_meals, tablet
):
    elder = hungry_elders(between_meals, 1)[0]
    payload = fresh_payload(between_meals, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)
    ready_for_an_outage(tablet)

    tablet.context.set_offline(True)
    scan_like_a_scanner(tablet, payload)
    # The page answers from the day's roster: the name, and the amount marked provisional.
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "pending")
    expect(tablet.get_by_test_id("elder-name")).to_have_text(elder.name)
    expect(tablet.get_by_test_id("provisional")).to_have_text("暂定")
    expect(tablet.get_by_test_id("answer")).to_contain_text("午餐 应收（暂定）")
    shown = tablet.get_by_test_id("to-collect").inner_text()
    tablet.context.set_offline(False)

    expect_uploaded(tablet)
    expect(tablet.get_by_test_id("offline-settled")).to_have_text(
        "网络已恢复：离线记录的扫码都已上传。"
    )
    lunches = lunches_of(between_meals, elder)
    assert [meal.offline for meal in lunches] == [True]
    assert shown == f"¥{lunches[0].to_collect_fen // 100}.{lunches[0].to_collect_fen % 100:02d}"


# ---- warned before a second meal in a slot -----------------------------------------------


def test_the_page_warns_before_a_second_meal_in_a_slot_offline(counter, tablet):
    served, hungry = hungry_elders(counter, 2)
    served_card = fresh_payload(counter, served)
    hungry_card = fresh_payload(counter, hungry)
    log_in(tablet, "cashier")
    open_cashier(tablet)
    ready_for_an_outage(tablet)
    scan_like_a_scanner(tablet, served_card)
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "served")
    served_at = tablet.get_by_test_id("scan-list").locator("li").first.locator(".when")
    served_time = served_at.inner_text()

    tablet.context.set_offline(True)
    # Served online a moment ago.
    scan_like_a_scanner(tablet, served_card)
    expect(tablet.get_by_test_id("double-warning")).to_have_text(
        f"已在{served_time}记录过午餐。还要再记一次吗？"
    )
    tablet.get_by_test_id("double-cancel").click()
    expect(tablet.get_by_test_id("double-cancelled")).to_have_text("已取消，没有记录。")
    expect(tablet.get_by_test_id("offline-banner")).to_contain_text("离线 — 0 条待上传")
    # Queued offline a moment ago.
    scan_like_a_scanner(tablet, hungry_card)
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "pending")
    scan_like_a_scanner(tablet, hungry_card)
    expect(tablet.get_by_test_id("double-warning")).to_contain_text("记录过午餐")
    tablet.get_by_test_id("double-cancel").click()
    expect(tablet.get_by_test_id("offline-banner")).to_contain_text("离线 — 1 条待上传")
    tablet.context.set_offline(False)

    expect_uploaded(tablet)
    assert len(lunches_of(counter, served)) == 1
    assert len(lunches_of(counter, hungry)) == 1


# ---- refused after the outage: kept for a person -------------------------------------------


def test_a_queued_scan_the_service_refuses_stays_to_resolve_until_dismissed(
    counter, tablet, browser, demo_site
):
    forged, label = forged_payload(counter)
    log_in(tablet, "cashier")
    open_cashier(tablet)
    ready_for_an_outage(tablet)
    to_resolve = tablet.get_by_test_id("refused-scans")
    expect(to_resolve).to_be_hidden()
    tablet.context.set_offline(True)
    scan_like_a_scanner(tablet, forged)
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "pending")
    expect(tablet.get_by_test_id("provisional")).to_contain_text("离线时无法确定金额")
    tablet.context.set_offline(False)

    mine = to_resolve.get_by_test_id("refused-scan").filter(has_text=label)
    expect(mine).to_contain_text("不是有效的助餐卡")
    expect(tablet.get_by_test_id("offline-banner")).to_have_text("1 条扫码需要处理")
    # "All sent" is said only when nothing is left to resolve.
    expect(tablet.get_by_test_id("offline-settled")).to_have_text(
        "网络已恢复：离线扫码都已发出，还有 1 条需要处理，请看“需要处理”。"
    )
    tablet.reload()
    expect(mine).to_have_count(1)

    # The manager sees it on the canteen's day, their home.
    manager = browser.new_context(locale="zh-CN", base_url=demo_site.url).new_page()
    log_in(manager, "manager")
    expect(manager.get_by_test_id("today-refused-scans")).to_contain_text(label)
    manager.context.close()

    mine.get_by_role("button", name="不记录…").click()
    mine.get_by_label("不记录的原因").fill("假卡，已收回")
    mine.get_by_role("button", name="确认").click()
    expect(to_resolve).to_be_hidden()
    expect(tablet.get_by_test_id("offline-banner")).to_be_hidden()
    assert refused_rows(counter, label) == [("card_invalid", "dismissed", "假卡，已收回", None)]
    tablet.reload()
    expect(to_resolve).to_be_hidden()


def test_a_refused_queued_scan_is_recorded_for_the_meal_the_cashier_picks(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)
    ready_for_an_outage(tablet)
    tablet.context.set_offline(True)
    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "pending")

    # The service refuses the queued scan once (as for a month since closed).
    refusal = {"error": {"code": "month_closed", "message": "closed", "detail": {}}}
    tablet.route("**/scans", lambda route: route.fulfill(status=409, json=refusal), times=1)
    tablet.context.set_offline(False)
    mine = tablet.get_by_test_id("refused-scans").get_by_test_id("refused-scan")
    mine = mine.filter(has_text=elder.name)
    expect(mine).to_have_count(1)
    assert lunches_of(counter, elder) == []

    mine.get_by_role("button", name="记为午餐").click()
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "served")
    expect(tablet.get_by_test_id("elder-name")).to_contain_text(elder.name)
    expect(mine).to_have_count(0)
    [lunch] = lunches_of(counter, elder)
    assert lunch.offline
    [(code, resolution, _reason, meal_id)] = refused_rows(counter, elder.name)
    assert (code, resolution) == ("month_closed", "retried") and meal_id is not None


# ---- the page without network: a reload, a cold start, the camera ---------------------------


def test_the_counter_reloads_offline_and_still_scans(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)
    ready_for_an_outage(tablet)

    tablet.context.set_offline(True)
    tablet.reload()
    open_cashier(tablet)
    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("elder-name")).to_have_text(elder.name)
    tablet.context.set_offline(False)

    expect_uploaded(tablet)
    assert [meal.offline for meal in lunches_of(counter, elder)] == [True]


def terminal_token(db) -> str:
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    _terminal, token = register_terminal(manager, canteen_of(db), f"柜台 {os.urandom(2).hex()}")
    db.session.commit()
    return token


def test_a_counter_tablet_started_without_network_still_scans(
    counter, browser, demo_site, tmp_path
):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder)
    token = terminal_token(counter)
    profile = tmp_path / "tablet-profile"

    def start_tablet(**options):
        context = browser.browser_type.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            base_url=demo_site.url,
            locale="zh-CN",
            viewport={"width": 1024, "height": 768},
            **options,
        )
        context.clock.install(time=clock.utcnow())
        return context

    # The tablet signed in as the canteen's terminal once, online.
    tablet = start_tablet()
    page = tablet.pages[0] if tablet.pages else tablet.new_page()
    page.goto("/cashier/terminal-login")
    page.get_by_label("终端令牌").fill(token)
    page.get_by_label("终端令牌").press("Enter")
    open_cashier(page)
    ready_for_an_outage(page)
    tablet.close()

    # Switched on again while the network is down.
    tablet = start_tablet(offline=True)
    try:
        page = tablet.pages[0] if tablet.pages else tablet.new_page()
        page.goto("/cashier")
        open_cashier(page)
        scan_like_a_scanner(page, payload)
        expect(page.get_by_test_id("elder-name")).to_have_text(elder.name)
        expect(page.get_by_test_id("offline-banner")).to_contain_text("离线 — 1 条待上传")
        tablet.set_offline(False)
        expect_uploaded(page)
    finally:
        tablet.close()
    assert [meal.offline for meal in lunches_of(counter, elder)] == [True]


def test_the_camera_reads_a_card_offline(counter, browser, demo_site, tmp_path):
    elder = hungry_elders(counter, 1)[0]
    with camera_filming(browser, demo_site, fresh_payload(counter, elder), tmp_path) as page:
        log_in(page, "cashier")
        open_cashier(page)
        ready_for_an_outage(page)
        page.context.set_offline(True)
        # jsQR was kept by the service worker: the camera reads the card without network.
        page.get_by_test_id("camera-button").click()
        expect(page.get_by_test_id("answer")).to_have_attribute(
            "data-state", "pending", timeout=15_000
        )
        expect(page.get_by_test_id("elder-name")).to_have_text(elder.name)
        page.context.set_offline(False)
        expect_uploaded(page)
    assert [meal.offline for meal in lunches_of(counter, elder)] == [True]


def test_the_offline_worker_keeps_every_file_the_page_loads(counter, tablet):
    log_in(tablet, "cashier")
    loaded = set()
    tablet.on(
        "request",
        lambda request: loaded.add(re.sub(r"^https?://[^/]+", "", request.url.split("?")[0])),
    )
    open_cashier(tablet)
    ready_for_an_outage(tablet)
    kept = set(
        tablet.evaluate(
            """async () => {
                const names = (await caches.keys()).filter((n) => n.startsWith("cashier-files-"));
                const cache = await caches.open(names[0]);
                return (await cache.keys()).map((r) => new URL(r.url).pathname);
            }"""
        )
    )
    static = {path for path in loaded if path.startswith("/static/")}
    assert static <= kept, static - kept
    assert "/static/vendor/jsQR.js" in kept


def test_logging_out_leaves_no_names_on_the_tablet_but_keeps_unsent_scans(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)
    ready_for_an_outage(tablet)
    tablet.context.set_offline(True)
    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("offline-banner")).to_contain_text("离线 — 1 条待上传")
    # Back online, but the scan does not get through before the cashier logs out.
    tablet.route("**/scans", lambda route: route.abort("connectionrefused"))
    tablet.context.set_offline(False)

    tablet.get_by_role("button", name="退出登录").click()
    tablet.wait_for_url(lambda url: "/cashier" not in url)
    stored = tablet.evaluate("() => Object.keys(localStorage)")
    assert not [key for key in stored if "roster" in key or "served-today" in key]
    assert [key for key in stored if key.startswith("mealservice.offline-scans.")]
    tablet.unroute("**/scans")
    log_in(tablet, "cashier")
    open_cashier(tablet)
    expect_uploaded(tablet)
    assert [meal.offline for meal in lunches_of(counter, elder)] == [True]
