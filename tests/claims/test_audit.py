"""The audit trail and the records that must never change, kept by the database itself:
every change to a money-bearing row is logged with who, when, before and after, and raw
SQL cannot rewrite the log, a decision, or a decided claim."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from mealservice.claims import services
from mealservice.claims.models import Claim
from mealservice.core.audit import acting
from mealservice.oversight.models import AuditEntry
from tests import factories
from tests.claims.helpers import CLAIMING_OCTOBER, MONTH, plant_meal
from tests.meals.test_scans import scan

pytestmark = CLAIMING_OCTOBER

OFFICIAL = SimpleNamespace(username="official-1", role="official", canteen_id=None)


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


def entries(db, table: str, key) -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.table_name == table, AuditEntry.row_key == str(key))
        .order_by(AuditEntry.id)
    ).all()


def refused(db, statement: str, **params) -> bool:
    """Whether the database refuses the raw statement (the test's transaction goes on)."""
    try:
        with db.session.begin_nested():
            db.session.execute(text(statement), params)
    except DBAPIError:
        return True
    return False


@pytest.mark.now("2027-03-15T11:30:00+08:00")
def test_the_log_dates_a_change_by_the_services_clock_not_the_databases(
    db, login_as, canteen, elder, policy
):
    factories.create_menu(canteen, canteen.district.local_today())
    meal_id = scan(login_as("cashier"), canteen, factories.create_card(elder)).get_json()["meal_id"]
    [made] = entries(db, "meals", meal_id)
    assert made.action == "insert"
    assert abs(made.at - datetime(2027, 3, 15, 3, 30, tzinfo=UTC)) < timedelta(minutes=1)


def test_a_scan_and_its_void_are_logged_with_who_before_and_after(
    db, login_as, canteen, elder, policy
):
    factories.create_menu(canteen, canteen.district.local_today())
    card = factories.create_card(elder)
    cashier = login_as("cashier")
    meal_id = scan(cashier, canteen, card).get_json()["meal_id"]
    manager = login_as("manager")
    response = manager.post(f"/api/v1/meals/{meal_id}/void", json={"reason": "扫错了"})
    assert response.status_code == 200, response.get_json()
    made, voided = entries(db, "meals", meal_id)[:2]
    assert (made.action, made.actor, made.before) == ("insert", cashier.user.username, None)
    assert made.after["subsidy_fen"] == 500 and made.after["elder_id"] == elder.id
    assert (voided.action, voided.actor) == ("update", manager.user.username)
    assert voided.before["voided_at"] is None
    assert voided.after["void_reason"] == "扫错了"
    assert voided.at.tzinfo is not None


def test_cards_balances_and_policies_are_logged(db, login_as, canteen, elder, district):
    official = login_as("official")
    card = official.post(f"/api/v1/elders/{elder.id}/cards").get_json()
    official.post(f"/api/v1/cards/{card['card_id']}/revoke", json={"reason": "遗失"})
    assert [e.action for e in entries(db, "cards", card["card_id"])] == ["insert", "update"]
    cashier = login_as("cashier")
    top_up = cashier.post(
        f"/api/v1/canteens/{canteen.id}/top-ups",
        json={"elder_id": elder.id, "amount_fen": 10_000, "method": "cash"},
        headers={"Idempotency-Key": "top-1"},
    )
    assert top_up.status_code == 201, top_up.get_json()
    (balance,) = entries(db, "balances", elder.id)
    assert (balance.actor, balance.after["balance_fen"]) == (cashier.user.username, 10_000)
    policy = factories.create_policy(district)
    assert [e.action for e in entries(db, "subsidy_policies", policy.id)] == ["insert"]


def test_work_outside_a_request_names_itself(db, canteen, elder, policy):
    with acting("scheduler:make_claims"):
        meal = plant_meal(canteen, elder, date(2026, 10, 14))
    (made,) = entries(db, "meals", meal.id)
    assert made.actor == "scheduler:make_claims"


def test_raw_sql_cannot_change_or_delete_the_audit_log(db, canteen, elder, policy):
    meal = plant_meal(canteen, elder, date(2026, 10, 14))
    (entry,) = entries(db, "meals", meal.id)
    assert refused(db, "UPDATE audit_log SET actor = 'nobody' WHERE id = :id", id=entry.id)
    assert refused(db, "DELETE FROM audit_log WHERE id = :id", id=entry.id)
    db.session.expire_all()
    assert db.session.get(AuditEntry, entry.id).actor == entry.actor


def test_raw_sql_cannot_change_a_decided_claim_or_its_review(db, canteen, elder, policy):
    plant_meal(canteen, elder, date(2026, 10, 14))
    plant_meal(canteen, elder, date(2026, 10, 8), subsidy_fen=0, conflict="capacity_full")
    claim = services.make_claim(OFFICIAL, canteen, MONTH)
    # Undecided, the claim may still change (its checks run again).
    assert not refused(db, "UPDATE claims SET checked_at = checked_at WHERE id = :id", id=claim.id)
    services.review(OFFICIAL, claim, "approve", "核对无误")
    for statement in (
        "UPDATE claims SET approved_fen = 0 WHERE id = :id",
        "UPDATE claims SET status = 'submitted', approved_fen = NULL WHERE id = :id",
        "DELETE FROM claims WHERE id = :id",
        "UPDATE claim_reviews SET reason = 'changed' WHERE claim_id = :id",
        "DELETE FROM claim_reviews WHERE claim_id = :id",
        "DELETE FROM claim_anomalies WHERE claim_id = :id",
        "UPDATE claim_anomalies SET code = 'two_places' WHERE claim_id = :id",
    ):
        assert refused(db, statement, id=claim.id), statement
    db.session.expire_all()
    kept = db.session.get(Claim, claim.id)
    assert (kept.status, kept.approved_fen) == ("approved", claim.total_fen)
    assert [a.code for a in kept.anomalies] == ["offline_conflict"]


def test_a_claim_and_its_review_are_logged(db, canteen, elder, policy):
    plant_meal(canteen, elder, date(2026, 10, 14))
    claim = services.make_claim(OFFICIAL, canteen, MONTH)
    services.review(OFFICIAL, claim, "reject", "材料不全")
    made, decided = entries(db, "claims", claim.id)
    assert made.after["status"] == "submitted"
    assert (decided.before["status"], decided.after["status"]) == ("submitted", "rejected")
    (review,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.table_name == "claim_reviews")
    ).all()
    assert review.after["reason"] == "材料不全"


