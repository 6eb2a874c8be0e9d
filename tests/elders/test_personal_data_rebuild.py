"""No role can rebuild an elder's ID number (API.md, "Personal data"; PIPL art. 6).

"Rebuilt" means narrowed to fewer than 100 candidates from what one role can read. One
elder whose number the test knows is put in a small world (meals on three days, a claim
with its workbook and a drawn check, orders, a volunteer run, a welfare alert, a card);
then, for every role, every GET operation of the OpenAPI document (so a new endpoint is
walked without anyone adding it here) and every page is read, the elder import's answer
too for those who may import, and what the texts tell about the number is counted by
`count_candidates`. The log lines written on the way are read the same way.

Besides the count, a text fails outright if it holds the full number, its eight birth-date
digits (or the birth date in any usual form) or its first six digits as the start of a
number (before a mask's stars or the birth year: the six digits alone are the district's
code, which the count takes as known anyway)."""

import contextlib
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import BytesIO
from types import SimpleNamespace

import pytest

from mealservice.claims.models import SampleCheck
from mealservice.core.db import db as _db
from mealservice.core.idnumber import age_on, make_id_number, mask_id_number
from mealservice.delivery.services import make_runs, report_no_answer
from mealservice.meals.orders import place_order
from mealservice.oversight.services.inspections import draw_inspections
from tests import factories
from tests.conftest import ApiClient
from tests.core.test_pages import log_in
from tests.elders.test_elder_import import row, upload, workbook

# Fewer candidates than this and the number counts as rebuilt (API.md).
REBUILT_BELOW = 100
# Where a region code is not known, the codes it may be: China has some 2,800 county-level
# codes; 100 is the contract's floor for "any other code", so the count never overstates.
OTHER_REGIONS = 100
OLDEST_BIRTH_DATE = date(1880, 1, 1)  # as normalise_id_number allows


@dataclass
class Readable:
    """What one reader can read about one elder's ID number."""

    masks: set[str] = field(default_factory=set)  # 18 characters, * where hidden
    region_codes: set[str] = field(default_factory=set)  # hukou district codes shown
    hukou: set[str] = field(default_factory=set)  # "local" / "elsewhere"
    birth_dates: set[date] = field(default_factory=set)
    ages: set[int] = field(default_factory=set)  # each as of `today`


def count_candidates(seen: Readable, *, district_code: str, today: date) -> int:
    """How many ID numbers are consistent with what was read, counted as the contract
    counts: region codes × birth dates × sequence digits still unknown.

    - Shown characters: every mask read, together (a character is known where any mask
      shows it).
    - Region (characters 1-6): one code when a code is shown as the elder's hukou
      district, when the hukou is "local" (the viewing district's code) or when all six
      characters are shown; otherwise at least OTHER_REGIONS ("elsewhere", or unknown),
      or 10 per hidden character where some are shown, whichever is fewer.
    - Birth date (7-14): the dates of birth read, if any; else every date from 1880 to
      today on which the elder would be each age read today (about 365 for one age; none
      when two different ages are read, which is a leak the count reports as 0); and
      only those matching the characters shown.
    - Sequence (15-17): 10 for each of these characters not shown.

    The 18th character is a check character (mod 11 over the first 17): where it is shown
    it keeps only about one candidate in 11, so an honest count of what a determined
    reader could narrow to is this figure / 11. The contract counts without it (and so
    does this function): last four + exact age + local gives about 365, i.e. some 33
    numbers once the check character is used. That is for the district to weigh."""
    shown = [None] * 18
    for mask in seen.masks:
        for i, character in enumerate(mask):
            if character != "*":
                shown[i] = character

    def fits(text: str, start: int) -> bool:
        return all(shown[start + i] in (None, c) for i, c in enumerate(text))

    codes = set(seen.region_codes)
    if "local" in seen.hukou:
        codes.add(district_code)
    if codes:
        regions = sum(1 for code in codes if fits(code, 0))
    elif None not in shown[:6]:
        regions = 1
    else:
        regions = min(OTHER_REGIONS, 10 ** shown[:6].count(None))

    if seen.birth_dates:
        candidates_dates = seen.birth_dates
    else:
        candidates_dates = (
            OLDEST_BIRTH_DATE + timedelta(days=n)
            for n in range((today - OLDEST_BIRTH_DATE).days + 1)
        )
    dates = sum(
        1
        for born in candidates_dates
        if all(age_on(born, today) == age for age in seen.ages) and fits(f"{born:%Y%m%d}", 6)
    )
    sequences = 10 ** shown[14:17].count(None)
    return regions * dates * sequences


