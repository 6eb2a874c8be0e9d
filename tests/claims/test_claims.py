"""Monthly claims through the API: made once the month is over, summed from the stored
meals to the fen, closing the month, reviewed once and for good, made again after a
rejection; the scheduler makes the missing ones."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError

from mealservice.claims import services
from mealservice.claims.models import Claim, ClaimReview
from mealservice.core.db import db as _db
from mealservice.elders.models import ElderStatus
from mealservice.meals.models import Meal
from mealservice.meals.services import scan
from mealservice.places import registry
from mealservice.places.models import MonthClosure
from tests import factories
from tests.claims.helpers import (
    AFTER_GRACE,
    CLAIMING_OCTOBER,
    MONTH,
    a_clean_month,
    plant_delivery,
    plant_meal,
)
from tests.core.test_errors import assert_error

pytestmark = CLAIMING_OCTOBER

MANAGER = SimpleNamespace(username="manager-1", role="manager", canteen_id=None)


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def month_of_meals(db, policy, district, canteen, elder):
    """October: 44 dine-in lunches at 5 yuan subsidy, one delivery (5 + 3 yuan), and one
    offline conflict meal; the canteen's operating subsidy is 2,000 yuan."""
    canteen.monthly_operating_subsidy_fen = 200_000
    elders = [elder, factories.create_elder(district, canteen.community)]
    meals = a_clean_month(canteen, elders)
    meals.append(plant_delivery(canteen, elders[1], date(2026, 10, 10)))
    meals.append(
        plant_meal(canteen, elders[0], date(2026, 10, 11), subsidy_fen=0, conflict="capacity_full")
    )
    db.session.commit()
    return meals


def make(client, canteen, month=MONTH):
    return client.post(f"/api/v1/canteens/{canteen.id}/claims", json={"month": month})


def test_a_claim_sums_the_stored_meals_and_adds_the_operating_subsidy(
    login_as, canteen, month_of_meals
):
    response = make(login_as("manager"), canteen)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["month"], body["revision"], body["status"]) == (MONTH, 1, "submitted")
    assert body["totals"] == {
        "meals": 46,
        "subsidized_meals": 45,
        "meal_subsidy_fen": 45 * 500,
        "delivery_subsidy_fen": 300,
        "operating_subsidy_fen": 200_000,
        "total_fen": 45 * 500 + 300 + 200_000,
    }
    assert [a["code"] for a in body["anomalies"]] == ["offline_conflict"]


def test_the_totals_are_the_snapshots_as_stored_not_prices_recomputed(
    db, login_as, canteen, month_of_meals, district
):
    # A new policy paying far more changes nothing already served.
    factories.create_policy(district, effective_from=date(2026, 10, 1), delivery_subsidy_fen=900)
    body = make(login_as("manager"), canteen).get_json()
    assert body["totals"]["meal_subsidy_fen"] == 45 * 500


def test_one_claim_per_canteen_and_month(login_as, canteen, month_of_meals):
    manager = login_as("manager")
    assert make(manager, canteen).status_code == 201
    assert_error(make(manager, canteen), 409, "claim_exists")


def test_a_month_whose_grace_period_has_not_passed_cannot_be_claimed(login_as, canteen, policy):
    this_month = f"{canteen.district.local_today():%Y-%m}"
    assert_error(make(login_as("manager"), canteen, this_month), 409, "month_not_ended")


def test_the_grace_period_is_two_days_after_the_month(db, canteen, policy):
    with pytest.raises(Exception) as refused:
        services.make_claim(MANAGER, canteen, MONTH, today=date(2026, 11, 2))
    assert refused.value.code == "month_not_ended"
    assert services.make_claim(MANAGER, canteen, MONTH, today=AFTER_GRACE).revision == 1


@pytest.mark.parametrize("month", ["2026-13", "0000-01", "9999-12"])
def test_a_bad_month_is_named(login_as, canteen, month):
    response = make(login_as("manager"), canteen, month)
    assert_error(response, 422, "validation_error")
    assert "month" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("month", ["2026-13", "0000-01"])
