import re

import pytest

from mealservice.core.i18n import tel_href
from tests import factories


def csrf_from(html: str) -> str:
    return (
        re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf-token" content="([^"]+)"',
            html,
        ).group(1)
        or ""
    )


def page_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    return match.group(1)


def log_in(client, username, password):
    token = page_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def manager(db, canteen):
    return factories.create_user(
        "manager", canteen=canteen, username="page-manager", password="green-tea-42"
    )


def test_the_login_page_is_chinese_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "登录" in html and "用户名" in html


def test_every_page_links_the_favicon_and_it_is_served(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in html
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert b"<svg" in icon.get_data()


def test_the_english_switch_changes_the_language_and_stays(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "Username" in html
    client.get("/lang/zh")
    assert "用户名" in client.get("/login").get_data(as_text=True)


def test_the_language_switch_never_sends_people_to_another_site(client):
    response = client.get("/lang/en?next=https://evil.example/phish")
    assert response.headers["Location"] == "/phish"


def test_logging_in_with_the_form_opens_the_meal_places(client, manager, canteen):
    response = log_in(client, "page-manager", "green-tea-42")
    assert response.status_code == 302
    html = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert canteen.name in html and "page-manager" in html


def test_a_wrong_password_shows_a_message_on_the_page(client, manager):
    response = log_in(client, "page-manager", "nope")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/canteens").status_code == 302


def test_an_empty_login_form_names_the_missing_fields(client, db):
    response = log_in(client, "", "")
    html = response.get_data(as_text=True)
    assert "请输入用户名" in html and "请输入密码" in html


def test_the_login_form_is_refused_without_its_csrf_token(client, manager):
    response = client.post("/login", data={"username": "page-manager", "password": "green-tea-42"})
    assert response.status_code == 403
    assert "页面已过期，请返回并刷新页面后再试。" in response.get_data(as_text=True)
    assert client.get("/canteens").status_code == 302, "no session may come of it"


def test_login_never_redirects_to_another_site(client, manager):
    token = page_token(client)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "page-manager", "password": "green-tea-42", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    ["/%09/evil.example", "/%0d%0a/evil.example", "/%5Cevil.example", "https://evil.example"],
)
def test_login_never_redirects_to_a_path_a_browser_reads_as_another_site(client, manager, target):
    token = page_token(client)
    response = client.post(
        f"/login?next={target}",
        data={"username": "page-manager", "password": "green-tea-42", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_login_goes_on_to_the_page_asked_for(client, manager):
    token = page_token(client)
    response = client.post(
        "/login?next=/canteens%3Fpage%3D2",
        data={"username": "page-manager", "password": "green-tea-42", "csrf_token": token},
    )
    assert response.headers["Location"] == "/canteens?page=2"


@pytest.mark.parametrize("target", ["/%09/evil.example", "https://evil.example/%5Cevil.example"])
def test_the_language_switch_sends_an_unsafe_path_home(client, target):
    assert client.get(f"/lang/en?next={target}").headers["Location"] == "/"


def test_logout_needs_the_csrf_token(client, manager):
    log_in(client, "page-manager", "green-tea-42")
    assert client.post("/logout").status_code == 403
    assert client.get("/canteens").status_code == 200
    client.post("/logout", data={"csrf_token": page_token(client, "/canteens")})
    assert client.get("/canteens").status_code == 302


def test_page_scripts_calling_the_api_must_send_the_csrf_token(client, manager, canteen):
    log_in(client, "page-manager", "green-tea-42")
    url = f"/api/v1/canteens/{canteen.id}"
    refused = client.patch(url, json={"phone": "0571-1"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    token = page_token(client, "/canteens")
    accepted = client.patch(url, json={"phone": "0571-1"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200 and accepted.get_json()["phone"] == "0571-1"
    assert client.get(url).status_code == 200, "reading needs no token"


def test_the_manager_edits_the_canteen_details_on_the_page(client, manager, canteen):
    log_in(client, "page-manager", "green-tea-42")
    path = f"/canteens/{canteen.id}"
    token = page_token(client, path)
    form = {
        "name": canteen.name,
        "address": "新地址8号",
        "phone": "0571-2222",
        "opening_hours": "07:00–19:00",
        "csrf_token": token,
    }
    response = client.post(path, data=form, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已保存" in html and "新地址8号" in html and "0571-2222" in html


def test_the_canteen_page_dials_the_canteens_phone_from_a_link(client, manager, canteen, db):
    canteen.phone = "0571 8798 1234"
    db.session.commit()
    log_in(client, "page-manager", "green-tea-42")
    html = client.get(f"/canteens/{canteen.id}").get_data(as_text=True)
    assert '<a href="tel:057187981234" data-testid="canteen-phone">0571 8798 1234</a>' in html


def test_a_phone_link_drops_the_spaces_people_write_and_keeps_the_dashes():
    assert tel_href(" 0379-6543 2100 ") == "tel:0379-65432100"


def test_a_canteen_without_a_phone_shows_no_link(client, manager, canteen, db):
    canteen.phone = None
    db.session.commit()
    log_in(client, "page-manager", "green-tea-42")
    assert "tel:" not in client.get(f"/canteens/{canteen.id}").get_data(as_text=True)


def test_the_canteen_page_leads_the_manager_to_its_menus_reports_and_oversight(
    client, manager, canteen, district
):
    factories.create_menu(canteen, district.local_today(), "lunch")
    log_in(client, "page-manager", "green-tea-42")
    html = client.get(f"/canteens/{canteen.id}").get_data(as_text=True)
    links = re.findall(r'<a class="button" href="([^"]+)"', html)
    assert [link.split("/")[-1].split("?")[0] for link in links] == [
        "plan", "kitchen", "ratings", "capacity", "oversight"
    ]  # fmt: skip
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_family_see_no_staff_links_on_the_canteen_page(client, canteen, db, elder):
    factories.create_user("family", elders=[elder], username="page-family", password="tea-42-x")
    log_in(client, "page-family", "tea-42-x")
    assert 'class="button"' not in client.get(f"/canteens/{canteen.id}").get_data(as_text=True)


def test_an_empty_required_field_is_named_on_the_page(client, manager, canteen):
    log_in(client, "page-manager", "green-tea-42")
    path = f"/canteens/{canteen.id}"
    form = {"name": "", "address": "x", "csrf_token": page_token(client, path)}
    html = client.post(path, data=form).get_data(as_text=True)
    assert "此项必填" in html
    assert canteen.name in client.get(path).get_data(as_text=True)


def test_the_canteen_page_shows_money_in_yuan_and_times_in_the_districts_zone(
    client, manager, canteen
):
    log_in(client, "page-manager", "green-tea-42")
    html = client.get(f"/canteens/{canteen.id}").get_data(as_text=True)
    assert "¥10,000.00" in html
    local = canteen.created_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M") in html


def test_family_see_the_public_canteen_page_without_the_money(client, canteen, db):
    factories.create_user("family", username="page-family", password="green-tea-42")
    log_in(client, "page-family", "green-tea-42")
    html = client.get(f"/canteens/{canteen.id}").get_data(as_text=True)
    assert canteen.name in html
    assert "每月运营补贴" not in html and "修改信息" not in html


def test_the_list_page_filters_by_distance_and_names_bad_input(client, manager, canteen):
    log_in(client, "page-manager", "green-tea-42")
    html = client.get("/canteens?near=30.2741,120.1551&radius_m=500").get_data(as_text=True)
    assert canteen.name in html and "0 m" in html
    unfiltered = client.get("/canteens?community=&near=&radius_m=").get_data(as_text=True)
    assert canteen.name in unfiltered and 'role="alert"' not in unfiltered
    bad = client.get("/canteens?near=nowhere").get_data(as_text=True)
    assert "near" in bad and "LAT,LNG" in bad


def test_a_cashier_cannot_open_another_canteens_page(client, district, db):
    other = factories.create_canteen(district)
    mine = factories.create_canteen(district)
    factories.create_user("cashier", canteen=mine, username="page-cashier", password="green-tea-42")
    log_in(client, "page-cashier", "green-tea-42")
    assert client.get(f"/canteens/{other.id}").status_code == 404
    assert client.get(f"/canteens/{mine.id}").status_code == 200
