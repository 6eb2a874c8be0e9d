"""Headless Chromium (Debian's package) driven by Playwright against the live server."""

import os
import shutil

import pytest

from mealservice import demo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-zenhei")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_site(committed, live_server):
    demo.seed()
    committed.session.commit()
    return live_server


def chinese_page(browser, site, width: int, height: int):
    """A page of a fresh browser context, Chinese as the browser's language."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", base_url=site.url
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser, demo_site):
    """A page the size of a common phone."""
    yield from chinese_page(browser, demo_site, 390, 844)


@pytest.fixture
def desk(browser, demo_site):
    yield from chinese_page(browser, demo_site, 1280, 900)
