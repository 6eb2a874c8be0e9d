"""The personal-data access log: staff reading an elder's record from outside the elder's
district are logged, and the log is reviewed in each reviewer's scope."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from mealservice.core.clock import utcnow
from mealservice.core.db import db as _db
from mealservice.elders.access import record_access, record_reads
from mealservice.elders.models import Access, AccessLogEntry
from tests import factories
from tests.core.test_errors import assert_error
from tests.pages import browser_as, html_of


def entries(elder=None) -> list[AccessLogEntry]:
    query = select(AccessLogEntry).order_by(AccessLogEntry.id)
    if elder is not None:
        query = query.where(AccessLogEntry.elder_id == elder.id)
    return list(_db.session.scalars(query))


# Recording reads


def test_an_administrators_read_of_a_record_is_logged(login_as, elder):
    admin = login_as("admin")

    assert admin.get(f"/api/v1/elders/{elder.id}").status_code == 200

    [entry] = entries(elder)
    assert (entry.username, entry.role, entry.action) == (
        admin.user.username,
        "admin",
        "record_read",
    )
    assert entry.district_code == elder.hukou_district
    assert entry.canteen_id is None
    assert entry.reason


def test_an_administrators_list_logs_every_elder_on_the_page(login_as, district, canteen, elder):
    second = factories.create_elder(district, canteen.community)

    body = login_as("admin").get("/api/v1/elders?per_page=200").get_json()

    listed = {item["id"] for item in body["items"]}
    assert {elder.id, second.id} <= listed
    logged = {e.elder_id for e in entries() if e.action == Access.RECORD_READ}
    assert logged == listed


@pytest.mark.parametrize("role", ["official", "manager"])
def test_staff_reading_their_own_districts_elders_are_not_logged(login_as, elder, role):
    client = login_as(role)

    assert client.get(f"/api/v1/elders/{elder.id}").status_code == 200
    assert client.get("/api/v1/elders").status_code == 200

    assert entries(elder) == []


@pytest.mark.parametrize("role", ["family", "elder"])
def test_family_reading_their_own_elders_are_not_logged(login_as, elder, role):
    client = login_as(role)

    assert client.get(f"/api/v1/elders/{elder.id}").status_code == 200
    assert client.get("/api/v1/elders").status_code == 200

    assert entries(elder) == []


def test_a_read_refused_is_not_logged(login_as, elder):
    official = login_as("official", district=factories.create_district())

    assert official.get(f"/api/v1/elders/{elder.id}").status_code == 404

    assert entries(elder) == []


def test_reads_from_outside_the_district_are_logged_for_every_staff_role(db, district, elder):
    elsewhere = factories.create_district()
    for role in ("official", "manager", "cashier", "volunteer", "inspector"):
        reader = SimpleNamespace(username=f"{role}-x", role=role, district_code=elsewhere.code)
        record_reads(reader, [elder], "test")
    own = SimpleNamespace(username="own", role="official", district_code=district.code)
    record_reads(own, [elder], "test")
    family = SimpleNamespace(username="fam", role="family", district_code=None)
    record_reads(family, [elder], "test")
    _db.session.flush()

    assert [e.role for e in entries(elder)] == [
        "official",
        "manager",
        "cashier",
        "volunteer",
        "inspector",
    ]


# Reviewing the log


@pytest.fixture
def log(district, canteen, elder):
    """A counter look-up at the test canteen, one at another canteen of the district, an
    administrator's read of the elder, and a look-up in another district."""
    other = factories.create_canteen(district)
    elsewhere = factories.create_district()
    far_canteen = factories.create_canteen(elsewhere)
    far_elder = factories.create_elder(elsewhere, far_canteen.community)
    cashier = SimpleNamespace(username="cashier-a", role="cashier")
    made = {
        "here": record_access(cashier, canteen, [elder.id], Access.COUNTER_LOOKUP, "no card")[0],
        "other": record_access(
            SimpleNamespace(username="cashier-b", role="cashier"),
            other,
            [],
            Access.COUNTER_LOOKUP,
            "no card",
        )[0],
        "read": record_reads(
            SimpleNamespace(username="admin-a", role="admin", district_code=None),
            [elder],
            "elder record (API)",
        )[0],
        "far": record_access(cashier, far_canteen, [far_elder.id], Access.CARDLESS_SCAN, "x")[0],
    }
    start = utcnow() - timedelta(hours=1)
    for n, entry in enumerate(made.values()):
        entry.at = start + timedelta(minutes=n)
    _db.session.commit()
    return made


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def test_an_administrator_sees_every_entry_newest_first(login_as, log):
    got = ids(login_as("admin").get("/api/v1/access-log"))

    assert got == [log[k].id for k in ("far", "read", "other", "here")]


