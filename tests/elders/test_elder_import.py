"""Elders imported from a spreadsheet: every row checked as a single registration and kept
or refused on its own; the full ID number shown nowhere."""

import logging
import re
import struct
import zipfile
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import openpyxl
import pytest
from sqlalchemy import select

from mealservice.core.db import db as _db
from mealservice.core.idnumber import make_id_number, mask_id_number
from mealservice.elders import importing, services
from mealservice.elders.models import Elder
from mealservice.elders.pages import XLSX
from tests import factories
from tests.core.test_errors import assert_error
from tests.core.test_pages import log_in, page_token

CHINESE = [column.header for column in importing.COLUMNS]
ENGLISH = [column.field for column in importing.COLUMNS]
IMPORT = "/api/v1/elders/import"
REGISTERED_NUMBER = make_id_number("330106", date(1940, 2, 2), 900)


def number(sequence: int, born: date = date(1950, 1, 1)) -> str:
    return make_id_number("330106", born, sequence)


def digits_only_number(start: int) -> str:
    """A valid number whose check character is a digit, so Excel may hold it as a number."""
    return next(n for s in range(start, start + 20) if (n := number(s))[-1].isdigit())


def wrong_check(valid: str) -> str:
    return valid[:-1] + ("0" if valid[-1] != "0" else "1")


def row(place, **cells) -> dict:
    """A valid row of the Chinese template, by field."""
    return {
        "name": "测试老人",
        "id_number": number(1),
        "phone": "138 0000 1111",
        "address": "测试路2号3单元",
        "community": place.code,
        "categories": "独居",
        "ability_level": "轻度失能",
        "hukou_district": place.district_code,
        "diet_notes": "糖尿病，少糖",
        "lng": 120.1555,
        "lat": 30.2745,
        **cells,
    }


def workbook(rows: list[dict], headers: list[str] = CHINESE) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    fields = [importing.FIELD_OF_HEADER.get(h) for h in headers]
    for cells in rows:
        sheet.append([cells.get(f) for f in fields] if cells else [])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewritten(content: bytes, member: str, change) -> bytes:
    """The workbook with one of its XML parts changed, as another program might write it."""
    source = zipfile.ZipFile(BytesIO(content))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            archive.writestr(item, change(data) if item.filename == member else data)
    return out.getvalue()


def upload(client, content: bytes | None, consent="true"):
    data = {}
    if content is not None:
        data["file"] = (BytesIO(content), "elders.xlsx")
    if consent is not None:
        data["consent_confirmed"] = consent
    return client.post(IMPORT, data=data, content_type="multipart/form-data")


def names_in(district) -> set[str]:
    return set(_db.session.scalars(select(Elder.name).where(Elder.hukou_district == district.code)))


@pytest.fixture
def community(db, district):
    return factories.create_community(district)


@pytest.fixture
def official(db, district):
    return factories.create_user("official", district=district, username="import-official")


@pytest.fixture
def registered(db, district, community):
    """An elder already registered, with a number the sheets below repeat."""
    return factories.create_elder(
        district, community, name="已登记老人", id_number=REGISTERED_NUMBER
    )


def mixed_rows(community) -> list[dict]:
    """Rows 2-8 of the sheet: two good ones and one of each common mistake."""
    return [
        row(community, name="王秀兰", id_number=number(11)),
        row(community, name="坏校验", id_number=wrong_check(number(12))),
        row(community, name="重复库中", id_number=REGISTERED_NUMBER),
        row(community, name="李桂英", id_number=number(13)),
        row(community, name="文件内重复", id_number=number(11)),
        row(community, name="无此社区", id_number=number(14), community="nowhere"),
        row(community, name=None, id_number=number(15)),
    ]


