import re

import pytest
from playwright.sync_api import expect

from mealservice.demo import LOGINS
from tests.browser.conftest import site_context

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORDS = {login["username"]: login["password"] for login in LOGINS}


def log_in(page, username: str):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORDS[username])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
    # From the role's home to the meal places, as the navigation leads. Waits for the
    # "load" event too, so the page's deferred scripts have run.
    page.get_by_test_id("nav-places").click()
    page.wait_for_url(re.compile(r"/canteens$"))


def test_a_manager_logs_in_on_a_phone_finds_the_canteen_and_edits_its_hours(phone):
    log_in(phone, "manager")
    expect(phone.get_by_role("heading", name="助餐场所")).to_be_visible()
    expect(phone.get_by_test_id("who")).to_contain_text("食堂负责人")
    phone.get_by_role("link", name="北山街道老年食堂").click()
    expect(phone.get_by_test_id("canteen-name")).to_have_text("北山街道老年食堂")
    phone.get_by_label("营业时间").fill("06:30–19:30")
    phone.get_by_role("button", name="保存").click()
    expect(phone.get_by_role("status")).to_have_text("已保存。")
    expect(phone.locator(".facts")).to_contain_text("06:30–19:30")
    # Usable on a phone: nothing sticks out sideways, the type is large.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    font_px = phone.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_px >= 18


def test_chinese_text_is_drawn_with_a_cjk_font(phone):
    phone.goto("/login")
    # The width of a CJK glyph in the page's font; boxes of a missing font differ wildly.
    widths = phone.evaluate(
        """() => {
            const c = document.createElement('canvas').getContext('2d');
            c.font = '20px "WenQuanYi Zen Hei"';
            return [c.measureText('登录').width, c.measureText('用户').width];
        }"""
    )
    assert widths[0] == pytest.approx(40, abs=2) and widths[1] == pytest.approx(40, abs=2)
    assert phone.evaluate("document.fonts.check('20px \"WenQuanYi Zen Hei\"', '登录')")


def test_the_english_switch(desk):
    log_in(desk, "official")
    desk.get_by_test_id("lang-switch").click()
    expect(desk.get_by_role("heading", name="Meal places")).to_be_visible()
    expect(desk.get_by_test_id("who")).to_contain_text("District official")
    desk.get_by_role("link", name="中文").click()
    expect(desk.get_by_role("heading", name="助餐场所")).to_be_visible()


def test_an_official_sees_the_whole_district_and_filters_by_community(desk):
    log_in(desk, "official")
    cards = desk.get_by_test_id("canteen-list").locator("li")
    expect(cards).to_have_count(9)
    desk.get_by_label("社区").select_option(label="北山街道 · 保俶塔社区")
    desk.get_by_role("button", name="查看").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("保俶塔社区助餐点")


def test_nearest_to_me_uses_the_browsers_location(browser, demo_site):
    context = site_context(
        browser,
        demo_site,
        geolocation={"latitude": 30.2671, "longitude": 120.1476},
        permissions=["geolocation"],
    )
    page = context.new_page()
    log_in(page, "official")
    page.get_by_label("范围").select_option("500")
    page.get_by_role("button", name="离我最近").click()
    expect(page).to_have_url(re.compile(r"near=30\.267100%2C120\.147600"))
    page.wait_for_load_state()
    names = page.get_by_test_id("canteen-list").locator("strong").all_inner_texts()
    assert names[0] == "保俶塔社区助餐点"
    distances = [
        int(d.removesuffix(" m")) for d in page.get_by_test_id("distance").all_inner_texts()
    ]
    assert distances == sorted(distances) and distances[-1] <= 500
    context.close()


def test_page_scripts_reach_the_api_only_with_the_csrf_token(desk):
    log_in(desk, "manager")
    canteen_id = (
        desk.get_by_role("link", name="北山街道老年食堂").get_attribute("href").rsplit("/", 1)[1]
    )
    with_token = desk.evaluate(
        """async (id) => {
            const r = await window.mealservice.api('/api/v1/canteens/' + id, {method: 'PATCH', body: {phone: '0571-87980000'}});
            return [r.status, (await r.json()).phone];
        }""",
        canteen_id,
    )
    assert with_token == [200, "0571-87980000"]
    without_token = desk.evaluate(
        """async (id) => {
            const r = await fetch('/api/v1/canteens/' + id, {method: 'PATCH', headers: {'Content-Type': 'application/json'}, body: '{"phone": "1"}'});
            return [r.status, (await r.json()).error.code];
        }""",
        canteen_id,
    )
    assert without_token == [403, "csrf_failed"]


def test_a_wrong_password_is_told_in_plain_words(phone):
    phone.goto("/login")
    phone.get_by_label("用户名").fill("manager")
    phone.get_by_label("密码").fill("not-the-password")
    phone.get_by_role("button", name="登录").click()
    expect(phone.get_by_test_id("login-error")).to_have_text("用户名或密码错误。")


def test_the_api_docs_render_from_local_assets(desk):
    requests = []
    desk.on("request", lambda request: requests.append(request.url))
    desk.goto("/api/v1/docs")
    expect(desk.locator(".swagger-ui .info .title")).to_contain_text("mealservice")
    expect(desk.locator(".opblock").first).to_be_visible()
    assert all(url.startswith(desk.url.split("/api/")[0]) for url in requests), requests
