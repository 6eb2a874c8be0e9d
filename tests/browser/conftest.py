"""Headless Chromium (Debian's package) driven by Playwright against the live server on
the demo district.

Loading the demo takes some twenty seconds, so the tests of a module share one live
server on a copy of the demo seeded once for the session (tests/conftest.py,
DemoTemplate); a test that would trip over another's changes takes `fresh_demo_site`,
its own server on its own copy. The demo's data depends on the day it was loaded: a test
at another instant than DEFAULT_INSTANT gets the demo loaded at its own instant."""

import os
import shutil

import pytest
from sqlalchemy import select

from config import TestingConfig
from mealservice import create_app, demo
from mealservice.accounts.models import User
from mealservice.core import clock
from mealservice.core.auth import ADMIN
from mealservice.core.db import db as _db
from mealservice.counter.services import dismiss_refused_scan, open_refused_scans
from mealservice.places.models import Canteen, District
from tests.conftest import DEFAULT_INSTANT, LiveServer, instant_of, travelling_to
from tools.screenshots import CHROMIUM, CHROMIUM_FLAGS


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


class DemoSite(LiveServer):
    """A live server, and `app` in this process, on a copy of the seeded demo of its own."""

    def __init__(self, demo_template):
        self.template = demo_template
        self.database_url = demo_template.copy()
        super().__init__(
            create_app(TestingConfig, DATABASE_URL=self.database_url), self.database_url
        )

    def stop(self) -> None:
        super().stop()
        with self.app.app_context():
            _db.session.remove()
            _db.engine.dispose()
        self.template.drop(self.database_url)


@pytest.fixture(scope="module")
def module_demo_site(demo_template):
    # A module's fixture runs outside its tests' clocks: the server's starts at the demo's.
    with travelling_to(DEFAULT_INSTANT):
        site = DemoSite(demo_template)
    yield site
    site.stop()


@pytest.fixture
def demo_site(request):
    """The live server on the demo, and `demo_site.app` on its database: the one this
    module's tests share."""
    if instant_of(request.node) != DEFAULT_INSTANT:
        return request.getfixturevalue("demo_seeded_now")
    return request.getfixturevalue("module_demo_site")


@pytest.fixture
def fresh_demo_site(request, now):
    """The live server on the demo for this test alone, started at its clock."""
    if instant_of(request.node) != DEFAULT_INSTANT:
        yield request.getfixturevalue("demo_seeded_now")
        return
    site = DemoSite(request.getfixturevalue("demo_template"))
    yield site
    site.stop()


@pytest.fixture
def demo_seeded_now(app, live_server):
    """The demo loaded at this test's instant into the suite's own database, under the live
    server on it (whose tables are emptied after the test)."""
    with app.app_context():
        demo.seed()
        _db.session.commit()
        _db.session.remove()
    return live_server


@pytest.fixture
def committed(demo_site):
    """An app context on the live demo's database whose changes are committed."""
    with demo_site.app.app_context():
        yield _db
        _db.session.remove()


def site_context(browser, site, **options):
    """A fresh browser context on the site, Chinese as the browser's language, whose pages'
    clock is the test's (as the server's is), never the machine's."""
    context = browser.new_context(**{"locale": "zh-CN", "base_url": site.url, **options})
    context.clock.install(time=clock.utcnow())
    return context


def chinese_page(browser, site, width: int, height: int):
    """A page of a fresh browser context, Chinese as the browser's language."""
    context = site_context(browser, site, viewport={"width": width, "height": height})
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser, demo_site):
    """A page the size of a common phone."""
    yield from chinese_page(browser, demo_site, 390, 844)


@pytest.fixture
def desk(browser, demo_site):
    yield from chinese_page(browser, demo_site, 1280, 900)


def open_counter(db, slot_windows: dict) -> None:
    """The demo's district with these meal windows, and nothing left to resolve from an
    earlier outage at its counters (the demo leaves one refused scan open, and a test may
    leave more): each test's banner then speaks of its own scans alone."""
    db.session.get(District, "330106").slot_windows = slot_windows
    system = db.session.scalar(select(User).where(User.role == ADMIN).order_by(User.id))
    for canteen in db.session.scalars(select(Canteen)):
        for refused in open_refused_scans(canteen):
            dismiss_refused_scan(system, refused, "an earlier test's")
    db.session.commit()


@pytest.fixture
def counter(committed, demo_site):
    """The demo with lunch served round the clock, so a scan now always falls in a window
    (today's lunch menu is part of the demo)."""
    open_counter(committed, {"lunch": ["00:00", "23:59"]})
    yield committed
    # An open read would hold SQLite's lock while the live server's tables are emptied.
    committed.session.close()


@pytest.fixture
def tablet(browser, demo_site):
    context = site_context(browser, demo_site, viewport={"width": 1024, "height": 768})
    yield context.new_page()
    context.close()
