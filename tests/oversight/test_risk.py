"""Risk scores per canteen: the formula over the latest revision of three months of claims,
checked on planted claims to the hundredth; who sees which canteens; the page that writes
the formula out."""

import pytest

from mealservice.claims.models import Claim, ClaimAnomaly
from mealservice.core.db import db as _db
from mealservice.core.periods import months_ending, previous_month
from mealservice.oversight.services.risk import WEIGHTS, district_risk
from tests import factories
from tests.core.test_errors import assert_error
from tests.pages import browser_as, html_of


def plant_claim(canteen, month, subsidized, anomalies=(), *, revision=1, status="submitted"):
    """A stored claim with `subsidized` subsidized meals at 5 yuan and `anomalies` as
    (code, meals named) pairs."""
    fen = subsidized * 500
    claim = Claim(
        canteen_id=canteen.id,
        district_code=canteen.district_code,
        month=month,
        revision=revision,
        status=status,
        meals=subsidized + 2,
        subsidized_meals=subsidized,
        meal_subsidy_fen=fen,
        delivery_subsidy_fen=0,
        operating_subsidy_fen=0,
        total_fen=fen,
        approved_fen=None if status == "submitted" else 0,
        made_by="planted",
    )
    _db.session.add(claim)
    _db.session.flush()
    _db.session.add_all(
        ClaimAnomaly(claim_id=claim.id, code=code, meal_ids=list(range(1, meals + 1)), detail={})
        for code, meals in anomalies
    )
    _db.session.flush()
    return claim


@pytest.fixture
def planted(db, district, canteen):
    """Canteen A over August to October, with claims before and after that window; canteen
    B with one claim; canteen C with none; a canteen of another district."""
    a, b = canteen, factories.create_canteen(district)
    c = factories.create_canteen(district)
    plant_claim(a, "2026-07", 10, [("two_places", 5)])  # before the window
    plant_claim(a, "2026-08", 100, [("duplicate_in_slot", 2), ("elder_inactive", 0)])
    plant_claim(a, "2026-09", 50, [("over_capacity", 10)], status="rejected")  # superseded
    plant_claim(a, "2026-09", 100, [("holiday_subsidy", 3)], revision=2)
    plant_claim(a, "2026-10", 200, [("sample_failed", 1), ("offline_conflict", 4)])
    plant_claim(a, "2026-11", 10, [("elder_inactive", 9)])  # after the window
    plant_claim(b, "2026-10", 30, [("card_not_valid", 2)])
    elsewhere = factories.create_district()
    plant_claim(factories.create_canteen(elsewhere), "2026-10", 1, [("two_places", 50)])
    db.session.commit()
    return a, b, c


def test_the_weights_are_the_published_ones():
    assert WEIGHTS == {
        "duplicate_in_slot": 3,
        "two_places": 3,
        "card_not_valid": 3,
        "elder_inactive": 5,
        "sample_failed": 5,
        "holiday_subsidy": 2,
        "delivery_unconfirmed": 2,
        "over_capacity": 1,
        "offline_conflict": 1,
    }


