"""The claim pages through the test client: an official lists and reviews their district's
claims, anomalies first and names masked; a manager previews, makes and makes again a
claim. Who gets which page, and what a refusal says."""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from mealservice.claims import services
from mealservice.claims.models import (
    Claim,
    ClaimAnomaly,
    ClaimReview,
    ClaimStatus,
    RejectedLine,
)
from mealservice.claims.pages import claims as claims_pages
from mealservice.core.db import db
from tests import factories
from tests.claims.helpers import AFTER_GRACE, CLAIMING_OCTOBER, MONTH, a_clean_month, plant_meal
from tests.core.test_pages import log_in, page_token
from tests.pages import PASSWORD, browser_as, html_of, post_form

pytestmark = CLAIMING_OCTOBER

ID_NUMBER = re.compile(r"\d{17}[\dXx]")


@pytest.fixture
def elders(db, district, canteen, elder):
    factories.create_policy(district)
    return [elder, factories.create_elder(district, canteen.community)]


@pytest.fixture
def official(app, district):
    return browser_as(app, "official", district=district)


@pytest.fixture
def manager(app, canteen):
    return browser_as(app, "manager", canteen=canteen)


def made_claim(canteen, elders, *, duplicate=False) -> Claim:
    """October's claim, two elders eating every weekday lunch (one twice on the 14th with
    `duplicate`), made after the grace period."""
    a_clean_month(canteen, elders)
    if duplicate:
        plant_meal(canteen, elders[0], date(2026, 10, 14), minute=40)
    maker = factories.create_user("manager", canteen=canteen)
    claim = services.make_claim(maker, canteen, MONTH, today=AFTER_GRACE)
    db.session.commit()
    return claim


def claim_url(claim) -> str:
    return f"/claims/{claim.id}"


# Listing


def test_an_official_lists_only_their_own_districts_claims(db, official, canteen, elders):
    ours = made_claim(canteen, elders)
    elsewhere = factories.create_district()
    factories.create_policy(elsewhere)
    far_canteen = factories.create_canteen(elsewhere)
    far_elder = factories.create_elder(elsewhere, far_canteen.community)
    theirs = made_claim(far_canteen, [far_elder])

    response = official.get("/claims")
    html = html_of(response)
    assert response.status_code == 200
    assert f'data-testid="claim-{ours.id}"' in html
    assert f'data-testid="claim-{theirs.id}"' not in html
    assert "Awaiting review" in html and 'class="badge status-submitted"' in html
    assert "¥10,220.00" in html  # 44 meals at ¥5 and the ¥10,000 operating subsidy

    assert official.get(claim_url(theirs)).status_code == 404
    assert official.get(claim_url(ours)).status_code == 200


def test_the_list_filters_by_status(db, official, canteen, elders):
    claim = made_claim(canteen, elders)
    html = html_of(official.get("/claims?status=approved&month=2026-10"))
    assert f'data-testid="claim-{claim.id}"' not in html
    assert 'data-testid="no-claims"' in html
    html = html_of(official.get("/claims?status=submitted&month=2026-10"))
    assert f'data-testid="claim-{claim.id}"' in html


def test_the_claim_page_shows_the_anomalies_before_the_lines_with_names_masked(
    db, official, canteen, elders
):
    claim = made_claim(canteen, elders, duplicate=True)
    html = html_of(official.get(claim_url(claim)))
    assert html.index('data-testid="anomalies"') < html.index('data-testid="lines"')
    assert 'data-testid="anomaly-duplicate_in_slot"' in html
    assert "More than one meal in the same slot" in html
    masked = services.mask_name(elders[0].name)
    assert masked in html
    for person in elders:
        assert person.name not in html
    assert not ID_NUMBER.search(html)
    assert f'href="/api/v1/claims/{claim.id}.xlsx"' in html
    assert f'href="/claims/{claim.id}/print"' in html
    assert 'data-testid="review-form"' in html


