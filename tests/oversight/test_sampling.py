"""Random checks of a claim (随机抽查): lines drawn at random from an undecided claim, each
call recorded once, a denied line kept as a `sample_failed` anomaly through rechecks;
through the API and through the page."""

import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from mealservice.claims import sampling, services
from mealservice.claims.models import ClaimAnomaly, SampleCheck
from mealservice.core.db import db as _db
from mealservice.core.errors import ValidationFailed
from tests import factories
from tests.claims.helpers import AFTER_GRACE, CLAIMING_OCTOBER, MONTH, a_clean_month, plant_meal
from tests.core.test_errors import assert_error
from tests.pages import browser_as, html_of, post_form

pytestmark = CLAIMING_OCTOBER

OFFICIAL = SimpleNamespace(username="official-1", role="official", canteen_id=None)
PHONE_MASKED = re.compile(r"^\d{3}\*{4}\d{4}$")


@pytest.fixture
def elders(db, district, canteen, elder):
    factories.create_policy(district)
    return [elder, factories.create_elder(district, canteen.community)]


@pytest.fixture
def claim(db, canteen, elders):
    """October's claim: two elders at every weekday lunch (44 lines), one voided meal."""
    a_clean_month(canteen, elders)
    plant_meal(
        canteen,
        elders[0],
        date(2026, 10, 4),
        voided_at=datetime(2026, 10, 4, 5, tzinfo=UTC),
        voided_by="planted",
        void_reason="刷错卡",
    )
    made = services.make_claim(OFFICIAL, canteen, MONTH, today=AFTER_GRACE)
    db.session.commit()
    return made


def claim_meal_ids(claim) -> set[int]:
    return {line["meal_id"] for line in services.lines(claim)[0]}


def draw(client, claim, body=None):
    return client.post(f"/api/v1/claims/{claim.id}/samples", json=body if body is not None else {})


def outcome(client, sample_id, result, note=None):
    body = {"outcome": result} if note is None else {"outcome": result, "note": note}
    return client.post(f"/api/v1/samples/{sample_id}/outcome", json=body)


# Drawing


def test_an_official_draws_lines_of_the_claim_at_random(login_as, claim, elders):
    official = login_as("official")
    response = draw(official, claim, {"size": 5})
    assert response.status_code == 201, response.get_json()
    items = response.get_json()["items"]
    assert len(items) == 5
    assert len({item["meal_id"] for item in items}) == 5
    assert {item["meal_id"] for item in items} <= claim_meal_ids(claim)
    for item in items:
        assert item["outcome"] == "pending" and item["checked_at"] is None
        assert item["canteen_id"] == claim.canteen_id and item["canteen"] == claim.canteen.name
        assert "*" in item["elder"]
        assert PHONE_MASKED.match(item["phone_masked"])
    assert not {elder.phone for elder in elders} & {i["phone_masked"] for i in items}
    assert all(elder.name not in response.get_data(as_text=True) for elder in elders)

    listed = official.get(f"/api/v1/claims/{claim.id}/samples").get_json()["items"]
    assert [i["id"] for i in listed] == [i["id"] for i in items]


def test_the_default_is_ten_lines(login_as, claim):
    assert len(draw(login_as("official"), claim).get_json()["items"]) == 10


def test_a_line_is_never_drawn_twice_and_a_short_claim_gives_what_is_left(db, claim):
    first = sampling.draw_sample(OFFICIAL, claim, 40)
    rest = sampling.draw_sample(OFFICIAL, claim, 50)
    assert len(first) == 40 and len(rest) == 4
    drawn = {check.meal_id for check in first + rest}
    assert drawn == claim_meal_ids(claim)  # every line once, the voided meal never
    assert sampling.draw_sample(OFFICIAL, claim, 10) == []