def test_a_bad_month_to_preview_is_named(login_as, canteen, month):
    response = login_as("manager").get(
        f"/api/v1/canteens/{canteen.id}/claims/preview?month={month}"
    )
    assert "month" in assert_error(response, 422, "validation_error")["fields"]


def test_preview_answers_for_the_current_month_and_saves_nothing(
    db, login_as, canteen, month_of_meals
):
    for role in ("manager", "official", "admin"):
        response = login_as(role).get(f"/api/v1/canteens/{canteen.id}/claims/preview?month={MONTH}")
        assert response.status_code == 200
        assert response.get_json()["totals"]["meals"] == 46
    current = f"{canteen.district.local_today():%Y-%m}"
    response = login_as("manager").get(
        f"/api/v1/canteens/{canteen.id}/claims/preview?month={current}"
    )
    assert response.get_json()["totals"]["meals"] == 0
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0


def test_a_claim_closes_its_month_once_and_the_database_keeps_meals_out(
    db, login_as, canteen, elder, month_of_meals
):
    make(login_as("manager"), canteen)
    closures = db.session.scalars(select(MonthClosure).where(MonthClosure.canteen_id == canteen.id))
    assert [closure.month for closure in closures] == [MONTH]
    # Whatever path forgets to ask, the database refuses a meal written into the month.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        plant_meal(canteen, elder, date(2026, 10, 20), "dinner")
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            update(Meal).where(Meal.id == month_of_meals[0].id).values(subsidy_fen=0)
        )
    # The month after stays open.
    assert plant_meal(canteen, elder, date(2026, 11, 2)).id is not None


def test_a_claimed_month_is_closed_to_scans_voids_and_orders(
    db, login_as, canteen, elder, month_of_meals
):
    manager = login_as("manager")
    make(manager, canteen)
    # The scan as the counter would record it on 30 October (an API scan cannot be dated
    # back that far: offline scans older than a day are refused first).
    with pytest.raises(Exception) as refused:
        scan(
            MANAGER, canteen, {"elder_id": elder.id}, now=datetime(2026, 10, 30, 3, 30, tzinfo=UTC)
        )
    assert refused.value.code == "month_closed"
    void = manager.post(f"/api/v1/meals/{month_of_meals[0].id}/void", json={"reason": "wrong"})
    assert_error(void, 409, "month_closed")
    with pytest.raises(Exception) as refused:
        registry.ensure_month_open(canteen.id, date(2026, 10, 31))
    assert refused.value.code == "month_closed"
    registry.ensure_month_open(canteen.id, date(2026, 11, 1))


def test_review_approves_all_lines(db, login_as, canteen, month_of_meals):
    claim = make(login_as("manager"), canteen).get_json()
    official = login_as("official")
    response = official.post(
        f"/api/v1/claims/{claim['id']}/review", json={"decision": "approve", "reason": "核对无误"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["approved_fen"]) == ("approved", claim["totals"]["total_fen"])
    (review,) = body["reviews"]
    assert review["reason"] == "核对无误" and review["decided_by"] == official.user.username


def test_review_approves_with_lines_rejected_each_with_its_reason(
    db, login_as, canteen, month_of_meals
):
    claim = make(login_as("manager"), canteen).get_json()
    delivered, first = month_of_meals[-2], month_of_meals[0]
    response = login_as("official").post(
        f"/api/v1/claims/{claim['id']}/review",
        json={
            "decision": "approve",
            "reason": "两笔存疑",
            "rejected_meal_ids": [delivered.id, first.id],
            "line_reasons": {str(first.id): "电话核实未就餐"},
        },
    )
    body = response.get_json()
    assert body["status"] == "partially_approved"
    assert body["approved_fen"] == claim["totals"]["total_fen"] - (500 + 300) - 500
    lines = login_as("official").get(f"/api/v1/claims/{claim['id']}/lines?per_page=1000")
    rejected = {
        line["meal_id"]: line["rejected_reason"]
        for line in lines.get_json()["items"]
        if line["rejected"]
    }
    assert rejected == {delivered.id: "两笔存疑", first.id: "电话核实未就餐"}


def test_a_rejected_line_must_be_a_line_of_the_claim(db, login_as, canteen, month_of_meals):
    claim = make(login_as("manager"), canteen).get_json()
    response = login_as("official").post(
        f"/api/v1/claims/{claim['id']}/review",
        json={"decision": "approve", "reason": "x", "rejected_meal_ids": [999_999]},
    )
    assert_error(response, 422, "validation_error")
    assert "rejected_meal_ids" in response.get_json()["error"]["fields"]
    assert db.session.get(Claim, claim["id"]).status == "submitted"


def test_a_decision_needs_a_reason(login_as, canteen, month_of_meals):
    claim = make(login_as("manager"), canteen).get_json()
    response = login_as("official").post(
        f"/api/v1/claims/{claim['id']}/review", json={"decision": "reject", "reason": "  "}
    )
    assert_error(response, 422, "validation_error")
    assert "reason" in response.get_json()["error"]["fields"]


def test_a_decided_claim_is_final(db, login_as, canteen, month_of_meals):
    claim = make(login_as("manager"), canteen).get_json()
    official = login_as("official")
    url = f"/api/v1/claims/{claim['id']}/review"
    official.post(url, json={"decision": "reject", "reason": "重复申报"})
    assert_error(official.post(url, json={"decision": "approve", "reason": "x"}), 409,
                 "claim_decided")  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(ClaimReview)) == 1


