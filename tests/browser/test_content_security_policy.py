"""The content security policy in a real browser: the key pages of every kind of user run
without the browser refusing a single script, style or image."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def watch_policy(page) -> list[str]:
    """The browser's reports of anything the policy refused, as they come."""
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: refused.append(str(error)))
    return refused


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    page.wait_for_load_state("networkidle")


def canteen_id(page) -> str:
    page.goto("/canteens")
    link = page.get_by_role("link", name="北山街道老年食堂")
    return link.get_attribute("href").rsplit("/", 1)[1]


def test_staff_pages_run_under_the_policy(desk):
    refused = watch_policy(desk)
    log_in(desk, "manager")
    home = canteen_id(desk)
    for path in (
        f"/canteens/{home}",
        f"/canteens/{home}/menus/plan",
        f"/canteens/{home}/kitchen",
        f"/canteens/{home}/deliveries",
        "/claims",
    ):
        visit(desk, path)
    assert refused == []


def test_the_cashier_page_and_its_scripts_run_under_the_policy(desk):
    refused = watch_policy(desk)
    log_in(desk, "cashier")
    visit(desk, "/cashier")
    # The page script started: the scan box has the focus and the card list is loaded.
    expect(desk.get_by_test_id("scan-input")).to_be_focused()
    assert refused == []


def test_an_officials_dashboard_import_and_the_api_docs_run_under_the_policy(desk):
    refused = watch_policy(desk)
    log_in(desk, "official")
    visit(desk, "/districts/330106/dashboard")
    # The charts are images of our own: each one loaded and was drawn.
    for chart in desk.locator("img[data-testid^=chart-]").all():
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    visit(desk, "/elders/import")
    visit(desk, "/api/v1/docs")
    expect(desk.locator(".opblock").first).to_be_visible()
    assert refused == []


def test_the_ordering_pages_run_under_the_policy(phone):
    refused = watch_policy(phone)
    log_in(phone, "family")
    visit(phone, "/order")
    visit(phone, "/orders")
    visit(phone, "/balances")
    assert refused == []