def test_the_lines_come_a_hundred_to_a_page(db, official, canteen, district, elders):
    more = [factories.create_elder(district, canteen.community) for _ in range(3)]
    claim = made_claim(canteen, [*elders, *more])  # 5 elders, 22 weekdays: 110 lines
    first = html_of(official.get(claim_url(claim)))
    assert first.count('name="rejected_meal_ids"') == 100
    assert f'href="/claims/{claim.id}?page=2"' in first
    second = html_of(official.get(claim_url(claim) + "?page=2"))
    assert second.count('name="rejected_meal_ids"') == 10
    assert "Next page" not in second


def anomaly_meal_links(html: str) -> dict[int, str]:
    return {
        int(meal_id): href.replace("&amp;", "&")
        for href, meal_id in re.findall(
            r'<a href="([^"]+)" data-testid="anomaly-meal-link">(\d+)</a>', html
        )
    }


@pytest.mark.parametrize("lines_per_page", [100, 10])
def test_each_meal_an_anomaly_names_links_to_its_line(
    db, official, canteen, elders, lines_per_page, monkeypatch
):
    # Ten lines a page puts the duplicate lunches of the 14th on the second and third.
    monkeypatch.setattr(claims_pages, "LINES_PER_PAGE", lines_per_page)
    claim = made_claim(canteen, elders, duplicate=True)
    (anomaly,) = claim.anomalies
    order = [line["meal_id"] for line in services.lines(claim)[0]]
    html = html_of(official.get(claim_url(claim)))
    links = anomaly_meal_links(html)
    assert sorted(links) == sorted(anomaly.meal_ids) and len(links) == 2
    for meal_id, href in links.items():
        assert href.endswith(f"#meal-{meal_id}")
        if href.startswith("#"):
            target = html
        else:
            page = order.index(meal_id) // lines_per_page + 1
            assert href == f"/claims/{claim.id}?page={page}#meal-{meal_id}"
            target = html_of(official.get(href.split("#")[0]))
            # On the page of the line, the same meal links within the page.
            assert anomaly_meal_links(target)[meal_id] == f"#meal-{meal_id}"
        assert re.search(rf'<tr id="meal-{meal_id}" data-testid="line-{meal_id}"', target)
    assert (lines_per_page == 10) is all(not h.startswith("#") for h in links.values())


def test_a_meal_that_is_not_among_the_lines_is_named_without_a_link(db, official, canteen, elders):
    claim = made_claim(canteen, elders)
    stray = max(line["meal_id"] for line in services.lines(claim)[0]) + 1000
    db.session.add(
        ClaimAnomaly(
            claim_id=claim.id,
            code="sample_failed",
            elder_id=elders[0].id,
            meal_ids=[stray],
            detail={"sample_id": 1, "note": "电话核实未就餐"},
        )
    )
    db.session.commit()
    html = html_of(official.get(claim_url(claim)))
    assert anomaly_meal_links(html) == {}
    cell = re.search(r'data-testid="anomaly-meals">(.*?)</td>', html, re.S).group(1)
    assert cell.strip() == str(stray)


# Review