def test_a_rejected_claim_is_made_again_as_the_next_revision(db, login_as, canteen, month_of_meals):
    manager = login_as("manager")
    claim = make(manager, canteen).get_json()
    login_as("official").post(
        f"/api/v1/claims/{claim['id']}/review", json={"decision": "reject", "reason": "补充材料"}
    )
    again = manager.post(f"/api/v1/claims/{claim['id']}/resubmit")
    assert again.status_code == 201, again.get_json()
    body = again.get_json()
    assert (body["revision"], body["status"]) == (2, "submitted")
    assert body["totals"] == claim["totals"]
    # Only the latest rejected revision can be made again, and only once.
    assert_error(manager.post(f"/api/v1/claims/{claim['id']}/resubmit"), 409, "claim_exists")
    assert_error(manager.post(f"/api/v1/claims/{body['id']}/resubmit"), 409, "claim_not_rejected")


def test_officials_list_their_districts_claims_by_month_and_status(
    db, login_as, district, canteen, month_of_meals
):
    make(login_as("manager"), canteen)
    elsewhere = factories.create_district()
    far = factories.create_canteen(elsewhere)
    services.make_claim(MANAGER, far, MONTH)
    db.session.commit()
    official = login_as("official")
    items = official.get(f"/api/v1/claims?month={MONTH}&status=submitted").get_json()["items"]
    assert [item["canteen_id"] for item in items] == [canteen.id]
    assert official.get("/api/v1/claims?status=approved").get_json()["items"] == []
    assert len(login_as("admin").get(f"/api/v1/claims?month={MONTH}").get_json()["items"]) == 2


def test_lines_are_one_per_meal_with_the_elder_masked(login_as, canteen, elder, month_of_meals):
    claim = make(login_as("manager"), canteen).get_json()
    page = login_as("official").get(f"/api/v1/claims/{claim['id']}/lines?per_page=40").get_json()
    assert len(page["items"]) == 40 and page["next"] == 2
    rest = login_as("official").get(f"/api/v1/claims/{claim['id']}/lines?per_page=40&page=2")
    assert len(rest.get_json()["items"]) == 6
    line = page["items"][0]
    assert (
        line["elder"] != elder.name and line["elder"][0] == elder.name[0] and "*" in line["elder"]
    )
    assert "id_number" not in line
    conflict = [x for x in rest.get_json()["items"] + page["items"] if x["conflict"]]
    assert conflict[0]["anomalies"] == ["offline_conflict"]


def test_a_status_change_after_the_claim_reruns_the_checks_of_an_undecided_claim(
    db, login_as, canteen, elder, month_of_meals
):
    claim = make(login_as("manager"), canteen).get_json()
    response = login_as("official").patch(
        f"/api/v1/elders/{elder.id}", json={"status": "moved", "status_since": "2026-10-28"}
    )
    assert response.status_code == 200, response.get_json()
    codes = [
        a["code"]
        for a in login_as("official").get(f"/api/v1/claims/{claim['id']}").get_json()["anomalies"]
    ]
    assert sorted(codes) == ["elder_inactive", "offline_conflict"]


