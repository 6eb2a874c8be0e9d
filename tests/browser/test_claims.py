"""An official reviews last month's claim in Chromium against the live demo: the anomalies
come first, a line is ticked and rejected with the decision's reason, and the decision is
final; the pages pass axe. The manager's capacity report shows its chart."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mealservice.claims.models import Claim, ClaimAnomaly, ClaimStatus
from tests.browser.helpers import log_in, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def flagged_claim(committed, demo_site):
    """The demo claim with the most anomalies, and its total."""
    db = committed
    claim_id = db.session.scalar(
        select(ClaimAnomaly.claim_id)
        .group_by(ClaimAnomaly.claim_id)
        .order_by(db.func.count().desc(), ClaimAnomaly.claim_id)
        .limit(1)
    )
    claim = db.session.get(Claim, claim_id)
    facts = (claim.id, claim.total_fen, claim.canteen_id)
    db.session.close()
    return facts


def test_an_official_approves_a_claim_with_a_line_rejected(desk, flagged_claim, committed):
    claim_id, total_fen, _ = flagged_claim
    log_in(desk, "official")
    desk.get_by_test_id("nav-claims").click()
    expect(desk.get_by_test_id("claim-table")).to_be_visible()
    desk.get_by_test_id(f"claim-{claim_id}").get_by_role("link").first.click()

    anomalies = desk.get_by_test_id("anomalies")
    lines = desk.get_by_test_id("lines")
    expect(anomalies).to_be_visible()
    # Anomalies before the lines, in plain words.
    assert anomalies.bounding_box()["y"] < lines.bounding_box()["y"]
    expect(anomalies).to_contain_text("离线扫码冲突")
    assert serious_violations(desk) == []

    first_line = lines.locator("input[name=rejected_meal_ids]").first
    meal_id = int(first_line.get_attribute("value"))
    first_line.check()
    desk.get_by_label("通过", exact=True).check()
    desk.get_by_test_id("review-submit").click()
    # No reason: the browser's own check keeps the form; the page names the field.
    expect(desk.get_by_test_id("claim-status")).not_to_contain_text("部分通过")
    desk.get_by_test_id("reason").fill("电话核实：该日未就餐")
    desk.locator("input[name=rejected_meal_ids]").first.check()
    desk.get_by_test_id("review-submit").click()

    expect(desk.get_by_test_id("claim-status")).to_contain_text("部分通过")
    expect(desk.get_by_test_id("decision-reason")).to_contain_text("电话核实")
    expect(desk.get_by_test_id("review-form")).to_have_count(0)
    expect(desk.get_by_test_id(f"line-{meal_id}")).to_contain_text("已驳回")
    assert serious_violations(desk) == []

    committed.session.rollback()
    claim = committed.session.get(Claim, claim_id)
    assert claim.status == ClaimStatus.PARTIALLY_APPROVED
    assert 0 < claim.approved_fen < total_fen
    committed.session.close()


def test_the_capacity_report_shows_its_chart_and_table_on_a_phone(phone):
    log_in(phone, "manager")
    phone.get_by_test_id("nav-capacity").click()
    chart = phone.get_by_test_id("capacity-chart")
    expect(chart).to_be_visible()
    # The SVG really loaded: the browser decoded it, from the service itself.
    expect(chart).to_have_js_property("complete", True)
    assert chart.evaluate("img => img.decode().then(() => true)")
    answer = phone.request.get(chart.get_attribute("src"))
    assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
    expect(phone.get_by_test_id("capacity-item").first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert serious_violations(phone) == []
