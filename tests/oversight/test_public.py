"""The public pages: meal places, their menus and prices, and the subsidy policy in words,
for everyone without a login and with nobody's personal data."""

import re
from datetime import date, timedelta

import pytest

from mealservice.oversight.services import publication
from tests import factories
from tests.pages import browser_as, html_of

TODAY = date(2026, 11, 25)  # the suite's instant, a Wednesday in Hangzhou


@pytest.fixture
def stranger(app, db):
    """Someone who never logged in, reading the pages in English."""
    client = app.test_client()
    client.get("/lang/en")
    return client


@pytest.fixture
def published(db, district, canteen, elder):
    """The canteen with a phone, hours and a week of menus (one a draft), the district's
    policy, and an elder with a family account who must never appear."""
    canteen.phone = "0571 8798 1234"
    canteen.opening_hours = "06:30–19:00"
    factories.create_policy(district, max_subsidized_per_day=2)
    lunch = factories.create_menu(canteen, TODAY)
    later = factories.create_menu(canteen, TODAY + timedelta(days=6), "dinner")
    draft = factories.create_menu(canteen, TODAY + timedelta(days=1), status="draft")
    beyond = factories.create_menu(canteen, TODAY + timedelta(days=7))
    factories.create_holiday(TODAY + timedelta(days=6), "测试节")
    factories.create_user("family", elders=[elder])
    return {"lunch": lunch, "later": later, "draft": draft, "beyond": beyond}


def test_the_place_list_needs_no_login(stranger, district, canteen, published):
    response = stranger.get("/public")
    assert response.status_code == 200
    html = html_of(response)
    place = re.search(rf'data-testid="public-place-{canteen.id}">(.*?)</li>', html, re.S).group(1)
    assert canteen.name in place and canteen.address in place
    assert 'href="tel:057187981234"' in place and "0571 8798 1234" in place
    assert "06:30–19:00" in place and "Elder canteen" in place
    assert re.search(r'data-testid="public-dine-in">Dine-in<', place)
    assert re.search(r'data-testid="public-delivery">Delivery<', place)
    assert f'href="/public/places/{canteen.id}"' in place
    assert 'href="/public/inspections" data-testid="public-inspections-link"' in html


def test_the_subsidy_is_told_in_words_from_the_policy_in_force(stranger, district, published):
    html = html_of(stranger.get("/public"))
    tiers = re.findall(r'data-testid="public-tier">(.*?)</li>', html)
    assert tiers == [
        "Elders who are in extreme poverty support or on the minimum living allowance:"
        " ¥15.00 off each meal",
        "Elders aged 80 or over: ¥8.00 off each meal",
        "Elders aged 70 or over: ¥5.00 off each meal eaten at the place",
    ]
    assert f"household registration (hukou) is in {district.name}" in html
    assert "At most 2 subsidised meals a day." in html
    assert "up to ¥3.00 of the delivery fee" in html
    assert "On statutory holidays there is no subsidy" in html
    assert "The policy in force since 2026-01-01." in html


def test_a_new_policy_version_changes_the_words_from_its_first_day(
    stranger, now, district, published
):
    tiers = [{"name": "60岁以上", "min_age": 60, "channel": "any", "amount_fen": 200}]
    factories.create_policy(district, TODAY + timedelta(days=1), tiers=tiers)
    assert "Elders aged 60 or over" not in html_of(stranger.get("/public"))
    now.move_to("2026-11-26T10:00:00+08:00")
    html = html_of(stranger.get("/public"))
    assert re.findall(r'data-testid="public-tier">(.*?)</li>', html) == [
        "Elders aged 60 or over: ¥2.00 off each meal"
    ]


def test_the_chinese_page_says_the_tiers_as_a_notice_would(app, db, district, published):
    html = html_of(app.test_client().get("/public"))
    assert "户籍在测试区的老人" in html
    assert "80岁以上老人：每餐补贴 ¥8.00" in html
    assert "70岁以上老人：堂食每餐补贴 ¥5.00" in html
    assert "特困或低保老人：每餐补贴 ¥15.00" in html
    assert re.search(r'data-testid="public-dine-in">堂食<', html)