def test_a_holiday_declared_after_the_claim_reruns_the_checks(
    db, login_as, canteen, month_of_meals
):
    claim = make(login_as("manager"), canteen).get_json()
    response = login_as("admin").put("/api/v1/holidays/2026-10-01", json={"name": "国庆节"})
    assert response.status_code in (200, 201), response.get_json()
    body = login_as("official").get(f"/api/v1/claims/{claim['id']}").get_json()
    assert "holiday_subsidy" in [a["code"] for a in body["anomalies"]]


def test_a_decided_claim_is_not_checked_again(db, login_as, canteen, elder, month_of_meals):
    claim = make(login_as("manager"), canteen).get_json()
    login_as("official").post(
        f"/api/v1/claims/{claim['id']}/review", json={"decision": "approve", "reason": "ok"}
    )
    login_as("admin").put("/api/v1/holidays/2026-10-01", json={"name": "国庆节"})
    body = login_as("official").get(f"/api/v1/claims/{claim['id']}").get_json()
    assert [a["code"] for a in body["anomalies"]] == ["offline_conflict"]


def test_the_scheduler_makes_last_months_missing_claims_once(db, district, canteen, month_of_meals):
    other = factories.create_canteen(district)
    services.make_claim(MANAGER, other, MONTH)
    now = datetime(2026, 11, 3, 1, 10, tzinfo=UTC)
    assert services.make_due_claims(now) == 1
    assert services.make_due_claims(now) == 0
    made = _db.session.scalar(select(Claim).where(Claim.canteen_id == canteen.id))
    assert (made.month, made.made_by, made.meals) == (MONTH, "scheduler", 46)
    # Within the grace period nothing is made yet.
    assert services.make_due_claims(datetime(2026, 12, 2, 1, 10, tzinfo=UTC)) == 0


def test_claims_of_inactive_elders_keep_their_lines(db, login_as, canteen, elder, month_of_meals):
    elder.status, elder.status_since = ElderStatus.DECEASED, date(2026, 10, 1)
    db.session.commit()
    body = make(login_as("manager"), canteen).get_json()
    assert body["totals"]["meals"] == 46
    inactive = [a for a in body["anomalies"] if a["code"] == "elder_inactive"]
    meals_of_elder = db.session.scalar(
        select(func.count()).where(Meal.elder_id == elder.id, Meal.date < date(2026, 11, 1))
    )
    assert len(inactive[0]["meal_ids"]) == meals_of_elder


def test_a_canteen_blacklisted_in_a_month_claims_nothing_for_it(
    db, login_as, canteen, month_of_meals
):
    from mealservice.places.registry import add_to_blacklist, lift

    entry = add_to_blacklist(MANAGER, canteen, "虚报就餐人次", date(2026, 10, 20))
    db.session.commit()
    response = make(login_as("manager"), canteen)
    assert_error(response, 409, "canteen_blacklisted")
    assert response.get_json()["error"]["detail"]["ends_on"] is None
    # The scheduler passes it by as well, and makes the claim once the entry is lifted.
    now = datetime(2026, 11, 25, 1, 10, tzinfo=UTC)
    assert services.make_due_claims(now) == 0
    lift(MANAGER, entry)
    assert services.make_due_claims(now) == 1


def test_a_month_that_ended_before_the_blacklisting_can_be_claimed_and_approved(
    db, login_as, canteen, month_of_meals
):
    from mealservice.places.registry import add_to_blacklist

    add_to_blacklist(MANAGER, canteen, "虚报就餐人次", date(2026, 11, 15))
    db.session.commit()
    claim = make(login_as("manager"), canteen).get_json()
    assert claim["status"] == "submitted"
    response = login_as("official").post(
        f"/api/v1/claims/{claim['id']}/review", json={"decision": "approve", "reason": "核对无误"}
    )
    assert response.status_code == 200, response.get_json()


