"""The claims as exports: the claim workbook adds up to the planted meals to the fen with
numbers as numbers, the district's month per canteen (API, workbook, page), the printable
claim, who may have them, and no export ever carries an elder's ID number."""

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from html import unescape

import pytest
from openpyxl import load_workbook

from mealservice.claims import services
from mealservice.claims.exports import MONEY_FORMAT
from mealservice.claims.models import ClaimAnomaly
from mealservice.core.db import db
from mealservice.core.idnumber import make_id_number
from mealservice.core.periods import previous_month
from mealservice.elders.protection import decrypt_id_number
from tests import factories
from tests.claims.helpers import CLAIMING_OCTOBER, MONTH, a_clean_month, plant_delivery, plant_meal
from tests.core.test_pages import log_in

pytestmark = CLAIMING_OCTOBER

PASSWORD = "green-tea-42"
# The planted month: 2 elders × 22 weekday lunches at 5.00 yuan, one delivered meal
# (5.00 + 3.00 delivery subsidy) and one second lunch on the 14th (5.00, an anomaly),
# and the canteen's operating subsidy of 10,000.00 yuan.
MEALS = 2 * 22 + 2
MEAL_SUBSIDY_FEN = MEALS * 500
DELIVERY_SUBSIDY_FEN = 300
OPERATING_FEN = 1_000_000
TOTAL_FEN = MEAL_SUBSIDY_FEN + DELIVERY_SUBSIDY_FEN + OPERATING_FEN


@pytest.fixture
def id_numbers():
    """The full ID numbers of the planted elders, kept as they were registered."""
    return {}


@pytest.fixture
def elders(district, canteen, id_numbers):
    made = []
    for number in range(2):
        id_number = make_id_number("330106", date(1950, 5, 10 + number), 700 + number)
        elder = factories.create_elder(district, canteen.community, id_number=id_number)
        id_numbers[elder.id] = id_number
        made.append(elder)
    return made


@pytest.fixture
def claim(db, district, canteen, elders):
    factories.create_policy(district)
    a_clean_month(canteen, elders)
    plant_delivery(canteen, elders[0], date(2026, 10, 10))
    plant_meal(canteen, elders[0], date(2026, 10, 14), minute=40)
    manager = factories.create_user("manager", district=district, canteen=canteen)
    return services.make_claim(manager, canteen, MONTH)


@pytest.fixture
def log_in_as(client, district, canteen):
    """Logs the page client in, by the login form, as a new user of `role`."""

    def login(role: str, **placement):
        placement = {"district": district, "canteen": canteen, **placement}
        user = factories.create_user(role, password=PASSWORD, **placement)
        assert log_in(client, user.username, PASSWORD).status_code == 302
        return user

    return login