def test_claims_made_together_are_each_logged_as_their_row_stands(db, district, policy):
    """A month's claims for many canteens are written in one statement and, on
    PostgreSQL, logged by one trigger for it: the log holds the same row for each claim,
    in the order they were written, as a trigger for each row would."""
    canteens = [factories.create_canteen(district) for _ in range(3)]
    for canteen in canteens:
        plant_meal(canteen, factories.create_elder(district), date(2026, 10, 14))
    db.session.commit()
    with acting("scheduler:make_claims"):
        assert services.make_due_claims(datetime(2026, 11, 25, 2, 0, tzinfo=UTC)) == 3
    claims = db.session.scalars(select(Claim).order_by(Claim.id)).all()
    logged = db.session.scalars(
        select(AuditEntry).where(AuditEntry.table_name == "claims").order_by(AuditEntry.id)
    ).all()
    assert [entry.row_key for entry in logged] == [str(claim.id) for claim in claims]
    for claim, entry in zip(claims, logged, strict=True):
        assert (entry.action, entry.actor, entry.before) == (
            "insert",
            "scheduler:make_claims",
            None,
        )
        assert abs(entry.at - datetime(2026, 11, 25, 2, 0, tzinfo=UTC)) < timedelta(minutes=1)
        assert entry.after["canteen_id"] == claim.canteen_id
        assert (entry.after["status"], entry.after["total_fen"]) == ("submitted", claim.total_fen)
        assert set(entry.after) == set(Claim.__table__.columns.keys())
        if db.engine.dialect.name == "postgresql":
            # Exactly what the row trigger logs: the row as PostgreSQL renders it.
            row = db.session.scalar(text("SELECT to_json(c) FROM claims c WHERE id = :id"),
                                    {"id": claim.id})  # fmt: skip
            assert entry.after == row