def test_rows_are_kept_or_refused_each_with_its_reasons(
    db, district, community, official, registered
):
    before = names_in(district)
    rows = importing.read_workbook(BytesIO(workbook(mixed_rows(community))))
    assert [r.number for r in rows] == [2, 3, 4, 5, 6, 7, 8]
    outcome = importing.import_rows(official, rows, recorded_by=official.username)
    assert (outcome["accepted"], outcome["rejected"]) == (2, 5)
    by_row = {r["row"]: r for r in outcome["rows"]}
    assert by_row[2]["status"] == "accepted" and by_row[2]["elder_id"]
    assert by_row[2]["id_number_masked"] == mask_id_number(number(11))
    reasons = {n: as_text(r["errors"]) for n, r in by_row.items() if r["status"] == "rejected"}
    assert reasons[3] == {"id_number": ["The check character does not match; is a digit mistyped?"]}
    assert reasons[4] == {"id_number": ["An elder with this ID number is already registered."]}
    assert reasons[6] == {"id_number": ["The same ID number is on row 2 of this file."]}
    assert reasons[7] == {"community": ["No such community in the elder's district."]}
    assert reasons[8] == {"name": ["Missing data for required field."]}
    assert "id_number_masked" not in by_row[3], "a wrong number is not shown, even masked"
    assert by_row[4]["id_number_masked"] == registered.id_number_masked
    assert names_in(district) == before | {"王秀兰", "李桂英"}


def as_text(errors: dict) -> dict:
    return {column: [str(reason) for reason in reasons] for column, reasons in errors.items()}