@pytest.mark.parametrize("size", [0, 51, -1, "ten", 2.5, None])
def test_sizes_out_of_range_name_the_size(login_as, claim, size):
    error = assert_error(draw(login_as("official"), claim, {"size": size}), 422, "validation_error")
    assert "size" in error["fields"]


def test_the_service_refuses_sizes_out_of_range_too(db, claim):
    with pytest.raises(ValidationFailed) as caught:
        sampling.draw_sample(OFFICIAL, claim, 51)
    assert caught.value.fields == {"size": ["Draw from 1 to 50 lines."]}


def test_a_decided_claim_is_not_sampled(db, login_as, claim):
    services.review(OFFICIAL, claim, "approve", "核对无误")
    db.session.commit()
    assert_error(draw(login_as("official"), claim, {"size": 3}), 409, "claim_decided")
    assert db.session.scalar(select(func.count()).select_from(SampleCheck)) == 0


def test_a_manager_reads_the_checks_of_their_claim_but_draws_none(login_as, claim):
    sampling.draw_sample(OFFICIAL, claim, 2)
    manager = login_as("manager")
    assert len(manager.get(f"/api/v1/claims/{claim.id}/samples").get_json()["items"]) == 2
    assert_error(draw(manager, claim), 403, "forbidden")


def test_another_districts_official_finds_neither_claim_nor_check(db, login_as, claim):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    db.session.commit()
    elsewhere = factories.create_district()
    stranger = login_as("official", district=elsewhere)
    assert_error(stranger.get(f"/api/v1/claims/{claim.id}/samples"), 404, "not_found")
    assert_error(draw(stranger, claim), 404, "not_found")
    assert_error(outcome(stranger, check.id, "confirmed"), 404, "not_found")
    assert_error(outcome(login_as("official"), 2**31 - 1, "confirmed"), 404, "not_found")


# Recording outcomes


def test_a_failed_check_becomes_an_anomaly_of_the_claim(db, login_as, claim):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    db.session.commit()
    official = login_as("official")

    response = outcome(official, check.id, "failed", "  老人说当天没去食堂  ")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["outcome"] == "failed" and body["note"] == "老人说当天没去食堂"
    assert body["checked_by"] == official.user.username and body["checked_at"]

    anomalies = official.get(f"/api/v1/claims/{claim.id}").get_json()["anomalies"]
    failed = [a for a in anomalies if a["code"] == "sample_failed"]
    assert failed == [
        {
            "code": "sample_failed",
            "meal_ids": [check.meal_id],
            "elder_id": body["elder_id"],
            "detail": {"sample_id": check.id, "note": "老人说当天没去食堂"},
        }
    ]


def test_a_recheck_keeps_the_failed_check(db, claim):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    sampling.record_outcome(OFFICIAL, check, "failed", "没有吃")
    services.recheck(claim)
    _db.session.expire_all()
    codes = _db.session.scalars(
        select(ClaimAnomaly.code).where(ClaimAnomaly.claim_id == claim.id)
    ).all()
    assert codes == ["sample_failed"]


@pytest.mark.parametrize("result", ["confirmed", "unreachable"])
def test_other_outcomes_add_no_anomaly(db, login_as, claim, result):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    db.session.commit()
    official = login_as("official")
    assert outcome(official, check.id, result).get_json()["outcome"] == result
    assert official.get(f"/api/v1/claims/{claim.id}").get_json()["anomalies"] == []


def test_an_outcome_is_recorded_once(db, login_as, claim):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    db.session.commit()
    official = login_as("official")
    assert outcome(official, check.id, "confirmed").status_code == 200
    error = assert_error(outcome(official, check.id, "failed", "再打一次"), 409, "sample_recorded")
    assert error["detail"] == {"outcome": "confirmed"}
    assert official.get(f"/api/v1/claims/{claim.id}").get_json()["anomalies"] == []