def test_an_official_sees_their_districts_entries(login_as, log):
    got = ids(login_as("official").get("/api/v1/access-log"))

    assert got == [log[k].id for k in ("read", "other", "here")]


def test_a_manager_sees_their_canteens_entries(login_as, log):
    got = ids(login_as("manager").get("/api/v1/access-log"))

    assert got == [log["here"].id]


def test_the_log_is_filtered_by_user_and_by_elder(login_as, elder, log):
    admin = login_as("admin")

    assert ids(admin.get("/api/v1/access-log?username=cashier-a")) == [
        log["far"].id,
        log["here"].id,
    ]
    assert ids(admin.get(f"/api/v1/access-log?elder_id={elder.id}")) == [
        log["read"].id,
        log["here"].id,
    ]


def test_entries_carry_the_elders_masked_name(login_as, elder, log):
    items = login_as("official").get("/api/v1/access-log").get_json()["items"]

    by_id = {item["id"]: item for item in items}
    here = by_id[log["here"].id]
    assert here["elder_id"] == elder.id
    assert here["elder_name"] != elder.name
    assert here["elder_name"][0] == elder.name[0] and "*" in here["elder_name"]
    assert here["action"] == "counter_lookup"
    assert by_id[log["other"].id]["elder_name"] is None


def test_the_log_is_paged(login_as, log):
    admin = login_as("admin")

    first = admin.get("/api/v1/access-log?per_page=3").get_json()
    second = admin.get("/api/v1/access-log?per_page=3&page=2").get_json()

    assert (len(first["items"]), first["next"]) == (3, 2)
    assert (len(second["items"]), second["next"]) == (1, None)


@pytest.mark.parametrize("query", ["?elder_id=abc", "?elder_id=0", "?per_page=1000"])
def test_bad_filters_are_refused(login_as, query):
    response = login_as("admin").get(f"/api/v1/access-log{query}")

    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("role", ["cashier", "family", "elder", "volunteer", "inspector"])
def test_other_roles_may_not_read_the_log(login_as, role):
    assert_error(login_as(role).get("/api/v1/access-log"), 403, "forbidden")


# The page


def test_the_page_lists_an_officials_entries(app, district, elder, log):
    browser = browser_as(app, "official", district=district)

    html = html_of(browser.get("/access-log"))

    assert f'data-testid="entry-{log["here"].id}"' in html
    assert f'data-testid="entry-{log["read"].id}"' in html
    assert f'data-testid="entry-{log["far"].id}"' not in html
    assert "Looked up at the counter" in html
    assert "record from outside the district" in html
    assert "cashier-a" in html
    assert elder.name not in html
    assert html.index(f'entry-{log["read"].id}"') < html.index(f'entry-{log["here"].id}"')


def test_the_page_filters_by_elder(app, district, elder, log):
    browser = browser_as(app, "admin")

    html = html_of(browser.get(f"/access-log?elder_id={elder.id}"))

    assert f'data-testid="entry-{log["here"].id}"' in html
    assert f'data-testid="entry-{log["far"].id}"' not in html
    assert 'data-testid="access-log-error"' in html_of(browser.get("/access-log?elder_id=x"))


def test_the_page_shows_a_manager_their_canteen(app, canteen, log):
    browser = browser_as(app, "manager", canteen=canteen)

    html = html_of(browser.get("/access-log"))

    assert f'data-testid="entry-{log["here"].id}"' in html
    assert f'data-testid="entry-{log["other"].id}"' not in html


def test_the_page_refuses_a_cashier(app, canteen):
    assert browser_as(app, "cashier", canteen=canteen).get("/access-log").status_code == 403
