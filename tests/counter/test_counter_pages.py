"""The counter's pages through the test client: who gets them, and the terminal flow."""

import json
import re
import shutil
from pathlib import Path

import pytest

from mealservice.counter import services
from mealservice.elders.protection import decrypt_id_number
from mealservice.meals.services import scan
from mealservice.places.registry import add_to_blacklist, set_filing
from tests import factories
from tests.core.test_pages import page_token

PASSWORD = "green-tea-42"


@pytest.fixture
def log_in_as(client, district, canteen):
    """Logs the client in, by the login form, as a new user of `role` at the test canteen."""

    def log_in(role: str, **placement):
        placement = {"district": district, "canteen": canteen, **placement}
        user = factories.create_user(role, password=PASSWORD, **placement)
        response = client.post(
            "/login",
            data={
                "username": user.username,
                "password": PASSWORD,
                "csrf_token": page_token(client),
            },
        )
        assert response.status_code == 302
        return user

    return log_in


def facts_of(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="cashier-facts">(.*?)</script>', html, re.S
    )
    return json.loads(found.group(1))


# The cashier page


def test_a_cashier_gets_the_cashier_page_of_their_own_canteen(client, log_in_as, canteen):
    log_in_as("cashier")
    response = client.get("/cashier")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>收银台 · " in html
    facts = facts_of(html)
    assert facts["canteen"] == {"id": canteen.id, "name": canteen.name}
    assert facts["may_void"] is False and facts["may_reissue"] is False
    assert facts["urls"]["scans"] == f"/api/v1/canteens/{canteen.id}/scans"
    assert facts["texts"]["served"] == "成功"
    # No inline executable script: a content security policy will forbid it.
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)


def test_the_cashier_page_warns_before_anyone_pays_at_a_blacklisted_place(
    db, client, log_in_as, canteen
):
    log_in_as("cashier")
    assert 'data-testid="blacklisted-notice"' not in client.get("/cashier").get_data(as_text=True)
    add_to_blacklist(None, canteen, "虚报就餐人次", canteen.district.local_today())
    db.session.commit()
    html = client.get("/cashier").get_data(as_text=True)
    assert 'data-testid="blacklisted-notice"' in html and "失信黑名单" in html


def test_the_manager_is_told_an_unfiled_place_claims_nothing(db, client, log_in_as, canteen):
    log_in_as("manager")
    page = f"/canteens/{canteen.id}"
    assert 'data-testid="unfiled-notice"' not in client.get(page).get_data(as_text=True)
    set_filing(None, canteen, "withdrawn")
    db.session.commit()
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="unfiled-notice"' in html and "备案前补贴申报不予受理" in html


def test_a_manager_may_undo_meals_and_issue_cards_from_the_cashier_page(client, log_in_as):
    log_in_as("manager")
    facts = facts_of(client.get("/cashier").get_data(as_text=True))
    assert facts["may_void"] is True and facts["may_reissue"] is True


def test_the_cashier_page_speaks_english_on_request(client, log_in_as):
    log_in_as("cashier")
    client.get("/lang/en")
    facts = facts_of(client.get("/cashier").get_data(as_text=True))
    assert facts["texts"]["served"] == "Served"


def test_an_official_may_not_use_the_cashier_page(client, log_in_as):
    log_in_as("official")
    assert client.get("/cashier").status_code == 403


def test_the_cashier_page_asks_for_a_login(client, db):
    response = client.get("/cashier")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_admin_picks_the_canteen_first(client, log_in_as, canteen):
    log_in_as("admin")
    html = client.get("/cashier").get_data(as_text=True)
    assert f"/cashier?canteen={canteen.id}" in html
    facts = facts_of(client.get(f"/cashier?canteen={canteen.id}").get_data(as_text=True))
    assert facts["canteen"]["id"] == canteen.id
    assert client.get("/cashier?canteen=999999").status_code == 404


def test_the_nav_leads_staff_to_their_counter_pages(client, log_in_as, canteen):
    log_in_as("manager")
    html = client.get("/canteens").get_data(as_text=True)
    assert 'href="/cashier"' in html
    assert f'href="/canteens/{canteen.id}/terminals"' in html
    assert f'href="/canteens/{canteen.id}/shift-report"' in html


def test_a_cashier_sees_no_terminals_link(client, log_in_as, canteen):
    log_in_as("cashier")
    html = client.get("/canteens").get_data(as_text=True)
    assert 'href="/cashier"' in html
    assert "/terminals" not in html


# Terminals


def terminals_path(canteen) -> str:
    return f"/canteens/{canteen.id}/terminals"


def register(client, canteen, name: str):
    path = terminals_path(canteen)
    return client.post(path, data={"name": name, "csrf_token": page_token(client, path)})


def test_a_manager_registers_a_terminal_and_sees_its_token_once(client, log_in_as, canteen):
    log_in_as("manager")
    response = register(client, canteen, "一号收银台")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    token = re.search(r'data-testid="terminal-token">([^<]+)<', html).group(1)
    assert "在本机启用此终端" in html
    assert f'name="token" type="hidden" value="{token}"' in html
    again = client.get(terminals_path(canteen)).get_data(as_text=True)
    assert "一号收银台" in again and token not in again


