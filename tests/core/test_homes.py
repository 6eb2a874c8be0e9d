"""Every role starts at a home of its own after logging in, and every link of its
navigation answers 200: nobody is sent to a page they may not open."""

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from mealservice.accounts.models import User
from mealservice.core.auth import Role
from mealservice.core.db import db
from mealservice.core.pages import HOMES
from mealservice.demo import LOGINS
from mealservice.meals.orders import place_order
from mealservice.menus.models import Menu
from tests import factories
from tests.core.test_pages import log_in
from tests.pages import browser_as, html_of
from tools.screenshots import HOMES as PICTURED

ROLES = ("admin", "official", "manager", "cashier", "family", "elder", "volunteer", "inspector")


@pytest.fixture
def world(db, district, canteen, elder):
    """A small demo: a policy, today's and tomorrow's menus, an order, an alert."""
    factories.create_policy(district)
    day = district.local_today()
    for slot in ("lunch", "dinner"):
        factories.create_menu(canteen, day, slot)
    factories.create_alert(canteen, factories.create_elder(district, elder.community))
    return {"district": district, "canteen": canteen, "elder": elder}


def placement(world, role):
    return {"district": world["district"], "canteen": world["canteen"], "elders": [world["elder"]]}


def home_of(role, user, world) -> str:
    return {
        "admin": "/overview",
        "official": f"/districts/{world['district'].code}/dashboard",
        "manager": f"/canteens/{world['canteen'].id}/today",
        "cashier": "/cashier",
        "family": "/what-to-eat",
        "elder": "/what-to-eat",
        "volunteer": "/my-drops",
        "inspector": "/inspections",
    }[role]


def nav_links(html: str) -> list[str]:
    header = re.search(r'<header class="topbar">(.*?)</header>', html, re.S).group(1)
    return [href.replace("&amp;", "&") for href in re.findall(r'<a[^>]* href="([^"]+)"', header)]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_lands_on_its_home_and_every_link_of_its_navigation_opens(app, world, role):
    client = browser_as(app, role, **placement(world, role))
    landing = client.get("/")
    assert landing.status_code == 302
    assert landing.headers["Location"] == home_of(role, client.user, world)
    home = client.get(landing.headers["Location"])
    assert home.status_code == 200, html_of(home)[:2000]
    links = nav_links(html_of(home))
    assert len(links) >= 3
    for link in links:
        answer = client.get(link, follow_redirects=True)
        assert answer.status_code == 200, f"{role}: {link} answers {answer.status_code}"


@pytest.mark.parametrize("role", ROLES)
def test_logging_in_opens_the_role_s_home(app, world, role):
    user = factories.create_user(role, password="steamed-bun-42", **placement(world, role))
    client = app.test_client()
    response = log_in(client, user.username, "steamed-bun-42")
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == home_of(role, user, world)


def test_the_error_page_leads_back_to_the_role_s_home(app, world):
    client = browser_as(app, "volunteer", canteen=world["canteen"])
    refused = client.get("/canteens")
    assert refused.status_code == 403
    assert 'href="/"' in html_of(refused)
    assert client.get("/").headers["Location"] == "/my-drops"


def test_the_manager_s_day_shows_seats_bookings_what_to_cook_deliveries_and_alerts(app, world):
    canteen, district, elder = world["canteen"], world["district"], world["elder"]
    lunch = db.session.scalar(
        select(Menu).where(
            Menu.canteen_id == canteen.id, Menu.date == district.local_today(), Menu.slot == "lunch"
        )
    )
    for channel, option in (("dine_in", 1), ("delivery", 0)):
        someone = factories.create_elder(district, elder.community)
        body = {"elder_id": someone.id, "menu_id": lunch.id, "option_id": lunch.options[option].id}
        place_order(None, {**body, "channel": channel})
    factories.create_meal(canteen, elder, "lunch")  # a walk-in
    db.session.expire_all()  # the seats were counted by UPDATE statements
    client = browser_as(app, "manager", canteen=canteen)
    html = html_of(client.get(f"/canteens/{canteen.id}/today"))
    today_lunch = re.search(r'data-testid="today-lunch">(.*?)</tr>', html, re.S).group(1)
    assert 'data-testid="seats">2 / 50<' in today_lunch
    assert 'data-testid="bookings">1<' in today_lunch
    assert "A套餐 × 2" in today_lunch and "软食套餐 × 1" in today_lunch
    assert f"/canteens/{canteen.id}/kitchen?slot=lunch" in today_lunch
    deliveries = re.search(r'data-testid="today-deliveries">(.*?)</ul>', html, re.S).group(1)
    assert re.search(r"Lunch · Confirmed: <strong>1</strong>", deliveries)
    assert f'href="/canteens/{canteen.id}/deliveries"' in html
    assert 'data-testid="today-alerts"' in html and 'href="/alerts"' in html


def test_the_manager_s_day_is_their_own_canteen_s_only(app, world):
    elsewhere = factories.create_canteen(world["district"])
    client = browser_as(app, "manager", canteen=world["canteen"])
    assert client.get(f"/canteens/{elsewhere.id}/today").status_code == 404
    cashier = browser_as(app, "cashier", canteen=world["canteen"])
    assert cashier.get(f"/canteens/{world['canteen'].id}/today").status_code == 403


def test_the_admin_s_overview_counts_what_the_service_holds(app, world):
    factories.create_claim(world["canteen"])
    client = browser_as(app, "admin")
    html = html_of(client.get("/overview"))
    counts = dict(re.findall(r'data-testid="count-([a-z-]+)">(\d+)<', html))
    users = db.session.scalar(select(func.count(User.id)))
    assert counts == {
        "districts": "1",
        "places": "1",
        "elders": "2",
        "users": str(users),
        "open-claims": "1",
    }
    assert f'href="/districts/{world["district"].code}/dashboard"' in html
    official = browser_as(app, "official", district=world["district"])
    assert official.get("/overview").status_code == 403


def test_make_screenshots_pictures_every_role_s_home_as_the_app_defines_it(app):
    assert set(PICTURED) == set(Role) == set(HOMES)
    roles_of = {login["username"]: login["role"] for login in LOGINS}
    user = SimpleNamespace(canteen_id=7, district_code="330106")
    with app.test_request_context():
        for role, (username, home, _viewport) in PICTURED.items():
            assert roles_of[username] == role
            assert home.format(canteen_id=7, district_code="330106") == HOMES[role](user)
