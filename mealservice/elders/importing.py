"""Elders imported from a spreadsheet (.xlsx): each row is checked exactly as a single
registration is (ElderIn, then the registry's services) and kept or refused on its own: a
refused row leaves nothing behind and the accepted rows stay.

A file is bounded before and while it is read (the IMPORT_* settings of config.py): its
size, what its zip unpacks to, its rows, and the seconds reading and registering may take.
A file over a bound is refused as a whole (422 naming `file`), and one that runs out of
time leaves nothing imported: the request's transaction is rolled back.

Reasons are English for the API and translated on the pages: a `Reason` keeps its text
and parameters apart until it is shown. Full ID numbers are never put in a reason, a
result or a log line; only the masked form is."""

import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from time import monotonic

import marshmallow as ma
from flask import current_app
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from mealservice.core.auth import district_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import ApiError, ValidationFailed, flatten_messages
from mealservice.core.idnumber import (
    InvalidIdNumber,
    make_id_number,
    mask_id_number,
    normalise_id_number,
)
from mealservice.elders import services
from mealservice.elders.models import AbilityLevel, Category
from mealservice.elders.schemas import ElderIn
from mealservice.places.models import Community

log = logging.getLogger(__name__)

# Parts of the zip smaller than this are not judged by how well they compress: a small
# part cannot grow into much, however repetitive it is.
RATIO_FLOOR_BYTES = 1024 * 1024
# Rows registered together (services.register_elders); the time budget is checked between.
CHUNK_ROWS = 500

ACCEPTED, REJECTED = "accepted", "rejected"
# The key of reasons about a row as a whole, as flatten_messages names them.
WHOLE_ROW = "_schema"


def N_(text: str) -> str:
    """Marks a text for the translation catalog; it is translated where it is shown."""
    return text


@dataclass(frozen=True)
class Reason:
    """Why a file or a row was refused: `text % params` in English, or translated."""

    text: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text % self.params if self.params else self.text


class UnreadableWorkbook(ValidationFailed):
    """The file as a whole cannot be imported: 422 naming the field `file`."""

    def __init__(self, text: str, **params):
        self.reason = Reason(text, params)
        super().__init__({"file": [str(self.reason)]})


@dataclass(frozen=True)
class Limits:
    """The bounds of one import, from the IMPORT_* settings."""

    file_bytes: int
    unpacked_bytes: int
    compression_ratio: int
    rows: int
    seconds: float

    @classmethod
    def configured(cls) -> "Limits":
        config = current_app.config
        return cls(
            file_bytes=config["IMPORT_MAX_FILE_BYTES"],
            unpacked_bytes=config["IMPORT_MAX_UNPACKED_BYTES"],
            compression_ratio=config["IMPORT_MAX_COMPRESSION_RATIO"],
            rows=config["IMPORT_MAX_ROWS"],
            seconds=config["IMPORT_TIME_BUDGET_S"],
        )