def test_a_district_without_a_policy_says_meals_are_at_full_price(stranger, canteen):
    html = html_of(stranger.get("/public"))
    assert 'data-testid="no-policy"' in html


def test_the_place_page_shows_the_weeks_published_menus_and_prices(
    stranger, district, canteen, published
):
    response = stranger.get(f"/public/places/{canteen.id}")
    assert response.status_code == 200
    html = html_of(response)
    days = re.findall(r'data-testid="public-day-([0-9-]+)"', html)
    assert days == [(TODAY + timedelta(days=n)).isoformat() for n in range(7)]
    lunch = re.search(
        rf'data-testid="public-menu-{published["lunch"].id}">(.*?)</ul>', html, re.S
    ).group(1)
    assert "Lunch" in lunch and "10:30–13:30" in lunch
    assert "A套餐" in lunch and "¥18.00" in lunch and "Delivery fee ¥5.00" in lunch
    assert "软食套餐" in lunch and "¥12.00" in lunch and "Soft" in lunch
    assert f'data-testid="public-menu-{published["later"].id}"' in html
    assert f'data-testid="public-menu-{published["draft"].id}"' not in html
    assert f'data-testid="public-menu-{published["beyond"].id}"' not in html
    holiday = re.search(r'data-testid="public-holiday">(.*?)</p>', html).group(1)
    assert "测试节" in holiday and "full price" in holiday
    assert 'data-testid="public-policy-' in html
    assert "tel:057187981234" in html
    assert f'href="/public/inspections?district={district.code}"' in html


def test_an_unknown_place_is_not_found(stranger, db):
    assert stranger.get("/public/places/999999").status_code == 404


def test_the_public_pages_name_nobody(stranger, app, db, district, canteen, elder, published):
    """No elder's name, phone or address, no account, on any public page, in either
    language."""
    family = browser_as(app, "family", elders=[elder])
    manager = factories.create_user("manager", canteen=canteen)
    chinese = app.test_client()
    for client in (stranger, chinese):
        for path in ("/public", f"/public/places/{canteen.id}", "/login"):
            html = html_of(client.get(path))
            for secret in (
                elder.name,
                elder.phone,
                elder.address,
                family.user.username,
                manager.username,
            ):
                assert secret and secret not in html, (path, secret)


def test_the_anonymous_nav_and_the_login_page_link_the_public_pages(stranger, db):
    html = html_of(stranger.get("/login"))
    assert html.count('href="/public"') == 2
    assert 'data-testid="nav-public-places"' in html
    assert 'href="/public/inspections"' in html


def test_a_logged_in_user_reads_the_public_pages_too(app, canteen, published):
    manager = browser_as(app, "manager", canteen=canteen)
    assert manager.get("/public").status_code == 200
    assert manager.get(f"/public/places/{canteen.id}").status_code == 200


def test_the_district_filter_lists_one_districts_places(stranger, district, canteen):
    other = factories.create_district(name="另一区")
    elsewhere = factories.create_canteen(other)
    html = html_of(stranger.get(f"/public?district={other.code}"))
    assert f'data-testid="public-place-{elsewhere.id}"' in html
    assert f'data-testid="public-place-{canteen.id}"' not in html
    both = html_of(stranger.get("/public"))
    assert f'data-testid="public-place-{elsewhere.id}"' in both
    assert f'data-testid="public-place-{canteen.id}"' in both


def test_published_place_reads_only_published_menus_of_the_week(db, canteen, published):
    place = publication.published_place(canteen.id)
    menus = [menu.id for day in place["days"] for menu in day["menus"]]
    assert menus == [published["lunch"].id, published["later"].id]
    assert place["days"][6]["holiday"] == "测试节"
    assert [tier.name for tier in place["policy"].tiers] == ["困难老人", "80岁以上", "70岁以上"]
