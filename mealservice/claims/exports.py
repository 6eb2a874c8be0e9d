"""Claims as workbooks for the district's finance office: a claim (summary, lines,
anomalies) and a district's month (one row per canteen).

Numbers stay numbers: money is yuan made exactly from fen (a Decimal, never a float),
shown with two decimals; counts are integers; dates are date cells. The lines are
written as they are read, a page at a time, so a large month is never held whole."""

import io
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from mealservice.claims import services
from mealservice.claims.models import Claim
from mealservice.claims.wording import anomaly_name, claim_anomaly_rows, slot_name

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Lines are read this many at a time: a page is the most of a month held at once.
LINES_PER_PAGE = 1000

# The workbooks are for the district's finance office: their words are Chinese. An
# anomaly, a slot, and their particulars are worded as the claim page words them
# (claims.wording), in the site's default language whoever downloads the workbook.
STATUS_NAMES = {
    "submitted": "已提交",
    "approved": "已核准",
    "partially_approved": "部分核准",
    "rejected": "已退回",
}
CHANNEL_NAMES = {"dine_in": "堂食", "delivery": "送餐"}
KIND_NAMES = {
    "canteen": "老年食堂",
    "meal_point": "社区助餐点",
    "dining_table": "老年餐桌",
    "rural_point": "农村助餐点",
}

HEADER_FONT = Font(bold=True)


def yuan(fen: int | None) -> Decimal | None:
    """Fen as yuan, exactly: 1234 → Decimal('12.34')."""
    return None if fen is None else Decimal(fen) / 100


class Column:
    """A column of a sheet: its header, its width in characters and how its cells show."""

    def __init__(self, header: str, width: int, number_format: str | None = None):
        self.header = header
        self.width = width
        self.number_format = number_format


def money(header: str, width: int = 12) -> Column:
    return Column(header, width, MONEY_FORMAT)


def _cell(sheet, value) -> WriteOnlyCell:
    """A cell for any stored value. Text typed or pasted with control characters (a name
    copied from another system) is shown without them: a worksheet cannot hold them, and
    the export must not fail over a name."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return WriteOnlyCell(sheet, value)


def _sheet(workbook: Workbook, title: str, columns: list[Column]):
    """A write-only sheet with its widths set, its header row written bold and frozen."""
    sheet = workbook.create_sheet(title)
    for number, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = _cell(sheet, column.header)
        cell.font = HEADER_FONT
        header.append(cell)
    sheet.append(header)
    return sheet


def _row(sheet, columns: list[Column], values: Iterable) -> list:
    cells = []
    for column, value in zip(columns, values, strict=True):
        cell = _cell(sheet, value)
        if column.number_format is not None:
            cell.number_format = column.number_format
        elif isinstance(value, datetime):
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            cell.number_format = DATE_FORMAT
        cells.append(cell)
    return cells


def _save(workbook: Workbook) -> io.BytesIO:
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


# A claim.

SUMMARY_COLUMNS = [Column("项目", 22), Column("数值", 24)]
LINE_COLUMNS = [
    Column("餐次编号", 10),
    Column("日期", 12),
    Column("餐段", 6),
    Column("方式", 6),
    Column("老人", 12),
    Column("补贴档次", 12),
    money("价格(元)", 10),
    money("补贴(元)", 10),
    money("送餐补贴(元)", 12),
    money("老人支付(元)", 12),
    Column("异常", 28),
    Column("剔除", 6),
    Column("剔除原因", 30),
]
ANOMALY_COLUMNS = [
    Column("序号", 6),
    Column("异常类型", 18),
    Column("代码", 20),
    Column("老人编号", 10),
    Column("老人", 10),
    Column("日期", 14),
    Column("餐次数", 8),
    Column("餐次编号", 40),
    Column("说明", 50),
]


def claim_file_name(claim: Claim) -> str:
    return f"claim-{claim.canteen_id}-{claim.month}-r{claim.revision}.xlsx"


def claim_workbook(claim: Claim) -> io.BytesIO:
    workbook = Workbook(write_only=True)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        _claim_summary_sheet(workbook, claim)
        _lines_sheet(workbook, claim)
        _anomalies_sheet(workbook, claim)
    return _save(workbook)


def claim_summary_rows(claim: Claim) -> list[tuple[str, object, str | None]]:
    """The summary as (label, value, number format) rows, in the order they are shown."""
    canteen = claim.canteen
    made_at = wall_clock(claim.made_at, canteen.district.effective_timezone)
    rows: list[tuple[str, object, str | None]] = [
        ("申报单编号", claim.id, None),
        ("助餐机构", canteen.name, None),
        ("机构编号", canteen.id, None),
        ("区", f"{canteen.district.name}（{claim.district_code}）", None),
        ("月份", claim.month, None),
        ("版本", claim.revision, None),
        ("状态", STATUS_NAMES.get(claim.status, claim.status), None),
        ("申报人", claim.made_by, None),
        ("申报时间", made_at, DATETIME_FORMAT),
        ("就餐份数", claim.meals, None),
        ("补贴份数", claim.subsidized_meals, None),
        ("餐费补贴(元)", yuan(claim.meal_subsidy_fen), MONEY_FORMAT),
        ("送餐补贴(元)", yuan(claim.delivery_subsidy_fen), MONEY_FORMAT),
        ("运营补贴(元)", yuan(claim.operating_subsidy_fen), MONEY_FORMAT),
        ("合计(元)", yuan(claim.total_fen), MONEY_FORMAT),
        ("核准金额(元)", yuan(claim.approved_fen), MONEY_FORMAT),
    ]
    counts = Counter(anomaly.code for anomaly in claim.anomalies)
    rows.append(("异常（条）", sum(counts.values()), None))
    rows.extend(
        (f"异常：{anomaly_name(code)}", count, None) for code, count in sorted(counts.items())
    )
    return rows


def wall_clock(moment: datetime, timezone: str) -> datetime:
    """A stored UTC time as the district's wall clock, naive: a spreadsheet has no zones."""
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def _claim_summary_sheet(workbook: Workbook, claim: Claim) -> None:
    sheet = _sheet(workbook, "汇总", SUMMARY_COLUMNS)
    for label, value, number_format in claim_summary_rows(claim):
        name = _cell(sheet, label)
        cell = _cell(sheet, value)
        if number_format is not None:
            cell.number_format = number_format
        sheet.append([name, cell])


