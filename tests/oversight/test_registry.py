"""Filing, grading and the blacklist: the services, the API and the page."""

from datetime import date

import pytest

from mealservice.core.errors import Conflict, ValidationFailed
from mealservice.places import registry
from mealservice.places.models import BlacklistEntry
from tests import factories
from tests.core.test_errors import assert_error
from tests.pages import browser_as, html_of, post_form


@pytest.fixture
def canteen(db, district):
    """A place as registered, before civil affairs have filed it."""
    return factories.create_canteen(district, filed=False)


# Filing


def test_filing_as_filed_records_number_and_date(db, canteen):
    registry.set_filing(None, canteen, "filed", " MZ-2026-001 ", date(2026, 3, 1))
    assert (canteen.filing_status, canteen.filing_number, canteen.filed_on) == (
        "filed",
        "MZ-2026-001",
        date(2026, 3, 1),
    )


@pytest.mark.parametrize(
    ("number", "day", "missing"),
    [
        (None, date(2026, 3, 1), {"filing_number"}),
        ("MZ-1", None, {"filed_on"}),
        ("  ", None, {"filing_number", "filed_on"}),
    ],  # fmt: skip
)
def test_filed_without_number_or_date_names_what_is_missing(db, canteen, number, day, missing):
    with pytest.raises(ValidationFailed) as refused:
        registry.set_filing(None, canteen, "filed", number, day)
    assert set(refused.value.fields) == missing
    assert canteen.filing_status == "not_filed"


def test_unknown_filing_status_is_refused(db, canteen):
    with pytest.raises(ValidationFailed) as refused:
        registry.set_filing(None, canteen, "pending")
    assert set(refused.value.fields) == {"status"}


def test_withdrawn_keeps_the_filing_withdrawn_and_not_filed_clears_it(db, canteen):
    registry.set_filing(None, canteen, "filed", "MZ-7", date(2026, 3, 1))
    registry.set_filing(None, canteen, "withdrawn")
    assert (canteen.filing_status, canteen.filing_number) == ("withdrawn", "MZ-7")
    registry.set_filing(None, canteen, "not_filed")
    assert (canteen.filing_number, canteen.filed_on) == (None, None)


# Grading


def test_grade_sets_the_operating_subsidy_when_given(db, canteen):
    registry.set_grade(None, canteen, 4, date(2026, 11, 1), 1_500_000)
    assert (canteen.grade, canteen.graded_on) == (4, date(2026, 11, 1))
    assert canteen.monthly_operating_subsidy_fen == 1_500_000
    registry.set_grade(None, canteen, 3, date(2026, 11, 20))
    assert canteen.grade == 3 and canteen.monthly_operating_subsidy_fen == 1_500_000


@pytest.mark.parametrize("grade", [0, 6, -1, True, "3", None, 2.5])
def test_grade_outside_one_to_five_is_refused(db, canteen, grade):
    with pytest.raises(ValidationFailed) as refused:
        registry.set_grade(None, canteen, grade, date(2026, 11, 1))
    assert set(refused.value.fields) == {"grade"}
    assert canteen.grade is None


@pytest.mark.parametrize("fen", [-1, 12.5, "100", True])
def test_operating_subsidy_must_be_whole_fen_not_negative(db, canteen, fen):
    with pytest.raises(ValidationFailed) as refused:
        registry.set_grade(None, canteen, 3, date(2026, 11, 1), fen)
    assert set(refused.value.fields) == {"operating_subsidy_fen"}


# The blacklist