def test_an_official_imports_through_the_api_and_the_database_holds_exactly_the_accepted_rows(
    login_as, district, community, registered
):
    before = names_in(district)
    response = upload(login_as("official"), workbook(mixed_rows(community)))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["accepted"], body["rejected"]) == (2, 5)
    assert [r["status"] for r in body["rows"]] == [
        "accepted",
        "rejected",
        "rejected",
        "accepted",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert body["rows"][2]["errors"] == {
        "id_number": ["An elder with this ID number is already registered."]
    }
    assert body["rows"][6] == {
        "row": 8,
        "status": "rejected",
        "id_number_masked": mask_id_number(number(15)),
        "errors": {"name": ["Missing data for required field."]},
    }
    assert names_in(district) == before | {"王秀兰", "李桂英"}
    accepted = {r["elder_id"] for r in body["rows"] if r["status"] == "accepted"}
    assert len(accepted) == 2


def test_consent_is_recorded_as_given_at_the_import_by_the_importing_user(
    db, district, community, official
):
    outcome = importing.import_rows(
        official,
        importing.read_workbook(BytesIO(workbook([row(community, id_number=number(21))]))),
        recorded_by=official.username,
    )
    elder = db.session.get(Elder, outcome["rows"][0]["elder_id"])
    assert elder.consent_recorded_by == "import-official"
    assert datetime.now(UTC) - elder.consent_given_at < timedelta(minutes=1)


def test_chinese_labels_and_english_codes_both_fill_the_categories_and_ability(
    db, district, community, official
):
    rows = [
        row(
            community, id_number=number(31), categories="独居、低保；残疾", ability_level="中度失能"
        ),
        row(
            community,
            id_number=number(32),
            categories="extreme_poverty, Disabled",
            ability_level="severe",
        ),
        row(community, id_number=number(33), categories=None, ability_level="能力完好"),
        row(community, id_number=number(34), categories="独居、富人", ability_level="还行"),
    ]
    outcome = importing.import_rows(
        official, importing.read_workbook(BytesIO(workbook(rows))), recorded_by="x"
    )
    elders = [db.session.get(Elder, r.get("elder_id")) for r in outcome["rows"][:3]]
    assert [(e.categories, e.ability_level) for e in elders] == [
        (["handicapped", "living_alone", "minimum_allowance"], "moderate"),
        (["disabled", "extreme_poverty"], "severe"),
        ([], "intact"),
    ]
    refused = outcome["rows"][3]["errors"]
    assert set(refused) == {"categories", "ability_level"}
    assert "富人" in str(refused["categories"][0]) and "低保" in str(refused["categories"][0])
    assert "还行" in str(refused["ability_level"][0])


def test_english_field_names_serve_as_headers_in_any_order(db, district, community, official):
    headers = list(reversed(ENGLISH))
    outcome = importing.import_rows(
        official,
        importing.read_workbook(BytesIO(workbook([row(community, id_number=number(41))], headers))),
        recorded_by="x",
    )
    elder = db.session.get(Elder, outcome["rows"][0]["elder_id"])
    assert (elder.lat, elder.lng, elder.diet_notes) == (30.2745, 120.1555, "糖尿病，少糖")


def test_optional_columns_may_be_left_out_and_blank_rows_keep_the_sheet_numbers(
    db, district, community, official
):
    headers = [c.header for c in importing.COLUMNS if c.required]
    rows = [row(community, id_number=number(51)), {}, {}, row(community, id_number=number(52))]
    parsed = importing.read_workbook(BytesIO(workbook(rows, headers)))
    assert [r.number for r in parsed] == [2, 5]
    outcome = importing.import_rows(official, parsed, recorded_by="x")
    assert outcome["accepted"] == 2
    elder = db.session.get(Elder, outcome["rows"][0]["elder_id"])
    assert (elder.categories, elder.location, elder.diet_notes) == ([], None, None)


def test_half_a_location_is_refused_under_the_missing_column(db, district, community, official):
    outcome = importing.import_rows(
        official,
        importing.read_workbook(
            BytesIO(workbook([row(community, id_number=number(61), lng=None)]))
        ),
        recorded_by="x",
    )
    assert as_text(outcome["rows"][0]["errors"]) == {"lng": ["Missing data for required field."]}


def test_an_id_number_excel_turned_into_a_float_is_refused_with_how_to_fix_it(login_as, community):
    # Typed as a number, Excel keeps 15 significant digits: 1.10105194912310E+17.
    content = workbook([row(community, id_number=float(digits_only_number(70)))])
    body = upload(login_as("official"), content).get_json()
    assert body["rejected"] == 1
    (reason,) = body["rows"][0]["errors"]["id_number"]
    assert "format the column as text" in reason


def test_id_numbers_and_phones_held_as_whole_numbers_are_read_as_text(login_as, community):
    # Programs other than Excel may write all 18 digits of a number exactly.
    exact = digits_only_number(80)
    content = rewritten(
        workbook([row(community, id_number=0, phone=13800001111)]),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<v>0</v>", f"<v>{exact}</v>".encode(), 1),
    )
    assert importing.read_workbook(BytesIO(content))[0].cells["id_number"] == int(exact)
    body = upload(login_as("official"), content).get_json()
    assert body["accepted"] == 1, body
    assert body["rows"][0]["id_number_masked"] == mask_id_number(exact)


def too_many_rows(community):
    return workbook([row(community, id_number=number(i)) for i in range(1, 4)])


def no_sheet(community):
    return rewritten(
        workbook([row(community)]),
        "xl/workbook.xml",
        lambda xml: re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", xml),
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (lambda c: b"name,id_number\n", "not an .xlsx workbook"),
        (lambda c: b"", "The file is empty."),
        (lambda c: b"PK\x03\x04 broken zip", "not an .xlsx workbook"),
        (no_sheet, "The workbook has no sheet."),
        (lambda c: workbook([]), "no rows below its headers"),
        (
            lambda c: workbook([row(c)], CHINESE[:1] + CHINESE[2:]),
            "Missing columns: 身份证号 (id_number).",
        ),
        (lambda c: workbook([row(c)], [*CHINESE[:-1], "年龄"]), "Unknown column headers: 年龄."),
        (
            lambda c: workbook([row(c)], [*CHINESE, "name"]),
            "These columns appear twice: 姓名 (name).",
        ),
        (too_many_rows, "more than 2 rows"),
    ],
    ids=[
        "csv",
        "empty",
        "broken zip",
        "no sheet",
        "no rows",
        "missing column",
        "unknown column",
        "column twice",
        "too many rows",
    ],
)
def test_a_file_that_cannot_be_imported_is_a_422_naming_the_file(
    app, login_as, community, monkeypatch, content, reason
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 2)
    error = assert_error(upload(login_as("official"), content(community)), 422, "validation_error")
    assert list(error["fields"]) == ["file"]
    assert reason in error["fields"]["file"][0]