def test_a_failed_check_needs_an_undecided_claim(db, login_as, claim):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    services.review(OFFICIAL, claim, "approve", "核对无误")
    db.session.commit()
    official = login_as("official")
    assert_error(outcome(official, check.id, "failed"), 409, "claim_decided")
    # The call's finding is still a fact worth keeping when it accuses nobody.
    assert outcome(official, check.id, "unreachable").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "pending"}, "outcome"),
        ({}, "outcome"),
        ({"outcome": "failed", "note": "x" * 301}, "note"),
    ],
)
def test_outcome_input_is_checked(db, login_as, claim, body, field):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    db.session.commit()
    response = login_as("official").post(f"/api/v1/samples/{check.id}/outcome", json=body)
    assert field in assert_error(response, 422, "validation_error")["fields"]


def test_a_manager_may_not_record_an_outcome(db, login_as, claim):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    db.session.commit()
    assert_error(outcome(login_as("manager"), check.id, "confirmed"), 403, "forbidden")


# The page


def test_an_official_draws_and_records_on_the_page(app, db, district, claim):
    official = browser_as(app, "official", district=district)
    page = f"/claims/{claim.id}/samples"
    html = html_of(official.get(page))
    assert 'data-testid="draw-sample"' in html and 'data-testid="no-checks"' in html

    response = post_form(official, page, {"size": "3"}, page)
    assert response.status_code == 302, html_of(response)
    html = html_of(official.get(page))
    assert "Lines drawn for checking: 3." in html
    checks = _db.session.scalars(select(SampleCheck).order_by(SampleCheck.id)).all()
    assert len(checks) == 3
    for check in checks:
        assert f'data-testid="sample-{check.id}"' in html
    assert not re.search(r"1\d{10}", html)  # no full phone number

    first = checks[0]
    response = post_form(
        official,
        f"/samples/{first.id}/outcome",
        {"outcome": "failed", "note": "老人说没吃"},
        page,
    )
    assert response.status_code == 302
    html = html_of(official.get(page))
    assert "is now an anomaly of the claim" in html
    assert f'data-testid="became-anomaly-{first.id}"' in html
    assert f'data-testid="outcome-form-{first.id}"' not in html
    assert f'data-testid="outcome-form-{checks[1].id}"' in html


def test_the_page_says_why_a_draw_is_refused(app, db, district, claim):
    official = browser_as(app, "official", district=district)
    page = f"/claims/{claim.id}/samples"
    response = post_form(official, page, {"size": "99"}, page)
    assert response.status_code == 422
    assert "draw from 1 to 50" in html_of(response)


def test_a_second_outcome_on_the_page_is_refused_in_words(app, db, district, claim):
    check = sampling.draw_sample(OFFICIAL, claim, 1)[0]
    db.session.commit()
    official = browser_as(app, "official", district=district)
    page = f"/claims/{claim.id}/samples"
    post_form(official, f"/samples/{check.id}/outcome", {"outcome": "confirmed"}, page)
    response = post_form(official, f"/samples/{check.id}/outcome", {"outcome": "failed"}, page)
    assert response.status_code == 409
    assert "already recorded" in html_of(response)


def test_a_manager_sees_the_checks_without_forms(app, db, canteen, claim):
    sampling.draw_sample(OFFICIAL, claim, 2)
    db.session.commit()
    manager = browser_as(app, "manager", canteen=canteen)
    html = html_of(manager.get(f"/claims/{claim.id}/samples"))
    assert 'data-testid="draw-sample"' not in html
    assert "outcome-form-" not in html
    assert "Not called yet" in html
    page = f"/claims/{claim.id}/samples"
    assert post_form(manager, page, {"size": "1"}, page).status_code == 403


def test_a_decided_claim_offers_no_draw(app, db, district, claim):
    services.review(OFFICIAL, claim, "reject", "材料不全")
    db.session.commit()
    official = browser_as(app, "official", district=district)
    html = html_of(official.get(f"/claims/{claim.id}/samples"))
    assert 'data-testid="draw-sample"' not in html
    assert 'data-testid="claim-decided"' in html