def test_blacklisted_on_covers_the_days_of_an_entry_until_lifted(db, canteen):
    official = factories.create_user("official", district=canteen.district)
    entry = registry.add_to_blacklist(
        official, canteen, " 虚报就餐人次 ", date(2026, 11, 10), date(2026, 11, 20)
    )
    assert entry.reason == "虚报就餐人次" and entry.created_by == official.username
    assert registry.blacklisted_on(canteen.id, date(2026, 11, 9)) is None
    assert registry.blacklisted_on(canteen.id, date(2026, 11, 10)) == entry
    assert registry.blacklisted_on(canteen.id, date(2026, 11, 20)) == entry
    assert registry.blacklisted_on(canteen.id, date(2026, 11, 21)) is None
    registry.lift(official, entry)
    assert entry.lifted_by == official.username and entry.lifted_at is not None
    assert registry.blacklisted_on(canteen.id, date(2026, 11, 15)) is None


def test_open_ended_entry_lasts_until_lifted(db, canteen, district):
    registry.add_to_blacklist(None, canteen, "拒不整改", date(2026, 1, 1))
    assert registry.blacklisted_on(canteen.id, date(2030, 1, 1)) is not None
    other = factories.create_canteen(district)
    assert registry.blacklisted_on(other.id, date(2030, 1, 1)) is None


def test_lifting_twice_is_a_conflict(db, canteen):
    entry = registry.add_to_blacklist(None, canteen, "拒不整改", date(2026, 1, 1))
    registry.lift(None, entry)
    with pytest.raises(Conflict) as refused:
        registry.lift(None, entry)
    assert refused.value.code == "already_lifted"


def test_blacklist_needs_a_reason_and_dates_in_order(db, canteen):
    with pytest.raises(ValidationFailed) as refused:
        registry.add_to_blacklist(None, canteen, "  ", date(2026, 5, 2), date(2026, 5, 1))
    assert set(refused.value.fields) == {"reason", "ends_on"}
    assert db.session.query(BlacklistEntry).count() == 0


# The API