def test_a_file_too_large_is_refused_before_it_is_read(app, login_as, community, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_FILE_BYTES", 1000)
    error = assert_error(
        upload(login_as("official"), workbook([row(community)])), 422, "validation_error"
    )
    assert "larger than" in error["fields"]["file"][0]


def test_a_zip_that_unpacks_to_too_much_is_refused(app, login_as, community, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNPACKED_BYTES", 2000)
    error = assert_error(
        upload(login_as("official"), workbook([row(community)])), 422, "validation_error"
    )
    assert "unpacks to more than" in error["fields"]["file"][0]


def with_part(content: bytes, name: str, data: bytes) -> bytes:
    """The workbook with one more part, compressed as hard as zip can."""
    out = BytesIO(content)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def openpyxl_never_reads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the workbook was handed to openpyxl")

    monkeypatch.setattr(importing, "load_workbook", refuse)


def test_a_zip_bomb_is_refused_before_openpyxl_reads_it(
    login_as, district, community, openpyxl_never_reads
):
    # 30 MB of shared strings that compress to about 30 KB: the 223 KB file of the outside
    # check unpacked to 94 MB and held a worker for two minutes.
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    bomb = with_part(
        workbook([row(community)]), "xl/sharedStrings.xml", strings + b"<si><t>" + b"A" * 30_000_000
    )
    assert len(bomb) < 100_000
    before = names_in(district)
    error = assert_error(upload(login_as("official"), bomb), 422, "validation_error")
    assert error["fields"] == {
        "file": ["The workbook unpacks to more than 20 MB; split it into smaller files."]
    }
    assert names_in(district) == before


def understated(content: bytes, name: str, size: int) -> bytes:
    """The archive with `name`'s uncompressed size declared as `size`, in both its local
    header and the central directory, as a crafted file would lie."""
    data = bytearray(content)
    local = zipfile.ZipFile(BytesIO(content)).getinfo(name).header_offset
    struct.pack_into("<I", data, local + 22, size)
    central = data.find(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name.encode():
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, size)
    return bytes(data)


def test_a_part_that_lies_about_its_size_is_read_no_further_than_it_says(login_as, community):
    sheet = "xl/worksheets/sheet1.xml"
    padded = rewritten(
        workbook([row(community)]),
        sheet,
        lambda xml: xml.replace(b"?>", b"?><!--" + b"A" * 30_000_000 + b"-->", 1),
    )
    liar = understated(padded, sheet, 1000)
    error = assert_error(upload(login_as("official"), liar), 422, "validation_error")
    assert "not an .xlsx workbook" in error["fields"]["file"][0]


def test_a_part_that_expands_beyond_any_spreadsheet_is_refused(
    app, login_as, community, monkeypatch, openpyxl_never_reads
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNPACKED_BYTES", 100 * 1024 * 1024)
    bomb = with_part(workbook([row(community)]), "xl/sharedStrings.xml", b"\0" * 3_000_000)
    error = assert_error(upload(login_as("official"), bomb), 422, "validation_error")
    assert "more than 100 times its size" in error["fields"]["file"][0]


def test_a_large_sheet_compresses_as_sheets_do_and_passes_the_checks(app, db):
    # A sheet of 2 MB: larger than the parts judged by their ratio, compressed as Excel would.
    cells = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>老人{n * 7919 % 100_003}</t></is></c>'
        f'<c r="B{n}"><v>{13_800_000_000 + n * 7919 % 99_991}</v></c></row>'
        for n in range(2, 22_000)
    ).encode()
    assert len(cells) > 2 * 1024 * 1024
    content = with_part(b"", "xl/worksheets/sheet1.xml", cells)
    importing._check_archive(content, importing.Limits.configured())


class FakeTimer:
    """time.monotonic for the import's time budget: it moves only when the test says."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def timer(monkeypatch):
    fake = FakeTimer()
    monkeypatch.setattr(importing, "monotonic", fake)
    return fake


@pytest.fixture
def slow_registry(app, monkeypatch, timer):
    """Each chunk of rows takes 6 s of the fake timer, against a 10 s budget, in chunks of
    two: the third chunk finds the budget spent after four rows were registered."""
    monkeypatch.setitem(app.config, "IMPORT_TIME_BUDGET_S", 10)
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    register = services.register_elders
    chunks = []

    def slow(actor, batch):
        outcomes = register(actor, batch)
        chunks.append([elder.id for elder in outcomes])
        timer.now += 6
        return outcomes

    monkeypatch.setattr(services, "register_elders", slow)
    return chunks


def five_rows(community) -> bytes:
    return workbook([row(community, name=f"超时{n}", id_number=number(300 + n)) for n in range(5)])


def test_an_import_out_of_time_stops_with_a_422_and_nothing_imported(
    login_as, district, community, slow_registry
):
    before = names_in(district)
    error = assert_error(
        upload(login_as("official"), five_rows(community)), 422, "validation_error"
    )
    assert error["fields"] == {
        "file": [
            "The import took longer than 10 seconds and was stopped; nothing was imported."
            " Split the file into smaller files."
        ]
    }
    assert len(slow_registry) == 2 and all(slow_registry), "two chunks had been registered"
    assert names_in(district) == before


def test_on_the_page_an_import_out_of_time_says_so_and_leaves_nothing(
    page_official, district, community, slow_registry
):
    before = names_in(district)
    response = post_page(page_official, five_rows(community))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "导入用时超过 10 秒，已停止，未导入任何数据" in html
    assert 'data-testid="import-result"' not in html
    assert names_in(district) == before


def test_reading_a_sheet_counts_against_the_time_budget(app, db, community, monkeypatch, timer):
    monkeypatch.setitem(app.config, "IMPORT_TIME_BUDGET_S", 1)
    content = BytesIO(five_rows(community))
    real = importing.load_workbook

    def slow_to_open(*args, **kwargs):
        timer.now += 2
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "load_workbook", slow_to_open)
    with pytest.raises(importing.UnreadableWorkbook) as refused:
        importing.read_workbook(content)
    assert "longer than 1 seconds" in str(refused.value.reason)


def test_a_file_done_at_the_last_moment_of_its_budget_imports_whole(
    db, district, community, official, timer
):
    deadline = importing.Deadline(10)
    timer.now = 10
    rows = importing.read_workbook(BytesIO(five_rows(community)), deadline)
    outcome = importing.import_rows(official, rows, recorded_by="x", deadline=deadline)
    assert outcome["accepted"] == 5


# The registry's side: a file's rows cost a few queries, not a few each.


def test_an_import_of_many_rows_costs_a_few_statements(
    db, district, community, official, registered, statements
):
    rows = importing.read_workbook(
        BytesIO(
            workbook(
                [row(community, name=f"批量{n}", id_number=number(400 + n)) for n in range(60)]
                + [row(community, name="重复库中", id_number=REGISTERED_NUMBER)]
            )
        )
    )
    statements.clear()
    outcome = importing.import_rows(official, rows, recorded_by=official.username)
    assert (outcome["accepted"], outcome["rejected"]) == (60, 1)
    # The numbers, the communities, the district, and one savepoint around the inserts:
    # per file, not per row. (SQLite inserts row by row, in process; PostgreSQL in batches,
    # and names the audit's actor once per transaction with set_config.)
    others = [
        s
        for s in statements
        if not s.startswith("INSERT INTO elders") and not s.startswith("SELECT set_config(")
    ]
    assert len(others) <= 6, "\n".join(s[:60].replace("\n", " ") for s in others)
    assert 1 <= len(statements) - len(others) <= 60


def test_a_number_registered_meanwhile_refuses_only_its_row(
    db, district, community, official, monkeypatch
):
    # Another request registers a number between the look-up and the insert: the unique
    # index refuses the batch, and the rows are then added one at a time.
    late = number(501)
    factories.create_elder(district, community, name="刚登记", id_number=late)
    monkeypatch.setattr(services._Known, "__init__", forgetful_known(services._Known.__init__))
    batch = [
        registration(community, name="甲", id_number=number(502)),
        registration(community, name="乙", id_number=late),
        registration(community, name="丙", id_number=number(503)),
    ]
    first, second, third = services.register_elders(official, batch)
    assert isinstance(first, Elder) and isinstance(third, Elder)
    assert second.code == "duplicate_elder"
    assert names_in(district) >= {"甲", "丙"} and "乙" not in names_in(district)


def forgetful_known(init):
    def init_without_registered(self, actor, batch):
        init(self, actor, batch)
        self.registered.clear()

    return init_without_registered


def registration(community, **fields) -> dict:
    cells = row(community, **fields)
    body, reasons = importing.registration_of(
        cells, {"given_at": "2026-11-25T01:00:00+00:00", "recorded_by": "x"}
    )
    assert not reasons
    return importing._elder_in.load(body)


@pytest.mark.parametrize("consent", [None, "false", ""])
def test_without_confirmed_consent_nothing_is_imported(login_as, district, community, consent):
    before = names_in(district)
    response = upload(login_as("official"), workbook([row(community, name="未同意")]), consent)
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["consent_confirmed"]
    assert names_in(district) == before


def test_a_missing_file_and_consent_are_named_together(login_as):
    error = assert_error(upload(login_as("official"), None, None), 422, "validation_error")
    assert set(error["fields"]) == {"file", "consent_confirmed"}


def test_a_file_sent_as_text_is_refused(login_as):
    response = login_as("official").post(
        IMPORT, data={"file": "not a file", "consent_confirmed": "true"}
    )
    assert list(assert_error(response, 422, "validation_error")["fields"]) == ["file"]


@pytest.mark.parametrize("role", ["manager", "cashier", "family", "inspector"])
def test_only_officials_and_admins_import(login_as, community, role):
    assert_error(upload(login_as(role), workbook([row(community)])), 403, "forbidden")


def test_an_official_imports_only_into_their_own_district(login_as, district, community):
    elsewhere = factories.create_district()
    far = factories.create_community(elsewhere)
    content = workbook(
        [row(community, id_number=number(101)), row(far, name="外区老人", id_number=number(102))]
    )
    body = upload(login_as("official"), content).get_json()
    assert [r["status"] for r in body["rows"]] == ["accepted", "rejected"]
    assert body["rows"][1]["errors"] == {"hukou_district": ["No such district in your scope."]}
    assert names_in(elsewhere) == set()
    admin_body = upload(login_as("admin"), content).get_json()
    assert [r["status"] for r in admin_body["rows"]] == ["rejected", "accepted"]
    assert names_in(elsewhere) == {"外区老人"}


# The full number appears nowhere: not in the answer, the page or the logs.


def test_the_full_id_number_is_never_shown_or_logged(login_as, page_official, community, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    secret, bad = number(123, date(1946, 5, 17)), number(124)[:-1] + "X"
    content = workbook(
        [
            row(community, name="甲", id_number=secret),
            row(community, name="乙", id_number=secret),
            row(community, name="丙", id_number=bad),
        ]
    )
    api = upload(login_as("official"), content)
    page = post_page(page_official, content)
    for text in (api.get_data(as_text=True), page.get_data(as_text=True), caplog.text):
        assert secret[:17] not in text and bad[:17] not in text
        assert mask_id_number(secret) in text
    assert mask_id_number(secret) in caplog.text, "registrations are logged, masked"


# The page.


@pytest.fixture
def page_official(client, district):
    factories.create_user(
        "official", district=district, username="page-official", password="green-tea-42"
    )
    log_in(client, "page-official", "green-tea-42")
    return client


def post_page(client, content: bytes | None, consent: bool = True):
    data = {"csrf_token": page_token(client, "/elders/import")}
    if content is not None:
        data["file"] = (BytesIO(content), "老人名单.xlsx")
    if consent:
        data["consent"] = "y"
    return client.post("/elders/import", data=data, content_type="multipart/form-data")


def test_the_import_page_is_chinese_and_linked_for_officials(page_official):
    html = page_official.get("/elders/import").get_data(as_text=True)
    assert "<h1>导入老人</h1>" in html
    assert 'href="/elders"' in html, "the navigation links to the registry"
    registry = page_official.get("/elders").get_data(as_text=True)
    assert 'href="/elders/import"' in registry, "and the registry to the import"
    assert 'type="file"' in html and 'type="checkbox"' in html
    assert "/elders/import/template.xlsx" in html


def test_the_import_page_states_the_limits_of_a_file(app, page_official, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 1200)
    html = page_official.get("/elders/import").get_data(as_text=True)
    assert "每个文件最多 1200 行、5 MB" in html


def test_an_official_uploads_on_the_page_and_sees_each_row(
    page_official, district, community, registered
):
    response = post_page(page_official, workbook(mixed_rows(community)))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "成功导入：2" in html and "未导入：5" in html
    assert mask_id_number(number(11)) in html
    assert "身份证号：校验位不符" in html
    assert "姓名：此项必填" in html
    assert "身份证号：与本文件第 2 行的身份证号相同" in html
    assert names_in(district) >= {"王秀兰", "李桂英"}
    assert "checked" not in html, "the next file needs its own confirmation"


def test_the_page_speaks_english_after_the_switch(page_official, community):
    page_official.get("/lang/en")
    html = post_page(page_official, workbook([row(community, name=None)])).get_data(as_text=True)
    assert "Import elders" in html and "Rejected: 1" in html
    assert "name: Missing data for required field." in html


def test_the_page_names_a_missing_file_and_missing_consent(page_official):
    html = post_page(page_official, None, consent=False).get_data(as_text=True)
    assert "请选择要导入的 .xlsx 文件" in html
    assert "请先确认已取得书面知情同意" in html


def test_the_page_explains_a_file_it_cannot_read(page_official):
    html = post_page(page_official, b"not a spreadsheet").get_data(as_text=True)
    assert "不是可读取的 .xlsx 工作簿" in html
    assert 'data-testid="import-result"' not in html


def test_the_upload_is_refused_without_its_csrf_token(page_official, district, community):
    before = names_in(district)
    response = page_official.post(
        "/elders/import",
        data={"file": (BytesIO(workbook([row(community)])), "a.xlsx"), "consent": "y"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert names_in(district) == before


def test_staff_of_canteens_may_not_open_the_page_and_strangers_must_log_in(client, canteen):
    assert client.get("/elders/import").status_code == 302
    factories.create_user(
        "manager", canteen=canteen, username="page-manager", password="green-tea-42"
    )
    log_in(client, "page-manager", "green-tea-42")
    assert client.get("/elders/import").status_code == 403
    assert client.get("/elders/import/template.xlsx").status_code == 403
    assert 'href="/elders/import"' not in client.get("/canteens").get_data(as_text=True)


def test_the_template_has_chinese_headers_and_an_example_that_imports(
    page_official, district, community
):
    response = page_official.get("/elders/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(BytesIO(response.data), read_only=True)
    header, example = list(book.worksheets[0].iter_rows(values_only=True))[:2]
    book.close()
    assert list(header) == CHINESE
    assert example[CHINESE.index("户籍区划")] == district.code
    assert example[CHINESE.index("社区编码")] == community.code
    html = post_page(page_official, response.data).get_data(as_text=True)
    assert "成功导入：1" in html
