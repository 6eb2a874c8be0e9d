"""Queued offline scans the service refused: kept, reported twice as once, listed, and
resolved only by a person — retried through the scan itself, or dismissed with a reason."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mealservice.core.clock import utcnow
from mealservice.core.errors import ApiError
from mealservice.counter.models import RefusedScan
from mealservice.counter.services import (
    dismiss_refused_scan,
    open_refused_scans,
    report_refused_scan,
    retry_refused_scan,
)
from mealservice.elders.cards import payload_of
from mealservice.meals.models import Meal
from mealservice.oversight.models import AuditEntry
from mealservice.oversight.services.audit_log import audit_log_query
from tests import factories
from tests.core.test_errors import assert_error
from tests.meals.test_scans import scans_url
from tests.pages import browser_as, html_of

CASHIER = SimpleNamespace(username="cashier-li", role="cashier")
MANAGER = SimpleNamespace(username="manager-wang", role="manager")


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def card(elder):
    return factories.create_card(elder)


@pytest.fixture
def cashier(login_as):
    return login_as("cashier")


@pytest.fixture
def manager(login_as):
    return login_as("manager")


def queued_at(minutes_ago: int = 30) -> str:
    return (utcnow() - timedelta(minutes=minutes_ago)).isoformat()


def queued_scan(card, minutes_ago: int = 30) -> dict:
    """A good card's scan queued offline with no slot: what the page sent before offline
    scans took the nearest window, refused then with 422 fields.slot."""
    return {"qr_payload": payload_of(card), "scanned_at": queued_at(minutes_ago)}


def report_body(scan: dict, key: str = "queued-0001", code: str = "card_invalid", **fields):
    return {
        "key": key,
        "label": "王秀英",
        "scan": scan,
        "error": {"code": code, "message": "Not a valid elder card: bad signature."},
        **fields,
    }


def refused_url(canteen) -> str:
    return f"/api/v1/canteens/{canteen.id}/refused-scans"


def stored(db, refused_id: int) -> RefusedScan:
    db.session.expire_all()
    return db.session.get(RefusedScan, refused_id)


# --- the rules, without HTTP -------------------------------------------------------------


def test_a_refused_scan_is_kept_open_and_a_second_report_of_its_key_changes_nothing(db, canteen):
    scan = {"qr_payload": "MS1:ABCDEF", "scanned_at": queued_at()}
    data = {**report_body(scan), "scanned_at": utcnow() - timedelta(minutes=30)}
    first, made = report_refused_scan(CASHIER, canteen, data)
    assert made and first.resolved_at is None and first.scan == scan
    again, made_again = report_refused_scan(
        MANAGER, canteen, {**data, "label": "another", "error": {"code": "month_closed"}}
    )
    assert not made_again and again.id == first.id
    assert (again.label, again.error_code, again.reported_by) == (
        "王秀英",
        "card_invalid",
        "cashier-li",
    )
    assert open_refused_scans(canteen) == [first]


def test_the_same_key_at_another_canteen_is_another_scan(db, district, canteen):
    other = factories.create_canteen(district)
    here = factories.create_refused_scan(canteen, key="queued-7")
    there = factories.create_refused_scan(other, key="queued-7")
    assert here.id != there.id


def test_dismissing_needs_a_reason_and_records_who_when_and_why(db, canteen):
    refused = factories.create_refused_scan(canteen)
    with pytest.raises(ApiError) as refused_blank:
        dismiss_refused_scan(MANAGER, refused, "   ")
    assert refused_blank.value.fields.keys() == {"reason"}
    dismiss_refused_scan(MANAGER, refused, " 测试卡，不是真的用餐 ")
    assert (refused.resolution, refused.resolved_by, refused.resolution_reason) == (
        "dismissed",
        "manager-wang",
        "测试卡，不是真的用餐",
    )
    assert refused.resolved_at is not None and open_refused_scans(canteen) == []


def test_a_resolved_scan_is_never_resolved_again(db, canteen, card, policy):
    refused = factories.create_refused_scan(canteen)
    dismiss_refused_scan(MANAGER, refused, "重复上报")
    for again in (
        lambda: dismiss_refused_scan(CASHIER, refused, "again"),
        lambda: retry_refused_scan(CASHIER, refused, {"elder_id": 1}, "lunch"),
    ):
        with pytest.raises(ApiError) as error:
            again()
        assert (error.value.code, error.value.detail["resolved_by"]) == (
            "scan_resolved",
            "manager-wang",
        )


def test_a_retry_records_the_meal_through_the_scan_and_closes_the_scan(
    db, district, canteen, card, policy
):
    scan = queued_scan(card, minutes_ago=30)
    refused = factories.create_refused_scan(canteen, scan, code="validation_error")
    factories.create_menu(canteen, district.local_today(), "breakfast")
    loaded = {**scan, "scanned_at": refused.scanned_at}
    meal = retry_refused_scan(MANAGER, refused, loaded, "breakfast")
    assert (meal.slot, meal.offline, meal.recorded_by, meal.conflict) == (
        "breakfast",
        True,
        "manager-wang",
        None,
    )
    assert (refused.resolution, refused.meal_id, refused.resolved_by) == (
        "retried",
        meal.id,
        "manager-wang",
    )


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ({"resolution": "dismissed", "resolved_by": "x"}, "dismissed_with_reason"),
        ({"resolution": "dismissed", "resolved_by": "x", "resolution_reason": " "}, "dismissed"),
        ({"resolution": "retried", "resolved_by": "x"}, "retried_with_meal"),
        ({"resolution": "dismissed", "resolution_reason": "why"}, "resolved_whole"),
        ({"resolution": "forgotten", "resolved_by": "x", "resolution_reason": "y"}, "resolution"),
        ({"resolution_reason": "why"}, "resolved_whole"),
    ],
)
def test_the_database_holds_what_a_resolved_scan_must_say(db, canteen, values, rule):
    refused = factories.create_refused_scan(canteen)
    values = {"resolved_at": utcnow(), **values}
    if "resolution" not in values:
        values.pop("resolved_at")
    with pytest.raises(IntegrityError, match="(?i)check|constraint"), db.session.begin_nested():
        db.session.execute(update(RefusedScan).where(RefusedScan.id == refused.id).values(**values))


# --- the API -----------------------------------------------------------------------------


def test_a_terminal_reports_a_refused_queued_scan_and_a_second_report_is_the_same_row(
    cashier, canteen
):
    scan = {"qr_payload": "MS1:ABCDEF", "scanned_at": "2026-11-25T09:40:00+08:00"}
    first = cashier.post(refused_url(canteen), json=report_body(scan))
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body == {
        "id": body["id"],
        "canteen_id": canteen.id,
        "key": "queued-0001",
        "label": "王秀英",
        "scanned_at": "2026-11-25T01:40:00+00:00",
        "slot": None,
        "error_code": "card_invalid",
        "error_message": "Not a valid elder card: bad signature.",
        "reported_by": cashier.user.username,
        "reported_at": body["reported_at"],
        "resolved_at": None,
        "resolved_by": None,
        "resolution": None,
        "resolution_reason": None,
        "meal_id": None,
    }
    again = cashier.post(refused_url(canteen), json=report_body(scan, code="month_closed"))
    assert again.status_code == 200
    assert again.get_json() == body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": ""}, "key"),
        ({"key": "two words"}, "key"),
        ({"key": "k" * 65}, "key"),
        ({"label": "x" * 81}, "label"),
        ({"error": {"message": "no code"}}, "error.code"),
        ({"error": {"code": "c" * 41}}, "error.code"),
        ({"scan": {"qr_payload": "MS1:ABCDEF"}}, "scan.scanned_at"),
        ({"scan": {"scanned_at": "2026-11-25T09:40:00+08:00"}}, "scan.qr_payload"),
        ({"scan": {"qr_payload": "x", "scanned_at": "2026-11-25T09:40:00"}}, "scan.scanned_at"),
        (
            {"scan": {"qr_payload": "x", "scanned_at": "2026-11-25T09:40:00+08:00", "slot": "tea"}},
            "scan.slot",
        ),
    ],
)
def test_a_report_names_the_field_it_cannot_take(cashier, canteen, change, field):
    scan = {"qr_payload": "MS1:ABCDEF", "scanned_at": "2026-11-25T09:40:00+08:00"}
    response = cashier.post(refused_url(canteen), json={**report_body(scan), **change})
    assert field in assert_error(response, 422, "validation_error")["fields"]


def test_the_list_shows_the_open_scans_newest_first_and_the_resolved_on_request(
    db, login_as, cashier, canteen
):
    older = factories.create_refused_scan(
        canteen, {"qr_payload": "MS1:A", "scanned_at": queued_at(90)}
    )
    newer = factories.create_refused_scan(
        canteen, {"qr_payload": "MS1:B", "scanned_at": queued_at(10)}
    )
    done = factories.create_refused_scan(canteen)
    dismiss_refused_scan(MANAGER, done, "测试")
    db.session.commit()

    def ids(status=None):
        query = f"?status={status}" if status else ""
        response = cashier.get(refused_url(canteen) + query)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids() == ids("open") == [newer.id, older.id]
    assert ids("resolved") == [done.id]
    assert ids("all") == [newer.id, done.id, older.id]
    assert (
        "status"
        in assert_error(cashier.get(refused_url(canteen) + "?status=x"), 422, "validation_error")[
            "fields"
        ]
    )


def test_a_retry_with_a_slot_answers_the_meal_as_a_scan_does_and_closes_the_scan(
    db, district, manager, cashier, canteen, elder, card, policy
):
    day = district.local_today()
    factories.create_menu(canteen, day, "breakfast")
    refused = factories.create_refused_scan(canteen, queued_scan(card), code="validation_error")
    response = manager.post(f"/api/v1/refused-scans/{refused.id}/retry", json={"slot": "breakfast"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    meal = body["meal"]
    assert (meal["slot"], meal["offline"], meal["conflict"], meal["subsidy_fen"]) == (
        "breakfast",
        True,
        None,
        500,
    )
    assert meal["recorded_by"] == manager.user.username and meal["elder"]["id"] == elder.id
    assert body["refused_scan"]["resolution"] == "retried"
    assert body["refused_scan"]["meal_id"] == meal["meal_id"]
    assert body["refused_scan"]["resolved_by"] == manager.user.username
    # The answer is exactly a scan's: the same queued scan sent to the scan endpoint now
    # answers this very meal, field for field.
    resent = cashier.post(scans_url(canteen), json={**refused.scan, "slot": "breakfast"})
    assert resent.status_code == 201 and resent.get_json() == meal
    # And it is closed: a second retry is refused, the meal stays one.
    again = manager.post(f"/api/v1/refused-scans/{refused.id}/retry", json={})
    assert assert_error(again, 409, "scan_resolved")["detail"]["resolution"] == "retried"
    assert len(db.session.scalars(select(Meal)).all()) == 1


def test_a_retry_without_a_slot_takes_the_nearest_window(db, district, cashier, canteen, card):
    # At 09:45 local, between breakfast (ended 09:30) and lunch (from 10:30): breakfast.
    refused = factories.create_refused_scan(
        canteen, queued_scan(card, minutes_ago=15), code="validation_error"
    )
    response = cashier.post(f"/api/v1/refused-scans/{refused.id}/retry", json={})
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["meal"]["slot"], response.get_json()["meal"]["conflict"]) == (
        "breakfast",
        "no_menu",
    )


def test_a_retry_refused_again_answers_that_refusal_and_leaves_the_scan_open(db, manager, canteen):
    refused = factories.create_refused_scan(canteen)  # a card that is no card
    response = manager.post(f"/api/v1/refused-scans/{refused.id}/retry", json={"slot": "lunch"})
    assert_error(response, 422, "card_invalid")
    assert stored(db, refused.id).resolved_at is None
    assert db.session.scalars(select(Meal)).all() == []


def test_a_person_records_a_scan_queued_more_than_a_day_ago(
    db, district, login_as, canteen, card, policy, now
):
    """A tablet offline for more than a day: the service refuses its queued scans as too
    old, but a person who retries one vouches for the meal, which is recorded."""
    day = district.local_today()
    factories.create_menu(canteen, day, "lunch")
    scan = queued_scan(card)
    now.shift(timedelta(hours=30))
    cashier = login_as("cashier")
    too_old = cashier.post(scans_url(canteen), json={**scan, "slot": "lunch"})
    assert "scanned_at" in assert_error(too_old, 422, "validation_error")["fields"]
    refused = factories.create_refused_scan(canteen, scan, code="validation_error")
    manager = login_as("manager")
    response = manager.post(f"/api/v1/refused-scans/{refused.id}/retry", json={"slot": "lunch"})
    assert response.status_code == 201, response.get_json()
    meal = response.get_json()["meal"]
    assert (meal["slot"], meal["offline"], meal["date"]) == ("lunch", True, day.isoformat())
    assert stored(db, refused.id).resolution == "retried"


def test_a_retry_names_a_slot_it_cannot_take(manager, canteen):
    refused = factories.create_refused_scan(canteen)
    response = manager.post(f"/api/v1/refused-scans/{refused.id}/retry", json={"slot": "tea"})
    assert "slot" in assert_error(response, 422, "validation_error")["fields"]


def test_a_manager_dismisses_with_a_reason_once(db, manager, cashier, canteen):
    refused = factories.create_refused_scan(canteen)
    url = f"/api/v1/refused-scans/{refused.id}/dismiss"
    for reason in ("", "   ", "x" * 201):
        assert (
            "reason"
            in assert_error(manager.post(url, json={"reason": reason}), 422, "validation_error")[
                "fields"
            ]
        )
    assert "reason" in assert_error(manager.post(url, json={}), 422, "validation_error")["fields"]
    response = manager.post(url, json={"reason": "测试卡，没有出餐"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["resolution"], body["resolution_reason"], body["resolved_by"]) == (
        "dismissed",
        "测试卡，没有出餐",
        manager.user.username,
    )
    assert body["resolved_at"] and body["meal_id"] is None
    assert_error(cashier.post(url, json={"reason": "again"}), 409, "scan_resolved")
    retry = cashier.post(f"/api/v1/refused-scans/{refused.id}/retry", json={})
    assert_error(retry, 409, "scan_resolved")


def test_a_dismissal_is_in_the_audit_log_with_who_and_why(db, manager, canteen):
    refused = factories.create_refused_scan(canteen)
    manager.post(f"/api/v1/refused-scans/{refused.id}/dismiss", json={"reason": "测试卡"})
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.table_name == "refused_scans", AuditEntry.row_key == str(refused.id))
        .order_by(AuditEntry.id)
    ).all()
    assert [entry.action for entry in entries] == ["insert", "update"]
    assert entries[1].actor == manager.user.username
    assert entries[1].after["resolution_reason"] == "测试卡"


def test_a_manager_reads_the_refused_scans_of_the_canteen_in_the_audit_log(db, canteen, district):
    here = factories.create_refused_scan(canteen)
    elsewhere = factories.create_refused_scan(factories.create_canteen(district))
    manager = factories.create_user("manager", canteen=canteen)
    entries = db.session.scalars(audit_log_query(manager, table="refused_scans")).all()
    assert {entry.row_key for entry in entries} == {str(here.id)}
    assert str(elsewhere.id) not in {entry.row_key for entry in entries}


@pytest.mark.parametrize("role", ["cashier", "manager"])
def test_staff_of_another_canteen_find_no_refused_scan_there(login_as, district, canteen, role):
    other = factories.create_canteen(district)
    refused = factories.create_refused_scan(other)
    client = login_as(role)
    assert_error(client.get(refused_url(other)), 404, "not_found")
    scan = {"qr_payload": "MS1:ABCDEF", "scanned_at": queued_at()}
    assert_error(client.post(refused_url(other), json=report_body(scan)), 404, "not_found")
    for action, body in (("retry", {}), ("dismiss", {"reason": "x"})):
        response = client.post(f"/api/v1/refused-scans/{refused.id}/{action}", json=body)
        assert_error(response, 404, "not_found")


# --- the manager's day at the canteen ----------------------------------------------------


def test_the_managers_day_lists_the_open_refused_scans_with_a_link_to_the_cashier_page(
    app, db, district, canteen
):
    scan = {"qr_payload": "MS1:ABCDEF", "scanned_at": "2026-11-25T09:12:00+08:00"}
    open_one = factories.create_refused_scan(canteen, scan, label="卡 3fa2c1")
    too_old = factories.create_refused_scan(
        canteen,
        {**scan, "scanned_at": "2026-11-25T08:05:00+08:00"},
        code="month_closed",
        label="王秀英",
    )
    dismissed = factories.create_refused_scan(canteen)
    dismiss_refused_scan(MANAGER, dismissed, "测试卡")
    elsewhere = factories.create_refused_scan(factories.create_canteen(district))
    db.session.commit()
    client = browser_as(app, "manager", district=district, canteen=canteen)
    client.get("/lang/zh")
    html = html_of(client.get(f"/canteens/{canteen.id}/today"))
    assert "需要处理的离线扫码" in html
    section = html[html.index('data-testid="today-refused-scans"') :]
    section = section[: section.index("</section>")]
    first = section[section.index(f'refused-scan-{open_one.id}"') :]
    first = first[: first.index("</tr>")]
    # Time in the district's zone, what the page showed, the cashier's words, who reported.
    for shown in ("2026-11-25 09:12", "卡 3fa2c1", "这不是有效的助餐卡", "factory-cashier"):
        assert shown in first, (shown, first)
    assert f'refused-scan-{too_old.id}"' in section and "王秀英" in section
    assert f'refused-scan-{dismissed.id}"' not in section
    assert f'refused-scan-{elsewhere.id}"' not in section
    assert section.index(f"refused-scan-{open_one.id}") < section.index(
        f"refused-scan-{too_old.id}"
    )
    assert f'href="/cashier?canteen={canteen.id}"' in section


def test_the_managers_day_says_nothing_of_refused_scans_when_none_is_open(
    app, db, district, canteen
):
    dismiss_refused_scan(MANAGER, factories.create_refused_scan(canteen), "测试卡")
    db.session.commit()
    client = browser_as(app, "manager", district=district, canteen=canteen)
    html = html_of(client.get(f"/canteens/{canteen.id}/today"))
    assert "today-refused-scans" not in html and "Offline scans to resolve" not in html