# The count on its own.

BIRTH_DATE = date(1944, 11, 25)
NUMBER = make_id_number("330106", BIRTH_DATE, 123)
TODAY = date(2026, 11, 25)  # the default test clock's date: the elder turns 82 today


def test_the_old_mask_with_the_birth_date_and_hukou_district_gives_the_number_away():
    """What the outside check read from a manager's GET /api/v1/elders/{id}."""
    seen = Readable(
        masks={NUMBER[:4] + "*" * 10 + NUMBER[-4:]},
        region_codes={"330106"},
        birth_dates={date(1944, 11, 25)},
        ages={82},
    )
    assert count_candidates(seen, district_code="330106", today=TODAY) == 1


def test_last_four_exact_age_and_local_leave_a_years_worth_of_birth_dates():
    seen = Readable(masks={mask_id_number(NUMBER)}, hukou={"local"}, ages={82})
    # Born 1943-11-26 to 1944-11-25, 29 February 1944 included.
    assert count_candidates(seen, district_code="330106", today=TODAY) == 366


def test_a_shown_birth_date_character_narrows_the_dates():
    seen = Readable(masks={"*" * 13 + NUMBER[13:]}, hukou={"local"}, ages={82})
    # The day's last digit (5) leaves the 5th, 15th and 25th of each month: 36 dates.
    assert count_candidates(seen, district_code="330106", today=TODAY) == 36


def test_elsewhere_or_no_hukou_counts_at_least_the_floor_of_regions():
    seen = Readable(masks={mask_id_number(NUMBER)}, hukou={"elsewhere"}, ages={82})
    assert count_candidates(seen, district_code="330106", today=TODAY) == 100 * 366


def test_two_different_ages_read_today_are_counted_as_a_leak():
    seen = Readable(masks={mask_id_number(NUMBER)}, hukou={"local"}, ages={81, 82})
    assert count_candidates(seen, district_code="330106", today=TODAY) == 0


def test_hidden_sequence_digits_multiply():
    seen = Readable(masks={"*" * 16 + NUMBER[-2:]}, hukou={"local"}, ages={82})
    assert count_candidates(seen, district_code="330106", today=TODAY) == 366 * 100


# The walk.

ROLES = ("admin", "official", "manager", "cashier", "family", "elder", "volunteer", "inspector")
PASSWORD = "correct-horse-9"  # the factories' default
BIRTH_FORMS = (
    NUMBER[6:14],
    "1944-11-25",
    "1944/11/25",
    "1944.11.25",
    "1944年11月25日",
    "25/11/1944",
)
MASK = re.compile(r"(?<![0-9A-Za-z*])[0-9Xx*]{18}(?![0-9A-Za-z*])")
# An age on a page ("82岁", "82 years old"); not a tier's threshold ("80岁以上", "80+").
AGE_IN_TEXT = re.compile(r"(?<![0-9])(\d{1,3})\s?(?:岁(?!以上|及以上)|years? old)")
# The first six digits as the start of this number: before a mask's stars or before the
# birth year. The six digits alone are the district's code, public and on every official
# page (and community codes begin with them): that the region is known is counted instead.
REGION_PREFIX = re.compile(rf"(?<![0-9]){NUMBER[:6]}(?:\*|{NUMBER[6:10]})")