def test_a_duplicate_terminal_name_is_refused_on_the_page(client, log_in_as, canteen):
    log_in_as("manager")
    register(client, canteen, "一号收银台")
    html = register(client, canteen, "一号收银台").get_data(as_text=True)
    assert "本食堂已有同名终端" in html
    assert 'data-testid="terminal-token"' not in html


def test_an_empty_terminal_name_is_refused(client, log_in_as, canteen):
    log_in_as("manager")
    html = register(client, canteen, "").get_data(as_text=True)
    assert "请填写终端名称" in html


def test_the_token_turns_this_browser_into_the_terminal(client, log_in_as, canteen):
    log_in_as("manager")
    html = register(client, canteen, "一号收银台").get_data(as_text=True)
    token = re.search(r'data-testid="terminal-token">([^<]+)<', html).group(1)
    csrf = page_token(client, terminals_path(canteen))
    response = client.post("/cashier/terminal-login", data={"token": token, "csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/cashier"
    [terminal] = services.canteen_terminals(canteen)
    page = client.get("/cashier").get_data(as_text=True)
    assert facts_of(page)["user"] == {"username": terminal.user.username, "role": "cashier"}


def test_a_bad_terminal_token_shows_a_message(client, db):
    csrf = page_token(client, "/cashier/terminal-login")
    response = client.post(
        "/cashier/terminal-login", data={"token": "not-a-token", "csrf_token": csrf}
    )
    assert response.status_code == 401
    assert "终端令牌无效" in response.get_data(as_text=True)
    assert client.get("/cashier").status_code == 302, "still nobody is logged in"


def test_a_revoked_terminal_token_no_longer_logs_in(client, log_in_as, canteen):
    log_in_as("manager")
    html = register(client, canteen, "一号收银台").get_data(as_text=True)
    token = re.search(r'data-testid="terminal-token">([^<]+)<', html).group(1)
    [terminal] = services.canteen_terminals(canteen)
    path = f"{terminals_path(canteen)}/{terminal.id}/revoke"
    response = client.post(path, data={"csrf_token": page_token(client, terminals_path(canteen))})
    assert response.status_code == 302
    listing = client.get(terminals_path(canteen)).get_data(as_text=True)
    assert "已停用" in listing and "停用" in listing
    csrf = page_token(client, "/cashier/terminal-login")
    refused = client.post("/cashier/terminal-login", data={"token": token, "csrf_token": csrf})
    assert refused.status_code == 401


def test_revoking_a_terminal_twice_says_it_was_already_revoked(client, log_in_as, canteen):
    log_in_as("manager")
    register(client, canteen, "一号收银台")
    [terminal] = services.canteen_terminals(canteen)
    path = f"{terminals_path(canteen)}/{terminal.id}/revoke"
    for _ in range(2):
        client.post(path, data={"csrf_token": page_token(client, terminals_path(canteen))})
    listing = client.get(terminals_path(canteen)).get_data(as_text=True)
    assert "此收银终端已经停用。" in listing


def test_revoking_needs_the_csrf_token(client, log_in_as, canteen):
    log_in_as("manager")
    register(client, canteen, "一号收银台")
    [terminal] = services.canteen_terminals(canteen)
    path = f"{terminals_path(canteen)}/{terminal.id}/revoke"
    assert client.post(path).status_code == 403
    assert services.canteen_terminals(canteen)[0].revoked_at is None


def test_a_cashier_may_not_manage_terminals(client, log_in_as, canteen):
    log_in_as("cashier")
    assert client.get(terminals_path(canteen)).status_code == 403


def test_another_canteens_terminals_are_not_found(client, log_in_as, district):
    log_in_as("manager")
    elsewhere = factories.create_canteen(district)
    assert client.get(terminals_path(elsewhere)).status_code == 404


# The end-of-shift report


def report_path(canteen, query: str = "") -> str:
    return f"/canteens/{canteen.id}/shift-report{query}"


def test_a_manager_reads_the_end_of_shift_report(client, log_in_as, canteen, elder):
    factories.create_policy(canteen.district)
    factories.create_meal(canteen, elder, "lunch", payment={"method": "cash"})
    log_in_as("manager")
    response = client.get(report_path(canteen, "?slot=lunch"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "交班报表" in html and 'data-testid="shift-report"' in html
    assert re.search(r'data-testid="report-meals">1<', html)
    assert 'data-action="print"' in html


def money_cells(row_html: str) -> list[int]:
    """The figures of a table row: counts as they are, yuan back into fen."""
    cells = re.findall(r'<td class="money">([^<]*)</td>', row_html)
    return [int(cell.replace("¥", "").replace(",", "").replace(".", "")) for cell in cells]


def test_the_shift_report_page_adds_up_and_lists_only_people_as_cashiers(
    db, client, log_in_as, canteen, district, elder
):
    factories.create_policy(canteen.district)
    # One meal recorded by a name that is no account's, one served by a cashier's account.
    other = factories.create_elder(district, canteen.community)
    factories.create_meal(canteen, other, payment={"method": "e_payment", "reference": "WX-1"})
    cashier = factories.create_user("cashier", canteen=canteen, username="ann")
    served = scan(cashier, canteen, {"elder_id": elder.id, "slot": "lunch",
                                     "payment": {"method": "cash"}})  # fmt: skip
    db.session.commit()
    log_in_as("manager")
    html = client.get(report_path(canteen, "?slot=lunch")).get_data(as_text=True)

    table = re.search(r'data-testid="report-cashiers">(.*?)</table>', html, re.S).group(1)
    body, foot = table.split("<tbody>")[1].split("<tfoot>")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    assert [re.search(r"<td>([^<]*)</td>", row).group(1) for row in rows] == [
        "ann",
        "非柜台服务：factory-cashier",
    ]
    # Each column of the rows shown adds up to the total under it.
    columns = list(zip(*(money_cells(row) for row in rows), strict=True))
    assert [sum(column) for column in columns] == money_cells(foot)
    assert money_cells(foot)[:2] == [2, 2 * served.subsidy_fen]

    def figure(testid: str) -> int:
        found = re.search(rf'data-testid="{testid}">−?¥([\d,]+)\.(\d\d)<', html)
        return int(found.group(1).replace(",", "") + found.group(2))

    assert figure("report-elder-pays") == (
        figure("report-price")
        + figure("report-delivery-fee")
        - figure("report-subsidy")
        - figure("report-delivery-subsidy")
    )


def test_a_cashier_reads_their_own_shift_without_picking_a_cashier(client, log_in_as, canteen):
    log_in_as("cashier")
    html = client.get(report_path(canteen)).get_data(as_text=True)
    assert 'data-testid="shift-report"' in html
    assert 'name="cashier"' not in html


def test_a_bad_report_date_says_so(client, log_in_as, canteen):
    log_in_as("manager")
    html = client.get(report_path(canteen, "?date=24/11/2026&slot=supper")).get_data(as_text=True)
    assert "日期格式应为" in html and "请选择早餐、午餐、晚餐或全天" in html


def test_family_may_not_read_shift_reports(client, log_in_as, canteen, elder):
    log_in_as("family", elders=[elder])
    assert client.get(report_path(canteen)).status_code == 403


# The printable card


def test_the_printable_card_shows_the_name_and_qr_but_never_the_id_number(client, log_in_as, elder):
    card = factories.create_card(elder)
    log_in_as("manager")
    response = client.get(f"/cards/{card.id}/print")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert elder.name in html
    assert f"/api/v1/cards/{card.id}/qr.png" in html
    assert card.expires_on.isoformat() in html
    number = decrypt_id_number(elder.id_number_encrypted)
    assert number not in html and elder.id_number_masked not in html
    assert number[6:14] not in html, "nor the birth date it holds"


def test_a_cashier_may_not_print_cards(client, log_in_as, elder):
    card = factories.create_card(elder)
    log_in_as("cashier")
    assert client.get(f"/cards/{card.id}/print").status_code == 403


def test_a_card_of_another_district_is_not_found(client, log_in_as):
    other = factories.create_district()
    card = factories.create_card(factories.create_elder(other))
    log_in_as("official")
    assert client.get(f"/cards/{card.id}/print").status_code == 404


def test_the_cashier_page_names_its_meal_windows_and_its_offline_worker(client, log_in_as):
    log_in_as("cashier")
    facts = facts_of(client.get("/cashier").get_data(as_text=True))
    assert facts["slots"] == ["breakfast", "lunch", "dinner"]
    assert facts["slot_windows"]["lunch"] == ["10:30", "13:30"]
    assert facts["urls"]["offline_worker"] == "/cashier-offline.js"
    assert facts["urls"]["offline_scope"] == "/cashier"


def test_the_offline_worker_keeps_the_cashier_page_and_every_file_it_loads(client, app):
    response = client.get("/cashier-offline.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    # The browser must see a new worker at once.
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    files = json.loads(re.search(r"^const FILES = (.*);$", body, re.M).group(1))
    static = app.static_folder
    modules = sorted(f"/static/js/cashier/{p.name}" for p in Path(static).glob("js/cashier/*.js"))
    assert set(modules) <= set(files)
    assert {"/static/css/cashier.css", "/static/js/app.js"} <= set(files)
    assert 'const PAGE_PATH = "/cashier";' in body


def test_the_offline_worker_changes_its_version_when_a_file_it_keeps_changes(client, app, tmp_path):
    def version() -> str:
        body = client.get("/cashier-offline.js").get_data(as_text=True)
        return re.search(r'^const VERSION = "(\w+)";$', body, re.M).group(1)

    shutil.copytree(app.static_folder, tmp_path / "static")
    kept, app.static_folder = app.static_folder, str(tmp_path / "static")
    try:
        before = version()
        assert version() == before
        (tmp_path / "static/js/cashier/ui.js").write_text("// changed\n", encoding="utf-8")
        assert version() != before
    finally:
        app.static_folder = kept
