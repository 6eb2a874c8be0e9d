"""Every role starts at a home of its own after logging in, and every link of its
navigation answers 200: nobody is sent to a page they may not open."""

import re

import pytest

from tests import factories
from tests.pages import browser_as, html_of

ROLES = ("admin", "official", "manager", "cashier", "family", "elder", "volunteer", "inspector")


@pytest.fixture
def world(db, district, canteen, elder):
    """A small demo: a policy, today's and tomorrow's menus, an order, an alert."""
    factories.create_policy(district)
    day = district.local_today()
    factories.create_menu(canteen, day, "lunch")
    factories.create_menu(canteen, day, "dinner")
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
    from tests.core.test_pages import log_in

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