@pytest.fixture
def world(db, now, caplog):
    """The one elder with a known number, and something of every kind that carries them."""
    caplog.set_level(logging.DEBUG, logger="mealservice")
    # Making the app runs the migrations, whose logging setup (alembic's fileConfig) takes
    # the root logger's handlers away, pytest's capture of this setup included.
    if caplog.handler not in logging.getLogger().handlers:
        logging.getLogger().addHandler(caplog.handler)
    district = factories.create_district("330106", name="西湖区")
    canteen = factories.create_canteen(district)
    factories.create_policy(district)
    target = factories.create_elder(district, canteen.community, id_number=NUMBER, name="王秀英")
    card = factories.create_card(target)
    standing = factories.create_standing_order(canteen, target, slot="dinner")
    now.move_to("2026-10-15T12:00:00+08:00")
    october_meal = factories.create_meal(canteen, target)
    now.move_to("2026-11-24T12:00:00+08:00")
    yesterday_meal = factories.create_meal(canteen, target)
    now.move_to("2026-11-25T10:00:00+08:00")
    today_meal = factories.create_meal(canteen, target, "breakfast")
    claim = factories.create_claim(canteen)
    check = SampleCheck(claim_id=claim.id, meal_id=october_meal.id, drawn_by="factory-official")
    _db.session.add(check)
    lunch_order = factories.create_order(canteen, target)
    tomorrow = lunch_order.date
    dinner = factories.create_menu(canteen, tomorrow, "dinner")
    dinner_order = place_order(
        None,
        {
            "elder_id": target.id,
            "menu_id": dinner.id,
            "option_id": dinner.options[0].id,
            "channel": "delivery",
        },
    )
    volunteer = factories.create_user("volunteer", canteen=canteen)
    boss = SimpleNamespace(username="factory-manager", role="manager", canteen_id=canteen.id)
    factories.close_ordering(canteen, tomorrow)
    factories.close_ordering(canteen, tomorrow, "dinner")
    [lunch_run] = make_runs(boss, canteen, tomorrow, "lunch", "volunteer", volunteer.id)
    make_runs(boss, canteen, tomorrow, "dinner", "volunteer", volunteer.id)
    report_no_answer(volunteer, dinner_order)
    inspector = factories.create_user("inspector", district=district)
    _db.session.commit()
    draw_inspections(None, district, 1)
    _db.session.commit()
    users = {
        role: factories.create_user(role, district=district, canteen=canteen, elders=[target])
        for role in ROLES
        if role not in ("volunteer", "inspector")
    }
    users |= {"volunteer": volunteer, "inspector": inspector}
    path_values = {
        "canteen_id": canteen.id,
        "elder_id": target.id,
        "card_id": card.id,
        "claim_id": claim.id,
        "meal_id": yesterday_meal.id,
        "order_id": lunch_order.id,
        "run_id": lunch_run.id,
        "standing_order_id": standing.id,
        "menu_id": lunch_order.menu_id,
        "code": district.code,
        "community_code": canteen.community.code,
        "user_id": users["family"].id,
    }
    query_values = {
        "canteen_id": canteen.id,
        "canteen": canteen.id,
        "elder_id": target.id,
        "elder": target.id,
        "district": district.code,
        "month": "2026-10",
        "date": tomorrow.isoformat(),
        "slot": "lunch",
        "channel": "delivery",
        "name": target.name,
        "phone_last4": target.phone_last4,
        "run": lunch_run.id,
        "menu": lunch_order.menu_id,
        "option": lunch_order.option_id,
        "all": "1",
    }
    assert {october_meal.date, yesterday_meal.date, today_meal.date} == {
        date(2026, 10, 15),
        date(2026, 11, 24),
        date(2026, 11, 25),
    }
    return SimpleNamespace(
        district=district,
        target=target,
        users=users,
        path_values=path_values,
        query_values=query_values,
        today=district.local_today(),
    )


def texts_of(response) -> list[str]:
    """What a reader sees in an answer: the text, or the text parts of a workbook."""
    data = response.get_data()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(BytesIO(data)) as book:
            return [book.read(name).decode() for name in book.namelist() if name.endswith("xml")]
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return []  # a card's QR image: its payload holds no personal data (cards tests)
    if response.is_json:
        # As a reader's program sees it: "王" rather than "\\u738b".
        return [json.dumps(response.get_json(), ensure_ascii=False)]
    return [data.decode("utf-8", "replace")]


def fill(path: str, values: dict) -> str | None:
    names = re.findall(r"[{<](?:[a-z]+:)?([a-z_]+)[}>]", path)
    if any(name not in values for name in names):
        return None
    return re.sub(r"[{<](?:[a-z]+:)?([a-z_]+)[}>]", lambda m: str(values[m[1]]), path)


def api_reads(client, world) -> list:
    """Every GET operation of the OpenAPI document: with its required query parameters,
    then with every parameter the world can fill."""
    document = client.get("/api/v1/openapi.json").get_json()
    responses = []
    for path, operations in sorted(document["paths"].items()):
        if "get" not in operations:
            continue
        url = fill(path, world.path_values)
        assert url is not None, f"the world has no value for a parameter of {path}"
        parameters = operations["get"].get("parameters", []) + operations.get("parameters", [])
        query = [p for p in parameters if p["in"] == "query"]
        required = {p["name"]: world.query_values.get(p["name"]) for p in query if p["required"]}
        assert None not in required.values(), f"the world cannot fill {path}'s query"
        known = {
            p["name"]: world.query_values[p["name"]]
            for p in query
            if p["name"] in world.query_values
        }
        for arguments in (required, known):
            responses.append(client.get(url, query_string=arguments))
    return responses