def workbook_of(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return load_workbook(io.BytesIO(response.data))


def fen_of(cell) -> int:
    """A money cell's yuan back to fen, exactly; a money cell must hold a number."""
    assert isinstance(cell.value, int | float), (cell.coordinate, cell.value)
    assert cell.number_format == MONEY_FORMAT, cell.coordinate
    fen = Decimal(str(cell.value)) * 100
    assert fen == fen.to_integral_value()
    return int(fen)


def summary_cells(sheet) -> dict:
    return {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}


# The claim's workbook


def test_the_claim_workbook_adds_up_to_the_planted_meals_to_the_fen(claim, login_as, canteen):
    official = login_as("official")
    response = official.get(f"/api/v1/claims/{claim.id}.xlsx")
    book = workbook_of(response)
    assert f"claim-{canteen.id}-2026-10-r1.xlsx" in response.headers["Content-Disposition"]
    assert book.sheetnames == ["汇总", "明细", "异常"]

    summary = summary_cells(book["汇总"])
    assert summary["月份"].value == "2026-10" and summary["版本"].value == 1
    assert summary["状态"].value == "已提交" and summary["助餐机构"].value == canteen.name
    assert summary["就餐份数"].value == MEALS and isinstance(summary["就餐份数"].value, int)
    assert summary["补贴份数"].value == MEALS
    assert fen_of(summary["餐费补贴(元)"]) == MEAL_SUBSIDY_FEN
    assert fen_of(summary["送餐补贴(元)"]) == DELIVERY_SUBSIDY_FEN
    assert fen_of(summary["运营补贴(元)"]) == OPERATING_FEN
    assert fen_of(summary["合计(元)"]) == TOTAL_FEN == 1_023_300
    assert summary["核准金额(元)"].value is None
    assert isinstance(summary["申报时间"].value, datetime)
    assert summary["异常（条）"].value == 1
    assert summary["异常：同一餐次重复就餐"].value == 1


def test_the_lines_sheet_has_one_row_per_meal_with_numbers_and_dates(claim, login_as):
    official = login_as("official")
    book = workbook_of(official.get(f"/api/v1/claims/{claim.id}.xlsx"))
    sheet = book["明细"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["餐次编号", "日期", "餐段", "方式"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["K"].width >= 20

    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == MEALS
    column = {name: number for number, name in enumerate(header)}
    assert sum(fen_of(row[column["补贴(元)"]]) for row in rows) == MEAL_SUBSIDY_FEN
    assert sum(fen_of(row[column["送餐补贴(元)"]]) for row in rows) == DELIVERY_SUBSIDY_FEN
    first = rows[0]
    assert isinstance(first[column["餐次编号"]].value, int)
    assert first[column["日期"]].value == datetime(2026, 10, 1)
    assert first[column["日期"]].is_date
    assert fen_of(first[column["价格(元)"]]) == 1800
    assert fen_of(first[column["老人支付(元)"]]) == 1300
    flagged = [row for row in rows if row[column["异常"]].value]
    assert len(flagged) == 2
    assert {row[column["异常"]].value for row in flagged} == {"同一餐次重复就餐"}
    assert {row[column["剔除"]].value for row in rows} == {"否"}

    anomalies = list(book["异常"].iter_rows(min_row=2, values_only=True))
    assert len(anomalies) == 1
    assert anomalies[0][1:3] == ("同一餐次重复就餐", "duplicate_in_slot")
    assert anomalies[0][6] == 2


def page_anomalies(html: str) -> list[dict]:
    """The claim page's anomalies table, each cell as the reader sees its text."""
    rows = []
    for row in re.findall(
        r'<tr class="anomaly" data-testid="anomaly-[a-z_]+">(.*?)</tr>', html, re.S
    ):
        cells = dict(re.findall(r'<td data-testid="anomaly-([a-z]+)">(.*?)</td>', row, re.S))
        rows.append(
            {
                name: " ".join(unescape(re.sub(r"<[^>]+>", "", text)).split())
                for name, text in cells.items()
            }
        )
    return rows


def test_the_workbooks_anomalies_say_what_the_claim_page_says(
    claim, login_as, log_in_as, client, district, elders
):
    # Besides the planted duplicate: a place elsewhere, a card reported lost, a failed check.
    other = factories.create_canteen(district, name="西溪街道颐乐老年食堂")
    meal_id = claim.anomalies[0].meal_ids[0]
    for code, detail in (
        ("two_places", {"date": "2026-10-14", "other_meal_ids": [9001], "other_canteen_ids": [other.id]}),
        ("card_not_valid", {"date": "2026-10-14", "card_id": 7, "revoked_at": "2026-10-13T16:30:00+00:00", "superseded_at": None}),
        ("sample_failed", {"sample_id": 3, "note": "电话核实当天未就餐"}),
    ):  # fmt: skip
        db.session.add(
            ClaimAnomaly(
                claim_id=claim.id,
                code=code,
                elder_id=elders[0].id,
                meal_ids=[meal_id],
                detail=detail,
            )
        )
    db.session.commit()
    db.session.expire(claim)

    log_in_as("official")
    page = page_anomalies(client.get(f"/claims/{claim.id}").get_data(as_text=True))
    book = workbook_of(login_as("official").get(f"/api/v1/claims/{claim.id}.xlsx"))
    header = [cell.value for cell in book["异常"][1]]
    sheet = [
        dict(zip(header, row, strict=True))
        for row in book["异常"].iter_rows(min_row=2, values_only=True)
    ]
    assert len(page) == len(sheet) == 4
    for on_page, in_book in zip(page, sheet, strict=True):
        assert in_book["异常类型"] == on_page["name"]
        assert in_book["老人"] == on_page["elder"]
        assert (in_book["日期"] or "") == on_page["when"]
        assert in_book["餐次编号"] == on_page["meals"]
        assert in_book["说明"] == on_page["particulars"]
    # In Chinese, with no stored key or English code left.
    particulars = [row["说明"] for row in sheet]
    assert particulars == [
        "该餐次就餐 2 份，限 1 份",
        "一小时内另在西溪街道颐乐老年食堂就餐（就餐记录 9001）",
        "餐卡 7，2026-10-14 已挂失",
        "抽查 3：电话核实当天未就餐",
    ]
    assert sheet[0]["日期"] == "2026-10-14 午餐"
    assert [row["异常类型"] for row in sheet] == [
        "同一餐次重复就餐",
        "一小时内在两处就餐",
        "卡已挂失或被替换",
        "随机电话抽查核实不符",
    ]
    # The printable claim words them the same.
    printed = client.get(f"/claims/{claim.id}/print").get_data(as_text=True)
    assert all(text in printed for text in particulars)
    assert "slot:" not in printed and "date:" not in printed


def test_a_rejected_line_shows_in_the_workbook_and_the_approved_amount(claim, login_as):
    official = login_as("official")
    rejected = claim.anomalies[0].meal_ids[-1]
    services.review(official.user, claim, "approve", "核对无误", [rejected], {rejected: "重复"})
    book = workbook_of(official.get(f"/api/v1/claims/{claim.id}.xlsx"))
    summary = summary_cells(book["汇总"])
    assert summary["状态"].value == "部分核准"
    assert fen_of(summary["核准金额(元)"]) == TOTAL_FEN - 500
    (row,) = [r for r in book["明细"].iter_rows(min_row=2, values_only=True) if r[0] == rejected]
    assert row[-2:] == ("是", "重复")


def test_a_manager_downloads_their_own_claim_workbook(claim, login_as):
    manager = login_as("manager")
    response = manager.get(f"/api/v1/claims/{claim.id}.xlsx")
    assert workbook_of(response).sheetnames == ["汇总", "明细", "异常"]


def test_a_manager_of_another_canteen_does_not_find_the_claim_workbook(claim, login_as, district):
    manager = login_as("manager", canteen=factories.create_canteen(district))
    assert manager.get(f"/api/v1/claims/{claim.id}.xlsx").status_code == 404


# The district's month


@pytest.fixture
def second_claim(claim, district, elders):
    """Another canteen of the district, rejected once and claiming again as revision 2,
    and a third canteen without a claim."""
    other = factories.create_canteen(district, monthly_operating_subsidy_fen=250_050)
    plant_meal(other, elders[1], date(2026, 10, 3), slot="dinner")
    manager = factories.create_user("manager", district=district, canteen=other)
    official = factories.create_user("official", district=district)
    first = services.make_claim(manager, other, MONTH)
    services.review(official, first, "reject", "材料不全")
    again = services.resubmit(manager, first)
    factories.create_canteen(district, monthly_operating_subsidy_fen=0)
    return again


def test_the_district_summary_has_a_row_per_canteen_and_the_totals(
    claim, second_claim, login_as, district, canteen
):
    response = login_as("official").get(
        f"/api/v1/districts/{district.code}/claims-summary?month=2026-10"
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["district_code"] == district.code and body["month"] == "2026-10"
    first, second, third = body["items"]
    assert first["canteen_id"] == canteen.id and first["claim_id"] == claim.id
    assert first["total_fen"] == TOTAL_FEN and first["meals"] == MEALS
    assert first["anomalies"] == 1 and first["status"] == "submitted"
    assert second["claim_id"] == second_claim.id and second["revision"] == 2
    assert second["total_fen"] == 250_050 + 500 and second["anomalies"] == 0
    assert third["claim_id"] is None and third["total_fen"] is None
    assert third["anomalies"] is None and third["canteen_kind"] == "canteen"
    totals = body["totals"]
    assert totals["canteens"] == 3 and totals["claims"] == 2
    assert totals["by_status"] == {"submitted": 2}
    assert totals["meals"] == MEALS + 1
    assert totals["total_fen"] == TOTAL_FEN + 250_550
    assert totals["operating_subsidy_fen"] == OPERATING_FEN + 250_050
    assert totals["approved_fen"] is None and totals["anomalies"] == 1


def test_the_district_summary_workbook_holds_the_totals_as_numbers(
    claim, second_claim, login_as, district
):
    official = login_as("official")
    response = official.get(f"/api/v1/districts/{district.code}/claims-summary.xlsx?month=2026-10")
    book = workbook_of(response)
    assert f"claims-summary-{district.code}-2026-10.xlsx" in response.headers["Content-Disposition"]
    sheet = book["汇总"]
    header = [cell.value for cell in sheet[1]]
    assert sheet.freeze_panes == "A2" and all(cell.font.bold for cell in sheet[1])
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 3 + 1
    column = {name: number for number, name in enumerate(header)}
    *canteens, totals = rows
    assert [row[column["状态"]].value for row in canteens] == ["已提交", "已提交", "未申报"]
    assert fen_of(canteens[0][column["合计(元)"]]) == TOTAL_FEN
    assert fen_of(totals[column["合计(元)"]]) == TOTAL_FEN + 250_550
    assert fen_of(totals[column["运营补贴(元)"]]) == OPERATING_FEN + 250_050
    assert totals[column["就餐份数"]].value == MEALS + 1
    assert canteens[2][column["合计(元)"]].value is None


def test_a_name_with_control_characters_is_exported_without_them(
    claim, login_as, district, canteen
):
    # A name pasted from another system can carry characters a worksheet cannot hold.
    official = login_as("official")
    renamed = official.patch(f"/api/v1/canteens/{canteen.id}", json={"name": "幸福\x07食堂\x1b"})
    assert renamed.status_code == 200, renamed.get_json()

    book = workbook_of(official.get(f"/api/v1/claims/{claim.id}.xlsx"))
    assert summary_cells(book["汇总"])["助餐机构"].value == "幸福食堂"
    summary = workbook_of(
        official.get(f"/api/v1/districts/{district.code}/claims-summary.xlsx?month=2026-10")
    )
    assert summary["汇总"]["B2"].value == "幸福食堂"


@pytest.mark.parametrize("month", ["2026-13", "202610", "", "October"])
def test_a_summary_for_a_month_not_yyyy_mm_is_a_422_naming_the_month(login_as, district, month):
    official = login_as("official")
    for path in ("claims-summary", "claims-summary.xlsx"):
        response = official.get(f"/api/v1/districts/{district.code}/{path}?month={month}")
        assert response.status_code == 422, path
        assert "month" in response.json["error"]["fields"]


def test_a_manager_may_not_have_the_district_summary(login_as, district):
    manager = login_as("manager")
    for path in ("claims-summary", "claims-summary.xlsx"):
        response = manager.get(f"/api/v1/districts/{district.code}/{path}?month=2026-10")
        assert response.status_code == 403


def test_an_official_of_another_district_does_not_find_the_summary(
    claim, login_as, district, client, log_in_as
):
    elsewhere = factories.create_district()
    official = login_as("official", district=elsewhere)
    for path in ("claims-summary", "claims-summary.xlsx"):
        response = official.get(f"/api/v1/districts/{district.code}/{path}?month=2026-10")
        assert response.status_code == 404
    assert official.get(f"/api/v1/claims/{claim.id}.xlsx").status_code == 404
    log_in_as("official", district=elsewhere)
    assert client.get(f"/districts/{district.code}/claims-summary").status_code == 404
    assert client.get(f"/claims/{claim.id}/print").status_code == 404


# The pages


def test_the_print_page_shows_the_totals_and_every_line(claim, client, log_in_as):
    log_in_as("official")
    response = client.get(f"/claims/{claim.id}/print")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "¥10,233.00" in html  # the total
    assert "¥10,000.00" in html and "¥230.00" in html and "¥3.00" in html
    assert html.count('data-testid="claim-line"') == MEALS
    assert "status-submitted" in html
    assert "@page" not in html  # print CSS lives in the stylesheet, A4 included
    assert "css/claim_print.css" in html
    assert not re.search(r"<script(?![^>]*src=)", html)


def test_a_manager_prints_their_own_claim_but_not_the_district_summary(
    claim, client, log_in_as, district
):
    log_in_as("manager")
    assert client.get(f"/claims/{claim.id}/print").status_code == 200
    assert client.get(f"/districts/{district.code}/claims-summary").status_code == 403


def test_the_summary_page_defaults_to_last_month_and_links_each_claim(
    claim, second_claim, client, log_in_as, district
):
    log_in_as("official")
    response = client.get(f"/districts/{district.code}/claims-summary")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    month = previous_month(district.local_today())
    assert f'value="{month}"' in html
    if month == MONTH:
        assert f'href="/claims/{claim.id}"' in html
        assert f'href="/claims/{second_claim.id}"' in html
    response = client.get(f"/districts/{district.code}/claims-summary?month=2026-10")
    html = response.get_data(as_text=True)
    assert html.count('data-testid="summary-row"') == 3
    assert f'href="/claims/{claim.id}"' in html and "status-submitted" in html
    assert "¥12,738.50" in html  # 10,233.00 + 2,500.50 + 5.00
    assert f'href="/api/v1/districts/{district.code}/claims-summary.xlsx?month=2026-10"' in html


def test_the_summary_page_says_what_is_wrong_with_a_month(client, log_in_as, district):
    log_in_as("official")
    response = client.get(f"/districts/{district.code}/claims-summary?month=2026-13")
    assert response.status_code == 200
    assert 'role="alert"' in response.get_data(as_text=True)


# The elders' ID numbers


def test_no_export_carries_an_elders_id_number(
    claim, second_claim, elders, id_numbers, login_as, client, log_in_as, district
):
    # The numbers kept at registration are the ones the registry holds.
    for elder in elders:
        assert decrypt_id_number(elder.id_number_encrypted) == id_numbers[elder.id]
    official = login_as("official")
    summary_path = f"/api/v1/districts/{district.code}/claims-summary"
    texts = {
        "claim workbook": xml_of(official.get(f"/api/v1/claims/{claim.id}.xlsx")),
        "summary workbook": xml_of(official.get(f"{summary_path}.xlsx?month=2026-10")),
        "claim JSON": official.get(f"/api/v1/claims/{claim.id}").get_data(as_text=True),
        "lines JSON": official.get(f"/api/v1/claims/{claim.id}/lines?per_page=1000").get_data(
            as_text=True
        ),
        "summary JSON": official.get(f"{summary_path}?month=2026-10").get_data(as_text=True),
    }
    log_in_as("official")
    texts["print page"] = client.get(f"/claims/{claim.id}/print").get_data(as_text=True)
    texts["summary page"] = client.get(
        f"/districts/{district.code}/claims-summary?month=2026-10"
    ).get_data(as_text=True)
    assert all(texts.values())

    for elder in elders:
        full = id_numbers[elder.id]
        for what, text in texts.items():
            assert full not in text, f"{what} carries an ID number"
            # Nor its hidden part: the birth date and sequence a masked number hides.
            assert full[6:14] + full[14:17] not in text, what
            assert full.lower() not in text.lower(), what
            # The elder is named masked only: the full name and phone appear nowhere.
            assert elder.name not in text, f"{what} carries a full name"
            assert elder.phone not in text, f"{what} carries a phone number"

    lines = official.get(f"/api/v1/claims/{claim.id}/lines?per_page=1000").json["items"]
    masked = {elder.id: services.mask_name(elder.name) for elder in elders}
    for line in lines:
        assert line["elder"] == masked[line["elder_id"]]
        # Only the first and the last character of the name show.
        assert re.fullmatch(r".\*+.", line["elder"])
    book = load_workbook(io.BytesIO(official.get(f"/api/v1/claims/{claim.id}.xlsx").data))
    assert {row[4] for row in book["明细"].iter_rows(min_row=2, values_only=True)} == set(
        masked.values()
    )


def xml_of(response) -> str:
    """Every part of a workbook, unzipped, as one text to search."""
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