def iter_lines(claim: Claim) -> Iterator[dict]:
    """Every line of the claim, read a page at a time (the month is closed: the lines
    cannot move between pages)."""
    page = 1
    while True:
        items, more = services.lines(claim, page, LINES_PER_PAGE)
        yield from items
        if not more:
            return
        page += 1


def _lines_sheet(workbook: Workbook, claim: Claim) -> None:
    sheet = _sheet(workbook, "明细", LINE_COLUMNS)
    for line in iter_lines(claim):
        sheet.append(
            _row(
                sheet,
                LINE_COLUMNS,
                (
                    line["meal_id"],
                    line["date"],
                    slot_name(line["slot"]),
                    CHANNEL_NAMES.get(line["channel"], line["channel"]),
                    line["elder"],
                    line["tier"],
                    yuan(line["price_fen"]),
                    yuan(line["subsidy_fen"]),
                    yuan(line["delivery_subsidy_fen"]),
                    yuan(line["elder_pays_fen"]),
                    "、".join(map(anomaly_name, line["anomalies"])) or None,
                    "是" if line["rejected"] else "否",
                    line["rejected_reason"],
                ),
            )
        )


def _anomalies_sheet(workbook: Workbook, claim: Claim) -> None:
    sheet = _sheet(workbook, "异常", ANOMALY_COLUMNS)
    for number, row in enumerate(claim_anomaly_rows(claim), start=1):
        sheet.append(
            _row(
                sheet,
                ANOMALY_COLUMNS,
                (
                    number,
                    row["name"],
                    row["code"],
                    row["elder_id"],
                    row["elder"] or None,
                    row["when"] or None,
                    len(row["meal_ids"]),
                    row["meals"],
                    row["particulars"],
                ),
            )
        )


# A district's month.

DISTRICT_COLUMNS = [
    Column("机构编号", 10),
    Column("助餐机构", 28),
    Column("类型", 12),
    Column("申报单编号", 10),
    Column("状态", 10),
    Column("版本", 6),
    Column("就餐份数", 10),
    Column("补贴份数", 10),
    money("餐费补贴(元)", 14),
    money("送餐补贴(元)", 14),
    money("运营补贴(元)", 14),
    money("合计(元)", 14),
    money("核准金额(元)", 14),
    Column("异常（条）", 10),
]


def district_summary_file_name(summary: dict) -> str:
    return f"claims-summary-{summary['district_code']}-{summary['month']}.xlsx"


def district_summary_workbook(summary: dict) -> io.BytesIO:
    """`claims.summary.district_summary`'s answer as one sheet, with a totals row."""
    workbook = Workbook(write_only=True)
    sheet = _sheet(workbook, "汇总", DISTRICT_COLUMNS)
    for row in summary["items"]:
        sheet.append(
            _row(
                sheet,
                DISTRICT_COLUMNS,
                (
                    row["canteen_id"],
                    row["canteen_name"],
                    KIND_NAMES.get(row["canteen_kind"], row["canteen_kind"]),
                    row["claim_id"],
                    STATUS_NAMES.get(row["status"], row["status"]) if row["claim_id"] else "未申报",
                    row["revision"],
                    *_figures(row),
                ),
            )
        )
    totals = summary["totals"]
    label = _cell(sheet, f"合计（{totals['claims']}/{totals['canteens']} 家已申报）")
    label.font = HEADER_FONT
    cells = _row(sheet, DISTRICT_COLUMNS[6:], _figures(totals))
    for cell in cells:
        cell.font = HEADER_FONT
    sheet.append([label, None, None, None, None, None, *cells])
    return _save(workbook)


def _figures(row: dict) -> tuple:
    return (
        row["meals"],
        row["subsidized_meals"],
        yuan(row["meal_subsidy_fen"]),
        yuan(row["delivery_subsidy_fen"]),
        yuan(row["operating_subsidy_fen"]),
        yuan(row["total_fen"]),
        yuan(row["approved_fen"]),
        row["anomalies"],
    )
