"""The cashier page in Chromium against the live demo: a USB scanner types the card's
payload and presses Enter; the camera reads a card; scans survive the network going down."""

import re

import pytest
from playwright.sync_api import expect

from mealservice.core.i18n import yuan
from tests.browser.counter import (
    JSQR,
    camera_filming,
    canteen_id,
    fresh_payload,
    hungry_elders,
    lunches_of,
    open_cashier,
    scan_like_a_scanner,
)
from tests.browser.helpers import log_in, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.live]


def largest_font_px(page) -> float:
    return page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('body *')]
            .filter((e) => e.offsetParent !== null && e.getClientRects().length
                && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
            .map((e) => parseFloat(getComputedStyle(e).fontSize)))"""
    )


def test_a_scanned_card_shows_the_green_answer_with_name_and_amount(counter, tablet):
    elder = hungry_elders(counter, 1, with_diet_notes=True, not_low_salt=True)[0]
    payload = fresh_payload(counter, elder)
    log_in(tablet, "cashier")
    expect(tablet).to_have_url(re.compile(r"/cashier$"))  # the cashier's home
    open_cashier(tablet)

    scan_like_a_scanner(tablet, payload)

    answer = tablet.get_by_test_id("answer")
    expect(answer).to_contain_text("成功")
    expect(answer).to_have_attribute("data-state", "served")
    expect(tablet.get_by_test_id("elder-name")).to_contain_text(elder.name)
    [meal] = lunches_of(counter, elder)
    expect(tablet.get_by_test_id("to-collect")).to_have_text(yuan(meal.to_collect_fen))
    expect(tablet.get_by_test_id("scan-list")).to_contain_text(elder.name)
    expect(tablet.get_by_test_id("diet-note")).to_have_text(f"⚠ 饮食提醒： {elder.diet_notes}")
    # The served option is not cooked the way the elder needs: said beside the answer.
    warnings = tablet.get_by_test_id("diet-warnings")
    expect(warnings).to_be_visible()
    expect(warnings).to_contain_text("不适合这位老人：")
    need_words = {"soft": "软烂", "low_sugar": "少糖"}
    for need in sorted(set(elder.diet_needs) - {"low_salt"}):
        expect(warnings).to_contain_text(
            f"营养套餐：不是{need_words[need]}餐（需{need_words[need]}）"
        )
    # Ready for the next elder at once.
    expect(tablet.get_by_test_id("scan-input")).to_be_focused()
    expect(tablet.get_by_test_id("scan-input")).to_have_value("")

    amount_px = tablet.get_by_test_id("to-collect").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert amount_px == largest_font_px(tablet)
    assert serious_violations(tablet) == []


def test_a_revoked_card_shows_the_red_answer_in_plain_words(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder, revoked=True)
    log_in(tablet, "cashier")
    open_cashier(tablet)

    scan_like_a_scanner(tablet, payload)

    answer = tablet.get_by_test_id("answer")
    expect(answer).to_have_attribute("data-state", "refused")
    expect(answer).to_contain_text("拒绝")
    expect(tablet.get_by_test_id("refusal-reason")).to_have_text(
        "此卡已挂失作废。请按姓名查找老人。"
    )
    # Named, as a served meal names the elder: the cashier tells them why by name.
    expect(tablet.get_by_test_id("elder-name")).to_have_text(elder.name)
    assert lunches_of(counter, elder) == []
    expect(tablet.get_by_test_id("scan-input")).to_be_focused()
    assert serious_violations(tablet) == []


def test_garbage_is_refused_as_no_card(counter, tablet):
    log_in(tablet, "cashier")
    open_cashier(tablet)
    scan_like_a_scanner(tablet, "HELLO-WORLD")
    expect(tablet.get_by_test_id("refusal-reason")).to_have_text(
        "这不是有效的助餐卡。请按姓名查找老人。"
    )


def test_a_scan_made_offline_waits_and_is_recorded_exactly_once(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)

    tablet.context.set_offline(True)
    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "pending")
    expect(tablet.get_by_test_id("scan-list")).to_contain_text("待上传")
    expect(tablet.get_by_test_id("offline-banner")).to_contain_text("离线 — 1 条待上传")
    assert lunches_of(counter, elder) == []

    tablet.context.set_offline(False)
    expect(tablet.get_by_test_id("scan-list")).to_contain_text(elder.name)
    expect(tablet.get_by_test_id("scan-list")).not_to_contain_text("待上传")
    expect(tablet.get_by_test_id("offline-banner")).to_be_hidden()
    expect(tablet.get_by_test_id("answer")).to_have_text("网络已恢复：离线记录的扫码都已上传。")
    [meal] = lunches_of(counter, elder)
    assert meal.offline
    # Sending the queue again (the 15-second timer) records nothing more.
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")
    tablet.wait_for_timeout(500)
    assert len(lunches_of(counter, elder)) == 1


def test_a_scan_whose_answer_was_lost_is_not_recorded_twice(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)

    def answer_lost(route):
        # The scan reaches the service and is recorded; its answer never comes back.
        route.fetch()
        route.abort("connectionreset")

    tablet.route("**/scans", answer_lost)
    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "pending")
    assert len(lunches_of(counter, elder)) == 1

    tablet.unroute("**/scans")
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(tablet.get_by_test_id("offline-banner")).to_be_hidden()
    expect(tablet.get_by_test_id("scan-list")).to_contain_text(elder.name)
    expect(tablet.get_by_test_id("scan-list")).not_to_contain_text("待上传")
    [meal] = lunches_of(counter, elder)
    assert not meal.offline


def test_an_offline_scan_the_server_finds_in_conflict_is_flagged_for_the_manager(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder)
    log_in(tablet, "manager")
    open_cashier(tablet)
    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "served")

    # The same card again while offline: the page warns, and the cashier records it anyway.
    tablet.context.set_offline(True)
    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("double-warning")).to_be_visible()
    tablet.get_by_test_id("double-record").click()
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "pending")
    tablet.context.set_offline(False)

    expect(tablet.get_by_test_id("offline-banner")).to_be_hidden()
    flagged = tablet.get_by_test_id("scan-list").locator("li", has_text="冲突")
    expect(flagged).to_contain_text("今天这一餐已经吃过了。")
    expect(tablet.get_by_test_id("conflicts")).to_contain_text(elder.name)
    assert len(lunches_of(counter, elder)) == 2


@pytest.mark.parametrize("why", ["revoked", "deceased"])
def test_a_card_that_no_longer_works_is_refused_offline_from_the_card_list(counter, tablet, why):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder, **{why: True})
    log_in(tablet, "cashier")
    open_cashier(tablet)
    tablet.wait_for_function(
        "() => Object.keys(localStorage).some((k) => k.startsWith('mealservice.card-list'))"
    )

    tablet.context.set_offline(True)
    scan_like_a_scanner(tablet, payload)

    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "refused")
    expect(tablet.get_by_test_id("offline-banner")).to_contain_text("离线 — 0 条待上传")
    tablet.context.set_offline(False)


def fen_of(text: str) -> int:
    """¥1,234.50 → 123450"""
    whole, cents = re.search(r"¥([\d,]+)\.(\d\d)", text).groups()
    return int(whole.replace(",", "")) * 100 + int(cents)


def look_up(page, elder) -> None:
    page.get_by_text("忘带卡或卡丢失：查找老人").click()
    page.get_by_label("老人姓名").fill(elder.name)
    page.get_by_label("手机号后4位").fill(elder.phone4)
    page.get_by_label("无卡原因").select_option(label="忘带卡")
    page.get_by_role("button", name="查找", exact=True).click()


def test_a_manager_serves_an_elder_without_card_and_undoes_it(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    log_in(tablet, "manager")
    open_cashier(tablet)

    look_up(tablet, elder)
    tablet.get_by_role("button", name="无卡就餐").first.click()
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "served")
    expect(tablet.get_by_test_id("elder-name")).to_contain_text(elder.name)
    assert len(lunches_of(counter, elder)) == 1

    entry = tablet.get_by_test_id("scan-list").locator("li", has_text=elder.name)
    entry.get_by_role("button", name="撤销").click()
    entry.get_by_label("撤销原因").fill("扫错了人")
    entry.get_by_role("button", name="确认撤销").click()
    expect(entry).to_contain_text("已撤销")
    expect(tablet.get_by_test_id("scan-input")).to_be_focused()


def test_a_manager_issues_a_new_card_for_a_lost_one_and_prints_it(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    old_payload = fresh_payload(counter, elder)
    log_in(tablet, "manager")
    open_cashier(tablet)

    look_up(tablet, elder)
    with tablet.context.expect_page() as opened:
        tablet.get_by_role("button", name="补发新卡").first.click()
    card_page = opened.value
    card_page.wait_for_load_state()
    expect(card_page.get_by_test_id("card-elder")).to_have_text(elder.name)
    assert card_page.locator(".print-card img").evaluate("img => img.naturalWidth") > 0
    expect(card_page.get_by_role("button", name="打印")).to_be_visible()
    expect(tablet.get_by_role("link", name="打印新卡")).to_be_visible()

    # The old card is now superseded.
    tablet.bring_to_front()
    tablet.get_by_test_id("scan-input").focus()
    scan_like_a_scanner(tablet, old_payload)
    expect(tablet.get_by_test_id("refusal-reason")).to_have_text(
        "这是旧卡，已补发新卡。请出示新卡。"
    )


def test_a_top_up_then_a_meal_paid_from_the_balance(counter, tablet):
    elder = hungry_elders(counter, 1)[0]
    payload = fresh_payload(counter, elder)
    log_in(tablet, "cashier")
    open_cashier(tablet)

    tablet.get_by_text("饭卡充值").click()
    tablet.get_by_label("卡（在此扫码）").click()
    scan_like_a_scanner(tablet, payload)
    tablet.get_by_label("金额（元）").fill("50")
    tablet.get_by_role("button", name="充值", exact=True).click()
    message = tablet.get_by_test_id("topup-message")
    expect(message).to_contain_text("充值 ¥50.00，新余额 ¥")
    balance_fen = fen_of(message.text_content().split("新余额")[1])

    tablet.get_by_label("饭卡余额").check()
    scan_like_a_scanner(tablet, payload)
    expect(tablet.get_by_test_id("answer")).to_have_attribute("data-state", "served")
    [meal] = lunches_of(counter, elder)
    left = yuan(balance_fen - meal.elder_pays_fen)
    expect(tablet.get_by_test_id("balance-line")).to_have_text(
        f"从饭卡扣 {yuan(meal.elder_pays_fen)}，余额 {left}"
    )
    # The choice sticks for the next elder, across a reload too.
    tablet.reload()
    expect(tablet.get_by_label("饭卡余额")).to_be_checked()


def test_the_camera_reads_a_card(counter, browser, demo_site, tmp_path):
    # Linux Chromium has no BarcodeDetector: the page decodes with the vendored jsQR.
    assert JSQR.exists(), "run `make vendor` to fetch jsQR"
    elder = hungry_elders(counter, 1)[0]
    with camera_filming(browser, demo_site, fresh_payload(counter, elder), tmp_path) as page:
        log_in(page, "cashier")
        open_cashier(page)
        page.get_by_test_id("camera-button").click()
        expect(page.get_by_test_id("answer")).to_have_attribute(
            "data-state", "served", timeout=15_000
        )
        expect(page.get_by_test_id("elder-name")).to_contain_text(elder.name)
    assert len(lunches_of(counter, elder)) == 1


def test_the_end_of_shift_report_reads_well_and_prints(counter, tablet):
    log_in(tablet, "manager")
    tablet.goto(f"/canteens/{canteen_id(counter)}/shift-report")
    expect(tablet.get_by_role("heading", name=re.compile("交班报表"))).to_be_visible()
    expect(tablet.get_by_test_id("shift-report")).to_be_visible()
    assert serious_violations(tablet) == []
    tablet.emulate_media(media="print")
    expect(tablet.get_by_test_id("report-form")).to_be_hidden()
    expect(tablet.locator(".topbar")).to_be_hidden()


def test_the_counter_page_goes_full_screen_and_keeps_the_scan_input_focused(counter, tablet):
    log_in(tablet, "cashier")
    open_cashier(tablet)
    tablet.get_by_test_id("fullscreen-button").click()
    tablet.wait_for_function("document.fullscreenElement !== null")
    expect(tablet.get_by_test_id("scan-input")).to_be_focused()
    tablet.get_by_test_id("fullscreen-button").click()
    tablet.wait_for_function("document.fullscreenElement === null")