def test_the_window_is_three_months_across_a_new_year():
    assert months_ending("2026-10", 3) == ["2026-08", "2026-09", "2026-10"]
    assert months_ending("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]


def test_the_risk_formula_on_planted_claims(planted, district):
    a, b, c = planted
    body = district_risk(district.code, "2026-10")
    assert body["months"] == ["2026-08", "2026-09", "2026-10"]
    assert [item["canteen_id"] for item in body["items"]] == [b.id, a.id, c.id]
    by_id = {item["canteen_id"]: item for item in body["items"]}

    # 3×2 + 5×1 (an anomaly naming no meal counts once) + 2×3 + 5×1 + 1×4 = 26 over
    # 100 + 100 + 200 subsidized meals; September's rejected revision 1 does not count.
    assert by_id[a.id] == {
        "canteen_id": a.id,
        "canteen_name": a.name,
        "months_covered": ["2026-08", "2026-09", "2026-10"],
        "subsidized_meals": 400,
        "weighted_anomalies": 26,
        "anomalies_by_code": {
            "duplicate_in_slot": {"anomalies": 1, "meals": 2, "weighted": 6},
            "elder_inactive": {"anomalies": 1, "meals": 1, "weighted": 5},
            "holiday_subsidy": {"anomalies": 1, "meals": 3, "weighted": 6},
            "offline_conflict": {"anomalies": 1, "meals": 4, "weighted": 4},
            "sample_failed": {"anomalies": 1, "meals": 1, "weighted": 5},
        },
        "risk": 6.5,
    }
    assert by_id[b.id]["risk"] == 20.0  # 100 × 3×2 / 30
    assert by_id[b.id]["months_covered"] == ["2026-10"]
    assert by_id[c.id] == {
        "canteen_id": c.id,
        "canteen_name": c.name,
        "months_covered": [],
        "subsidized_meals": 0,
        "weighted_anomalies": 0,
        "anomalies_by_code": {},
        "risk": 0.0,
    }


def test_the_risk_is_rounded_to_two_decimals_and_zero_without_subsidized_meals(db, district):
    thirds = factories.create_canteen(district)
    plant_claim(thirds, "2026-10", 3, [("over_capacity", 1)])
    none_subsidized = factories.create_canteen(district)
    plant_claim(none_subsidized, "2026-10", 0, [("offline_conflict", 2)])
    by_id = {i["canteen_id"]: i for i in district_risk(district.code, "2026-10")["items"]}
    assert by_id[thirds.id]["risk"] == 33.33
    assert by_id[none_subsidized.id]["risk"] == 0.0
    assert by_id[none_subsidized.id]["weighted_anomalies"] == 2


def test_several_anomalies_of_one_code_add_up(db, district, canteen):
    plant_claim(canteen, "2026-10", 50, [("two_places", 2), ("two_places", 1)])
    plant_claim(canteen, "2026-09", 50, [("two_places", 3)])
    item = district_risk(district.code, "2026-10", canteen.id)["items"][0]
    assert item["anomalies_by_code"] == {"two_places": {"anomalies": 3, "meals": 6, "weighted": 18}}
    assert item["risk"] == 18.0


# The API


def test_an_official_reads_the_districts_risk(planted, login_as, district):
    a, b, c = planted
    response = login_as("official").get(f"/api/v1/districts/{district.code}/risk?month=2026-10")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["weights"] == WEIGHTS
    assert [(i["canteen_id"], i["risk"]) for i in body["items"]] == [
        (b.id, 20.0),
        (a.id, 6.5),
        (c.id, 0.0),
    ]


def test_the_month_defaults_to_last_month(planted, login_as, district):
    body = login_as("admin").get(f"/api/v1/districts/{district.code}/risk").get_json()
    assert body["month"] == previous_month(district.local_today())
    assert body["months"][-1] == body["month"]


def test_a_manager_sees_only_their_canteen(planted, login_as, district):
    a, _b, _c = planted
    body = login_as("manager").get(f"/api/v1/districts/{district.code}/risk?month=2026-10")
    assert [i["canteen_id"] for i in body.get_json()["items"]] == [a.id]


def test_another_district_is_not_found(planted, login_as, district):
    elsewhere = factories.create_district()
    official = login_as("official", district=elsewhere)
    assert_error(official.get(f"/api/v1/districts/{district.code}/risk"), 404, "not_found")


@pytest.mark.parametrize("month", ["2026-13", "202610", "October", "0000-01", "0001-01"])
def test_a_bad_month_is_named(planted, login_as, district, month):
    response = login_as("official").get(f"/api/v1/districts/{district.code}/risk?month={month}")
    assert "month" in assert_error(response, 422, "validation_error")["fields"]


@pytest.mark.parametrize("role", ["cashier", "family", "volunteer", "inspector"])
def test_other_roles_may_not_read_risk(planted, login_as, district, role):
    response = login_as(role).get(f"/api/v1/districts/{district.code}/risk")
    assert_error(response, 403, "forbidden")


# The page


def test_the_page_writes_the_formula_and_ranks_the_canteens(app, planted, district):
    a, b, c = planted
    official = browser_as(app, "official", district=district)
    response = official.get(f"/districts/{district.code}/risk?month=2026-10")
    html = html_of(response)
    assert response.status_code == 200
    assert "Risk = 100 × Σ (weight × meals named) ÷ subsidized meals" in html
    assert "2026-08 to 2026-10" in html
    for code in WEIGHTS:
        assert f'data-testid="weight-{code}"' in html
    positions = [html.index(f'data-testid="risk-{canteen.id}"') for canteen in (b, a, c)]
    assert positions == sorted(positions)
    assert f'data-testid="risk-score-{a.id}">6.50<' in html
    assert f'data-testid="risk-score-{b.id}">20.00<' in html
    assert 'href="/claims?month=2026-09"' in html


def test_the_page_says_a_bad_month_and_shows_last_month(app, planted, district):
    official = browser_as(app, "official", district=district)
    html = html_of(official.get(f"/districts/{district.code}/risk?month=2026-99"))
    assert 'data-testid="risk-error"' in html
    assert previous_month(district.local_today()) in html


def test_the_page_follows_the_same_scope(app, planted, district, canteen):
    a, b, _c = planted
    manager = browser_as(app, "manager", canteen=canteen)
    html = html_of(manager.get(f"/districts/{district.code}/risk?month=2026-10"))
    assert f'data-testid="risk-{a.id}"' in html and f'data-testid="risk-{b.id}"' not in html
    elsewhere = factories.create_district()
    stranger = browser_as(app, "official", district=elsewhere)
    assert stranger.get(f"/districts/{district.code}/risk").status_code == 404
    cashier = browser_as(app, "cashier", canteen=canteen)
    assert cashier.get(f"/districts/{district.code}/risk").status_code == 403