class Deadline:
    """The import's time budget, started when the file is first read and checked as it
    goes: past it, the import stops with a refusal of the whole file."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = monotonic() + seconds

    def check(self) -> None:
        if monotonic() > self.ends:
            raise UnreadableWorkbook(
                N_(
                    "The import took longer than %(seconds)s seconds and was stopped; nothing"
                    " was imported. Split the file into smaller files."
                ),
                seconds=f"{self.seconds:g}",
            )


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # the Chinese header of the template
    required: bool


# The template's columns, in order. English field names are accepted as headers too.
COLUMNS = (
    Column("name", "姓名", True),
    Column("id_number", "身份证号", True),
    Column("phone", "电话", True),
    Column("address", "地址", True),
    Column("community", "社区编码", True),
    Column("categories", "类别", False),
    Column("ability_level", "能力等级", True),
    Column("hukou_district", "户籍区划", True),
    Column("diet_notes", "饮食/照护备注", False),
    Column("lng", "经度", False),
    Column("lat", "纬度", False),
)
HEADER_OF = {column.field: column.header for column in COLUMNS}
FIELD_OF_HEADER = {
    **{column.field: column.field for column in COLUMNS},
    **{column.header: column.field for column in COLUMNS},
}

# The words officials write in the sheet, next to the API's codes.
CATEGORY_LABELS = {
    "特困": Category.EXTREME_POVERTY,
    "分散供养特困": Category.EXTREME_POVERTY,
    "低保": Category.MINIMUM_ALLOWANCE,
    "低收入": Category.LOW_INCOME,
    "失能": Category.DISABLED,
    "独居": Category.LIVING_ALONE,
    "空巢": Category.EMPTY_NEST,
    "留守": Category.LEFT_BEHIND,
    "残疾": Category.HANDICAPPED,
    "计划生育特殊家庭": Category.FAMILY_PLANNING_SPECIAL,
}
ABILITY_LABELS = {
    "能力完好": AbilityLevel.INTACT,
    "轻度失能": AbilityLevel.MILD,
    "中度失能": AbilityLevel.MODERATE,
    "重度失能": AbilityLevel.SEVERE,
}
CATEGORY_CODES = frozenset(c.value for c in Category)
ABILITY_CODES = frozenset(a.value for a in AbilityLevel)
# Commas, 、 and semicolons, half- or full-width, and spaces separate categories.
CATEGORY_SEPARATORS = re.compile(r"[,，、;；\s]+")


@dataclass(frozen=True)
class SheetRow:
    number: int  # the row's number as the spreadsheet shows it
    cells: dict  # field → the cell's value as openpyxl read it (None when empty)


# Reading the workbook.


def import_workbook(actor, stream, *, recorded_by: str) -> dict:
    """Read an uploaded workbook and register its rows, within one time budget."""
    deadline = Deadline(Limits.configured().seconds)
    rows = read_workbook(stream, deadline)
    return import_rows(actor, rows, recorded_by=recorded_by, deadline=deadline)


def read_workbook(stream, deadline: Deadline | None = None) -> list[SheetRow]:
    """The data rows of the first sheet, keyed by field; UnreadableWorkbook says why not.

    openpyxl reads the sheet's rows as a stream (read_only), but holds its shared strings
    in memory: what the zip unpacks to is judged first, from the sizes its directory
    declares (zipfile stops at a part's declared size, so a part cannot unpack to more)."""
    limits = Limits.configured()
    deadline = deadline or Deadline(limits.seconds)
    content = stream.read(limits.file_bytes + 1)
    if not content:
        raise UnreadableWorkbook(N_("The file is empty."))
    if len(content) > limits.file_bytes:
        raise UnreadableWorkbook(
            N_("The file is larger than %(mb)s MB; split it into smaller files."),
            mb=megabytes(limits.file_bytes),
        )
    _check_archive(content, limits)
    try:
        workbook = load_workbook(BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl fails in many ways on files it cannot read
        log.info("an uploaded workbook could not be opened (%s)", type(error).__name__)
        raise _not_a_workbook() from None
    try:
        return _rows_of(workbook, limits.rows, deadline)
    except UnreadableWorkbook:
        raise
    except Exception as error:  # a malformed sheet fails only when its rows are read
        log.info("an uploaded workbook could not be read (%s)", type(error).__name__)
        raise _not_a_workbook() from None
    finally:
        workbook.close()


def _not_a_workbook() -> UnreadableWorkbook:
    return UnreadableWorkbook(
        N_("This is not an .xlsx workbook that can be read; save it from Excel or WPS as .xlsx.")
    )


def _check_archive(content: bytes, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise _not_a_workbook() from None
    if sum(member.file_size for member in members) > limits.unpacked_bytes:
        raise UnreadableWorkbook(
            N_("The workbook unpacks to more than %(mb)s MB; split it into smaller files."),
            mb=megabytes(limits.unpacked_bytes),
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_BYTES and ratio > limits.compression_ratio:
            log.info("an uploaded workbook's part expands %d times", ratio)
            raise UnreadableWorkbook(
                N_(
                    "A part of the workbook unpacks to more than %(ratio)s times its size,"
                    " which a spreadsheet never does; this file cannot be imported."
                ),
                ratio=limits.compression_ratio,
            )


def megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):g}"


def _rows_of(workbook, max_rows: int, deadline: Deadline) -> list[SheetRow]:
    if not workbook.worksheets:
        raise UnreadableWorkbook(N_("The workbook has no sheet."))
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None)
    if header is None or all(_blank(value) for value in header):
        raise UnreadableWorkbook(
            N_("The first row of the first sheet must hold the column headers, as in the template.")
        )
    fields = _fields_of_header(header)
    found = []
    # Rows missing from the file come back as empty rows, so counting gives sheet numbers.
    for number, values in enumerate(rows, start=2):
        deadline.check()
        if all(_blank(value) for value in values):
            continue
        if len(found) == max_rows:
            raise UnreadableWorkbook(
                N_("The sheet has more than %(n)s rows; split it into smaller files."), n=max_rows
            )
        cells = {name: values[index] if index < len(values) else None for index, name in fields}
        found.append(SheetRow(number, cells))
    if not found:
        raise UnreadableWorkbook(N_("The sheet has no rows below its headers."))
    return found


def _fields_of_header(header) -> list[tuple[int, str]]:
    fields: list[tuple[int, str]] = []
    unknown, twice = [], []
    for index, value in enumerate(header):
        if _blank(value):
            continue
        text = unicodedata.normalize("NFKC", str(value)).strip()
        name = FIELD_OF_HEADER.get(text) or FIELD_OF_HEADER.get(text.lower())
        if name is None:
            unknown.append(text[:30])
        elif name in (seen for _, seen in fields):
            twice.append(_column_name(name))
        else:
            fields.append((index, name))
    # An unknown header is refused rather than skipped: a misspelt 类别 would otherwise
    # register elders without the categories their subsidy depends on.
    if unknown:
        raise UnreadableWorkbook(
            N_("Unknown column headers: %(headers)s. Use the headers of the template."),
            headers=", ".join(unknown[:5]),
        )
    if twice:
        raise UnreadableWorkbook(
            N_("These columns appear twice: %(columns)s."), columns=", ".join(twice)
        )
    present = {name for _, name in fields}
    missing = [_column_name(c.field) for c in COLUMNS if c.required and c.field not in present]
    if missing:
        raise UnreadableWorkbook(N_("Missing columns: %(columns)s."), columns=", ".join(missing))
    return fields


def _column_name(name: str) -> str:
    return f"{HEADER_OF[name]} ({name})"


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# From cells to the registration body.


def _text(value) -> str | None:
    """A cell as text: numbers typed into text columns (phones, codes) lose no digits."""
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _number(value):
    """Coordinates as Excel holds them, or as text for the schema to judge."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return _text(value)


def registration_of(cells: dict, consent: dict) -> tuple[dict, dict[str, list[Reason]]]:
    """The body `POST /api/v1/elders` would take for a row, and reasons found on the way
    (the ID number typed as a number, categories or ability levels nobody knows)."""
    reasons: dict[str, list[Reason]] = {}
    body: dict = {"consent": consent}
    for name in ("name", "phone", "address", "community", "hukou_district", "diet_notes"):
        if (text := _text(cells.get(name))) is not None:
            body[name] = text
    number = cells.get("id_number")
    if isinstance(number, float):
        # Excel keeps 15 significant digits of a number: the last ones are already lost.
        reasons["id_number"] = [
            Reason(
                N_(
                    "The ID number was saved as a number and lost its last digits; "
                    "format the column as text and type the number again."
                )
            )
        ]
    elif (text := _text(number)) is not None:
        body["id_number"] = text
    if (text := _text(cells.get("categories"))) is not None:
        body["categories"], unknown = _categories_of(text)
        if unknown:
            reasons["categories"] = [
                Reason(
                    N_("Unknown category: %(value)s. Use: %(choices)s."),
                    {"value": "、".join(unknown[:5]), "choices": "、".join(CATEGORY_LABELS)},
                )
            ]
    if (text := _text(cells.get("ability_level"))) is not None:
        level = _ability_of(text)
        body["ability_level"] = level or text
        if level is None:
            reasons["ability_level"] = [
                Reason(
                    N_("Unknown ability level: %(value)s. Use: %(choices)s."),
                    {"value": text[:30], "choices": "、".join(ABILITY_LABELS)},
                )
            ]
    location = {
        axis: value for axis in ("lat", "lng") if (value := _number(cells.get(axis))) is not None
    }
    if location:
        body["location"] = location
    return body, reasons


def _categories_of(text: str) -> tuple[list[str], list[str]]:
    known, unknown = [], []
    for token in CATEGORY_SEPARATORS.split(unicodedata.normalize("NFKC", text)):
        if not token:
            continue
        code = CATEGORY_LABELS.get(token) or (
            token.lower() if token.lower() in CATEGORY_CODES else None
        )
        if code is None:
            unknown.append(token[:30])
        else:
            known.append(str(code))
    return known, unknown


def _ability_of(text: str) -> str | None:
    text = unicodedata.normalize("NFKC", text).strip()
    level = ABILITY_LABELS.get(text) or (text.lower() if text.lower() in ABILITY_CODES else None)
    return None if level is None else str(level)


# Importing.

_elder_in = ElderIn()


def import_rows(
    actor, rows: list[SheetRow], *, recorded_by: str, deadline: Deadline | None = None
) -> dict:
    """Register each row as `POST /api/v1/elders` would; a refused row adds nothing.

    Consent is recorded as given now and recorded by the importing user: the caller has
    confirmed that written consent was collected from every elder in the file. Services
    only flush; the request commits what was accepted, or nothing when the time budget
    ran out (UnreadableWorkbook, checked between chunks of rows)."""
    deadline = deadline or Deadline(Limits.configured().seconds)
    consent = {"given_at": utcnow().isoformat(), "recorded_by": recorded_by}
    first_row_of: dict[str, int] = {}
    results = []
    for start in range(0, len(rows), CHUNK_ROWS):
        deadline.check()
        results.extend(
            _import_chunk(actor, rows[start : start + CHUNK_ROWS], consent, first_row_of)
        )
    accepted = sum(1 for result in results if result["status"] == ACCEPTED)
    log.info(
        "spreadsheet import by %s: %d rows accepted, %d rejected",
        recorded_by,
        accepted,
        len(results) - accepted,
    )
    return {"accepted": accepted, "rejected": len(results) - accepted, "rows": results}


def _import_chunk(actor, rows: list[SheetRow], consent: dict, first_row_of: dict) -> list[dict]:
    """The rows' own checks, then the registry's for those that passed, all at once."""
    checked = [_checked_row(row, consent, first_row_of) for row in rows]
    outcomes = iter(
        services.register_elders(actor, [data for _, _, reasons, data in checked if not reasons])
    )
    results = []
    for row, masked, reasons, _data in checked:
        if reasons:
            results.append(_rejected(row, masked, reasons))
            continue
        elder = next(outcomes)
        if isinstance(elder, ApiError):
            results.append(_rejected(row, masked, _reasons_of_refusal(elder)))
            continue
        results.append(
            {
                "row": row.number,
                "status": ACCEPTED,
                "elder_id": elder.id,
                "id_number_masked": elder.id_number_masked,
            }
        )
    return results


def _checked_row(row: SheetRow, consent: dict, first_row_of: dict[str, int]):
    """The row as a registration, its masked number, and the reasons it is refused before
    the registry is asked (none: it goes on to services.register_elders)."""
    body, reasons = registration_of(row.cells, consent)
    number = None
    if "id_number" in body:
        try:
            number = normalise_id_number(body["id_number"])
        except InvalidIdNumber as error:
            reasons.setdefault("id_number", []).append(Reason(str(error)))
    masked = mask_id_number(number) if number else None
    if number is not None:
        # Every repeat of a number in the file is refused, whatever became of its first
        # row: which of the two is right is for the official to say.
        if number in first_row_of:
            reasons.setdefault("id_number", []).append(
                Reason(
                    N_("The same ID number is on row %(row)s of this file."),
                    {"row": first_row_of[number]},
                )
            )
        else:
            first_row_of[number] = row.number
    try:
        data = _elder_in.load(body)
    except ma.ValidationError as error:
        data = None
        reasons = {**_reasons_by_column(error.messages), **reasons}
    return row, masked, reasons, data


def _rejected(row: SheetRow, masked: str | None, reasons: dict[str, list[Reason]]) -> dict:
    result = {"row": row.number, "status": REJECTED, "errors": reasons}
    if masked:
        result["id_number_masked"] = masked
    return result


def _reasons_by_column(messages) -> dict[str, list[Reason]]:
    """The schema's reasons under the sheet's columns: `categories.0` under categories,
    `location.lat` under lat, the consent (never from the sheet) under the whole row."""
    reasons: dict[str, list[Reason]] = {}
    for key, texts in flatten_messages(messages).items():
        head, _, rest = key.partition(".")
        column = rest.partition(".")[0] if head == "location" and rest else head
        if column not in HEADER_OF:
            column = WHOLE_ROW
        reasons.setdefault(column, []).extend(Reason(text) for text in texts)
    return reasons


def _reasons_of_refusal(error: ApiError) -> dict[str, list[Reason]]:
    if error.code == "duplicate_elder":
        return {"id_number": [Reason(N_("An elder with this ID number is already registered."))]}
    if error.fields:
        return _reasons_by_column(error.fields)
    return {WHOLE_ROW: [Reason(error.message)]}


# The template officials download.

EXAMPLE_ROW = {
    "name": "张秀英",
    "phone": "138 0000 0000",
    "address": "北山街道保俶路12号3单元101",
    "categories": "独居、低保",
    "ability_level": "轻度失能",
    "diet_notes": "糖尿病，少糖；需要帮忙端餐盘",
    "lng": 120.1551,
    "lat": 30.2741,
}
# Columns whose digits must stay text: Excel would drop leading zeros and ID digits.
TEXT_COLUMNS = ("id_number", "phone", "community", "hukou_district")


def template_workbook(actor) -> bytes:
    """The import template: Chinese headers, one example row with a made-up ID number
    (and the codes of the actor's district, when they have one), a sheet of instructions."""
    district_code = district_scope(actor)
    community_code = (
        db.session.scalar(
            select(Community.code)
            .where(Community.district_code == district_code)
            .order_by(Community.code)
            .limit(1)
        )
        if district_code
        else None
    )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "老人名单"
    sheet.append([column.header for column in COLUMNS])
    example = {
        **EXAMPLE_ROW,
        # A valid number by construction, of nobody: a made-up sequence number.
        "id_number": make_id_number("330106", date(1946, 5, 17), 1),
        "community": community_code or "330106001001",
        "hukou_district": district_code or "330106",
    }
    sheet.append([example[column.field] for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[letter].width = 24 if column.field != "address" else 36
        if column.field in TEXT_COLUMNS:
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
    levels = DataValidation(
        type="list", formula1='"' + ",".join(ABILITY_LABELS) + '"', allow_blank=True
    )
    sheet.add_data_validation(levels)
    ability = get_column_letter(
        next(i for i, c in enumerate(COLUMNS, 1) if c.field == "ability_level")
    )
    max_rows = Limits.configured().rows
    levels.add(f"{ability}2:{ability}{max_rows + 1}")
    sheet.freeze_panes = "A2"
    _instructions(workbook.create_sheet("填写说明"), max_rows)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _instructions(sheet, max_rows: int) -> None:
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 90
    lines = [
        ("说明", "第一个工作表的每一行是一位老人；第一行是表头，请勿修改。导入前请删除示例行。"),
        ("知情同意", "导入即确认已取得表中每位老人的书面知情同意；系统记录导入时间和导入人。"),
        ("必填", "姓名、身份证号、电话、地址、社区编码、能力等级、户籍区划。"),
        ("身份证号", "18位，末位可为X。请将该列设为文本格式，否则Excel会丢失后几位数字。"),
        ("类别", "可填多个，用逗号、顿号或分号分隔：" + "、".join(CATEGORY_LABELS) + "。"),
        ("能力等级", "、".join(ABILITY_LABELS) + "。"),
        ("经度/纬度", "可不填；填写时两项都要填。"),
        ("行数", f"每个文件最多{max_rows}行。"),
    ]
    for line in lines:
        sheet.append(line)
    for cell in sheet["A"]:
        cell.font = Font(bold=True)