def test_official_files_grades_and_reads_the_register(login_as, canteen):
    official = login_as("official")
    base = f"/api/v1/canteens/{canteen.id}"
    response = official.put(
        f"{base}/filing",
        json={"status": "filed", "filing_number": "MZ-9", "filed_on": "2026-02-01"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["filing"] == {
        "status": "filed",
        "filing_number": "MZ-9",
        "filed_on": "2026-02-01",
    }
    response = official.put(
        f"{base}/grade",
        json={"grade": 5, "graded_on": "2026-11-01", "operating_subsidy_fen": 2_000_000},
    )
    body = response.get_json()
    assert body["grade"] == {"grade": 5, "graded_on": "2026-11-01"}
    assert body["monthly_operating_subsidy_fen"] == 2_000_000
    read = official.get(f"{base}/oversight").get_json()
    assert read["filing"]["filing_number"] == "MZ-9" and read["grade"]["grade"] == 5
    assert read["blacklisted"] is False and read["blacklist"] == []


def test_api_refusals_name_the_field(login_as, canteen):
    official = login_as("official")
    base = f"/api/v1/canteens/{canteen.id}"
    error = assert_error(
        official.put(f"{base}/filing", json={"status": "filed", "filed_on": "2026-02-01"}),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"filing_number"}
    error = assert_error(
        official.put(f"{base}/grade", json={"grade": 6, "graded_on": "2026-11-01"}),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"grade"}
    error = assert_error(
        official.post(
            f"{base}/blacklist",
            json={"reason": "x", "starts_on": "2026-11-02", "ends_on": "2026-11-01"},
        ),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"ends_on"}


def test_blacklist_entry_is_created_shown_and_lifted_once(login_as, canteen):
    official = login_as("official")
    response = official.post(
        f"/api/v1/canteens/{canteen.id}/blacklist",
        json={"reason": "虚报就餐人次", "starts_on": "2026-11-01"},
    )
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry["in_force"] is True and entry["ends_on"] is None
    manager = login_as("manager")
    read = manager.get(f"/api/v1/canteens/{canteen.id}/oversight").get_json()
    assert read["blacklisted"] is True and [e["id"] for e in read["blacklist"]] == [entry["id"]]
    lifted = official.post(f"/api/v1/blacklist/{entry['id']}/lift")
    assert lifted.status_code == 200 and lifted.get_json()["in_force"] is False
    assert lifted.get_json()["lifted_by"] == official.user.username
    assert_error(official.post(f"/api/v1/blacklist/{entry['id']}/lift"), 409, "already_lifted")


def test_manager_reads_but_may_not_change_the_register(db, login_as, canteen):
    manager = login_as("manager")
    assert manager.get(f"/api/v1/canteens/{canteen.id}/oversight").status_code == 200
    assert_error(
        manager.put(f"/api/v1/canteens/{canteen.id}/grade", json={"grade": 5}), 403, "forbidden"
    )
    entry = registry.add_to_blacklist(None, canteen, "拒不整改", date(2026, 1, 1))
    db.session.commit()
    assert_error(manager.post(f"/api/v1/blacklist/{entry.id}/lift"), 403, "forbidden")


def test_another_districts_register_and_entries_are_not_found(db, login_as):
    elsewhere = factories.create_district()
    far = factories.create_canteen(elsewhere)
    entry = registry.add_to_blacklist(None, far, "拒不整改", date(2026, 1, 1))
    db.session.commit()
    official = login_as("official")
    assert_error(official.get(f"/api/v1/canteens/{far.id}/oversight"), 404, "not_found")
    assert_error(official.post(f"/api/v1/blacklist/{entry.id}/lift"), 404, "not_found")


# The page


def test_official_page_files_grades_and_blacklists(app, db, district, canteen):
    browser = browser_as(app, "official", district=district)
    page = f"/canteens/{canteen.id}/oversight"
    assert 'data-testid="filing-form"' in html_of(browser.get(page))
    response = post_form(
        browser,
        f"{page}/filing",
        {"status": "filed", "filing_number": "MZ-42", "filed_on": "2026-03-01"},
        page,
    )
    assert response.status_code == 302
    response = post_form(
        browser,
        f"{page}/grade",
        {"grade": "4", "graded_on": "2026-11-01", "operating_subsidy": "12,000"},
        page,
    )
    assert response.status_code == 422
    assert "Monthly operating subsidy" in html_of(response)
    response = post_form(
        browser,
        f"{page}/grade",
        {"grade": "4", "graded_on": "2026-11-01", "operating_subsidy": "12000.50"},
        page,
    )
    assert response.status_code == 302
    assert canteen.grade == 4 and canteen.monthly_operating_subsidy_fen == 1_200_050
    response = post_form(
        browser, f"{page}/blacklist", {"reason": "虚报", "starts_on": "2026-11-01"}, page
    )
    assert response.status_code == 302
    html = html_of(browser.get(page))
    assert "MZ-42" in html and "¥12,000.50" in html and 'data-testid="blacklisted"' in html
    entry = db.session.query(BlacklistEntry).one()
    response = post_form(browser, f"{page}/blacklist/{entry.id}/lift", {}, page)
    assert response.status_code == 302 and entry.lifted_at is not None


def test_filing_refusal_is_a_sentence_on_the_page(app, db, district, canteen):
    browser = browser_as(app, "official", district=district)
    page = f"/canteens/{canteen.id}/oversight"
    response = post_form(browser, f"{page}/filing", {"status": "filed"}, page)
    assert response.status_code == 422
    html = html_of(response)
    assert 'data-testid="filing-error"' in html and "Filing number" in html


def test_manager_page_is_read_only_and_other_roles_are_refused(app, db, district, canteen):
    manager = browser_as(app, "manager", canteen=canteen)
    html = html_of(manager.get(f"/canteens/{canteen.id}/oversight"))
    assert 'data-testid="register"' in html
    assert "filing-form" not in html and "grade-form" not in html and "blacklist-form" not in html
    cashier = browser_as(app, "cashier", canteen=canteen)
    assert cashier.get(f"/canteens/{canteen.id}/oversight").status_code == 403