def test_a_pending_claim_is_not_approved_once_its_month_is_blacklisted(
    db, login_as, canteen, month_of_meals
):
    from mealservice.places.registry import add_to_blacklist

    claim = make(login_as("manager"), canteen).get_json()
    add_to_blacklist(MANAGER, canteen, "虚报就餐人次", date(2026, 10, 25))
    db.session.commit()
    official = login_as("official")
    approve = {"decision": "approve", "reason": "核对无误"}
    assert_error(
        official.post(f"/api/v1/claims/{claim['id']}/review", json=approve),
        409,
        "canteen_blacklisted",
    )
    reject = {"decision": "reject", "reason": "列入失信黑名单"}
    assert official.post(f"/api/v1/claims/{claim['id']}/review", json=reject).status_code == 200


def test_an_unfiled_place_claims_nothing_until_it_is_filed(db, login_as, canteen, month_of_meals):
    from mealservice.places.registry import set_filing

    set_filing(None, canteen, "withdrawn")
    db.session.commit()
    response = make(login_as("manager"), canteen)
    assert_error(response, 409, "canteen_not_filed")
    assert services.make_due_claims(datetime(2026, 11, 25, 1, 10, tzinfo=UTC)) == 0
    set_filing(None, canteen, "filed", "西民养备〔2026〕001号", date(2026, 11, 20))
    db.session.commit()
    assert make(login_as("manager"), canteen).status_code == 201


def scheduler_run(
    statements, district, canteens: int, with_anomalies: bool = False
) -> tuple[int, int, int]:
    """A scheduler run that makes claims for `canteens` canteens more (each with an
    anomaly to record, `with_anomalies`), beside a blacklisted and an unfiled place it must
    skip: its claim INSERTs and its other statements."""
    for _ in range(canteens):
        canteen = factories.create_canteen(district)
        if with_anomalies:
            elder = factories.create_elder(district)
            plant_meal(canteen, elder, date(2026, 10, 11), subsidy_fen=0, conflict="capacity_full")
    factories.create_canteen(district, filed=False)
    registry.add_to_blacklist(None, factories.create_canteen(district), "Fraud", date(2026, 10, 20))
    _db.session.commit()
    _db.session.expire_all()
    statements.clear()
    made = services.make_due_claims(datetime(2026, 11, 3, 1, 10, tzinfo=UTC))
    run = list(statements)
    _db.session.rollback()
    inserts = sum(1 for statement in run if statement.startswith("INSERT INTO claims "))
    return made, inserts, len(run) - inserts


def test_a_scheduler_run_costs_the_same_statements_however_many_canteens_claim(
    db, district, policy, statements
):
    made, few_inserts, few = scheduler_run(statements, district, 2)
    assert made == 2
    made, many_inserts, many = scheduler_run(statements, district, 10)
    assert made == 12
    # Each canteen costs no statement of its own: no look-up of the blacklist, no closing
    # of a month.
    assert many == few
    # The claims are written in one INSERT, on SQLite as on PostgreSQL.
    assert many_inserts == few_inserts == 1


def test_a_scheduler_run_records_every_canteens_anomalies_in_one_statement(
    db, district, policy, statements
):
    made, _, few = scheduler_run(statements, district, 2, with_anomalies=True)
    assert made == 2
    # However many claims and anomalies: one executemany (PostgreSQL) or one INSERT.
    assert sum(1 for s in statements if s.startswith("INSERT INTO claim_anomalies ")) == 1
    made, _, many = scheduler_run(statements, district, 6, with_anomalies=True)
    assert made == 8
    assert many == few


def test_a_scheduler_run_writes_its_rows_in_one_statement_a_table_not_one_a_row(
    db, district, policy, statements
):
    writes = []

    def note(_conn, _cursor, statement, _parameters, _context, executemany):
        table = statement.split()[2] if statement.startswith("INSERT") else None
        if table in ("claims", "claim_anomalies", "month_closures"):
            writes.append((table, executemany))

    engine = _db.session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        made, _, _ = scheduler_run(statements, district, 3, with_anomalies=True)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert made == 3
    # One INSERT each, the claims' as SQLAlchemy's "insertmanyvalues" (one statement of
    # many rows, returning their ids). The closed months are never an executemany: their
    # data stamp is renewed by a statement trigger, which would run once a canteen.
    assert sorted(table for table, _ in writes) == ["claim_anomalies", "claims", "month_closures"]
    assert ("month_closures", False) in writes