def test_approving_with_two_lines_rejected_partly_approves_the_claim(db, official, canteen, elders):
    claim = made_claim(canteen, elders)
    line_ids = [line["meal_id"] for line in services.lines(claim)[0]][:2]
    response = official.post(
        claim_url(claim) + "/review",
        data={
            "csrf_token": page_token(official, claim_url(claim)),
            "decision": "approve",
            "reason": "两餐无签到记录",
            "rejected_meal_ids": [str(i) for i in line_ids],
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(claim_url(claim))

    db.session.refresh(claim)
    assert claim.status == ClaimStatus.PARTIALLY_APPROVED
    assert claim.approved_fen == claim.total_fen - 2 * 500
    html = html_of(official.get(claim_url(claim)))
    assert "Partly approved" in html
    assert "¥10,210.00" in html
    assert 'data-testid="decision-rejected">2<' in html
    assert "两餐无签到记录" in html
    for meal_id in line_ids:
        row = html[html.index(f'data-testid="line-{meal_id}"') :]
        assert "rejected" in row[: row.index("</tr>")]
    assert 'data-testid="review-form"' not in html


def test_a_review_without_a_reason_names_the_reason_and_saves_nothing(
    db, official, canteen, elders
):
    claim = made_claim(canteen, elders)
    response = post_form(
        official,
        claim_url(claim) + "/review",
        {"decision": "reject", "reason": "   "},
        claim_url(claim),
    )
    assert response.status_code == 422
    html = html_of(response)
    assert 'data-testid="reason-error"' in html and "Reason:" in html
    assert re.search(r'value="reject"[^>]*checked', html)  # what was chosen stays chosen
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.SUBMITTED
    assert db.session.scalar(select(func.count()).select_from(ClaimReview)) == 0


def test_rejecting_the_claim_with_lines_ticked_is_refused_on_the_page(
    db, official, canteen, elders
):
    claim = made_claim(canteen, elders)
    line_id = services.lines(claim)[0][0]["meal_id"]
    response = post_form(
        official,
        claim_url(claim) + "/review",
        {"decision": "reject", "reason": "不符", "rejected_meal_ids": str(line_id)},
        claim_url(claim),
    )
    assert response.status_code == 422
    assert 'data-testid="lines-error"' in html_of(response)
    assert db.session.scalar(select(func.count()).select_from(RejectedLine)) == 0


def test_a_decided_claim_shows_its_decision_and_no_form_and_refuses_a_second(
    db, official, canteen, elders
):
    claim = made_claim(canteen, elders)
    first = post_form(
        official,
        claim_url(claim) + "/review",
        {"decision": "reject", "reason": "材料不全"},
        claim_url(claim),
    )
    assert first.status_code == 302
    html = html_of(official.get(claim_url(claim)))
    assert 'data-testid="review-form"' not in html
    assert 'data-testid="decision"' in html and "材料不全" in html
    assert official.user.username in html

    # A second post, from a page opened before the decision.
    second = official.post(
        claim_url(claim) + "/review",
        data={
            "csrf_token": page_token(official, "/claims"),
            "decision": "approve",
            "reason": "同意",
        },
    )
    assert second.status_code == 409
    html = html_of(second)
    assert "already decided" in html
    assert 'data-testid="review-form"' not in html
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.REJECTED


# The manager's side


def test_a_manager_makes_octobers_claim_and_not_this_months(db, manager, canteen, elders):
    a_clean_month(canteen, elders)
    db.session.commit()
    html = html_of(manager.get("/claims"))
    assert 'data-testid="make-claim"' in html
    assert 'value="2026-10"' in html  # last month by default

    response = post_form(manager, "/claims/make", {"month": MONTH}, "/claims")
    assert response.status_code == 302
    claim = db.session.scalar(select(Claim).where(Claim.canteen_id == canteen.id))
    assert response.headers["Location"].endswith(claim_url(claim))
    assert claim.made_by == manager.user.username and claim.meals == 44
    html = html_of(manager.get(claim_url(claim)))
    assert "The claim for 2026-10 is made." in html
    assert 'data-testid="review-form"' not in html

    again = post_form(manager, "/claims/make", {"month": MONTH}, "/claims")
    assert again.status_code == 409
    assert "already has a claim for 2026-10" in html_of(again)

    now = post_form(manager, "/claims/make", {"month": "2026-11"}, "/claims")
    assert now.status_code == 409
    assert "can be made from 2026-12-03" in html_of(now)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 1


def test_a_manager_previews_a_claim_without_saving_it(db, manager, canteen, elders):
    a_clean_month(canteen, elders)
    db.session.commit()
    response = manager.get("/claims/preview?month=2026-11")
    assert response.status_code == 200
    response = manager.get(f"/claims/preview?month={MONTH}")
    html = html_of(response)
    assert 'data-testid="not-saved"' in html
    assert "¥10,220.00" in html
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0


def test_an_official_previews_a_chosen_meal_place_of_their_district_only(
    db, official, canteen, elders
):
    a_clean_month(canteen, elders)
    elsewhere = factories.create_canteen(factories.create_district())
    html = html_of(official.get("/claims/preview"))
    assert 'data-testid="choose-canteen"' in html and canteen.name in html
    html = html_of(official.get(f"/claims/preview?canteen_id={canteen.id}&month={MONTH}"))
    assert "¥10,220.00" in html
    assert official.get(f"/claims/preview?canteen_id={elsewhere.id}").status_code == 404


def test_a_manager_makes_a_rejected_claim_again_as_the_next_revision(db, manager, canteen, elders):
    claim = made_claim(canteen, elders)
    reviewer = factories.create_user("official", district=canteen.district)
    services.review(reviewer, claim, "reject", "补充签到表")
    db.session.commit()

    html = html_of(manager.get(claim_url(claim)))
    assert "Make it again as revision 2" in html
    response = post_form(manager, claim_url(claim) + "/resubmit", {}, claim_url(claim))
    assert response.status_code == 302
    second = db.session.scalar(
        select(Claim).where(Claim.canteen_id == canteen.id, Claim.revision == 2)
    )
    assert response.headers["Location"].endswith(claim_url(second))
    assert second.status == ClaimStatus.SUBMITTED

    # The old revision is no longer the latest: no button, and a second post is refused.
    assert 'data-testid="resubmit"' not in html_of(manager.get(claim_url(claim)))
    again = post_form(manager, claim_url(claim) + "/resubmit", {}, claim_url(claim))
    assert again.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 2


def test_an_official_may_not_resubmit_and_a_manager_may_not_review(
    db, official, manager, canteen, elders
):
    claim = made_claim(canteen, elders)
    response = post_form(
        manager,
        claim_url(claim) + "/review",
        {"decision": "approve", "reason": "自己批"},
        claim_url(claim),
    )
    assert response.status_code == 403
    assert post_form(official, claim_url(claim) + "/resubmit", {}, "/claims").status_code == 403


@pytest.mark.parametrize("role", ["cashier", "family"])
def test_cashiers_and_families_may_not_see_claims(app, db, role, canteen, elder, elders):
    claim = made_claim(canteen, elders)
    browser = browser_as(app, role, canteen=canteen, elders=[elder])
    assert browser.get("/claims").status_code == 403
    assert browser.get(claim_url(claim)).status_code == 403
    assert browser.get(f"/claims/preview?month={MONTH}").status_code == 403


def test_a_page_form_without_its_csrf_token_is_refused(db, official, canteen, elders):
    claim = made_claim(canteen, elders)
    response = official.post(
        claim_url(claim) + "/review", data={"decision": "approve", "reason": "同意"}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.SUBMITTED


def test_an_administrator_sees_every_district_and_filters_by_one(app, db, canteen, elders):
    ours = made_claim(canteen, elders)
    elsewhere = factories.create_district()
    factories.create_policy(elsewhere)
    far_canteen = factories.create_canteen(elsewhere)
    theirs = made_claim(far_canteen, [factories.create_elder(elsewhere, far_canteen.community)])
    admin = browser_as(app, "admin")
    html = html_of(admin.get("/claims"))
    assert f'data-testid="claim-{ours.id}"' in html and f'data-testid="claim-{theirs.id}"' in html
    assert 'name="district"' in html
    html = html_of(admin.get(f"/claims?district={elsewhere.code}"))
    assert f'data-testid="claim-{ours.id}"' not in html
    assert f'data-testid="claim-{theirs.id}"' in html


def test_the_pages_are_chinese_by_default(app, db, district, canteen, elders):
    claim = made_claim(canteen, elders, duplicate=True)
    user = factories.create_user("official", district=district, password=PASSWORD)
    client = app.test_client()
    log_in(client, user.username, PASSWORD)
    for path in ("/claims", claim_url(claim), f"/claims/preview?canteen_id={canteen.id}"):
        response = client.get(path)
        assert response.status_code == 200
        assert 'lang="zh-CN"' in html_of(response)