def page_reads(app, client, world) -> list:
    """Every page (GET rule outside the API), bare and with every argument it might read."""
    responses = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        skipped = rule.rule.startswith(("/api/", "/static/", "/lang/")) or rule.rule == "/login"
        if "GET" not in rule.methods or skipped:
            continue
        url = fill(rule.rule, world.path_values)
        assert url is not None, f"the world has no value for a parameter of {rule.rule}"
        responses.append(client.get(url))
        responses.append(client.get(url, query_string=world.query_values))
    return responses


def import_reads(app, world, role: str) -> list:
    """The import's answer for a row holding the number (already registered: refused)."""
    client = ApiClient(app.test_client(), factories.token_for(world.users[role]))
    place = world.target.community
    content = workbook([row(place, id_number=NUMBER, name="重复登记")])
    return [upload(client, content)]


def read_json(value, seen: Readable) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "age" and isinstance(item, int):
                seen.ages.add(item)
            elif key == "hukou" and isinstance(item, str):
                seen.hukou.add(item)
            elif key == "hukou_district" and isinstance(item, str):
                seen.region_codes.add(item)
            elif key in ("birth_date", "born", "date_of_birth") and isinstance(item, str):
                seen.birth_dates.add(date.fromisoformat(item))
            else:
                read_json(item, seen)
    elif isinstance(value, list):
        for item in value:
            read_json(item, seen)


def read_text(text: str, seen: Readable) -> list[str]:
    """Add what the text tells to `seen`; the outright leaks found in it."""
    leaks = []
    if NUMBER in text or NUMBER[:17] in text:
        leaks.append("the full number")
    leaks += [f"the birth date ({form})" for form in BIRTH_FORMS if form in text]
    if REGION_PREFIX.search(text):
        leaks.append("the first six digits as the start of a number")
    seen.masks |= {m.upper() for m in MASK.findall(text) if "*" in m}
    seen.ages |= {int(age) for age in AGE_IN_TEXT.findall(text)}
    if any(form in text for form in BIRTH_FORMS):
        seen.birth_dates.add(BIRTH_DATE)
    with contextlib.suppress(ValueError):  # not JSON: a page, a workbook, the logs
        read_json(json.loads(text), seen)
    return leaks


def reader_of(role: str, app, world):
    client = app.test_client()
    log_in(client, world.users[role].username, PASSWORD)
    client.get("/lang/en")
    return client


@pytest.mark.parametrize("role", ROLES)
def test_no_role_can_rebuild_an_elders_id_number(app, world, role, caplog):
    caplog.set_level(logging.DEBUG, logger="mealservice")
    client = reader_of(role, app, world)
    responses = api_reads(client, world) + page_reads(app, client, world)
    if role in ("admin", "official"):
        responses += import_reads(app, world, role)
    seen, leaks = Readable(), {}
    texts = [text for response in responses for text in texts_of(response)]
    for response, text in ((r, t) for r in responses for t in texts_of(r)):
        for leak in read_text(text, seen):
            leaks.setdefault(leak, response.request.url if response.request else "?")
    assert not leaks, f"{role} reads {leaks}"

    # The walk reached the elder: what each role is meant to see, it saw.
    everything = "\n".join(texts)
    if role != "inspector":
        assert world.target.name in everything, f"{role} never read the elder"
    if role in ("admin", "official", "manager", "cashier", "family", "elder"):
        assert 82 in seen.ages, (role, seen.ages)  # any other age: the count says 0
    if role in ("admin", "official", "manager", "cashier"):
        assert seen.masks == {mask_id_number(NUMBER)}, (role, seen.masks)
    assert seen.region_codes <= ({world.district.code} if role == "admin" else set()), role
    assert seen.hukou <= {"local"}

    # Whoever reads the elder at all knows the district: staff see only their district's
    # elders, family know where their elder lives. So the region counts as known.
    seen.hukou.add("local")
    found = count_candidates(seen, district_code=world.district.code, today=world.today)
    assert found >= REBUILT_BELOW, f"{role} narrows the number to {found} candidates: {seen}"

    # The log lines written while the world was built and read are read the same way.
    records = caplog.get_records("setup") + caplog.get_records("call")
    logs = "\n".join(record.getMessage() for record in records)
    assert "registered elder" in logs, "the registration's log line was read"
    logged = Readable(hukou={"local"})
    assert not read_text(logs, logged), logs
    found = count_candidates(logged, district_code=world.district.code, today=world.today)
    assert found >= REBUILT_BELOW, f"the logs narrow the number to {found}: {logged}"
