"""An official's oversight in Chromium against the live demo: the district dashboard, a
welfare alert followed from it and closed with a follow-up, and a random sample of a
claim's lines drawn for phone checks; axe-core finds nothing serious on those pages."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mealservice.claims.models import Claim, SampleCheck
from mealservice.elders.models import AlertKind, WelfareAlert
from tests.browser.helpers import log_in, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def oversight(committed, demo_site):
    """The demo's open absence alert and one of its submitted claims."""
    db = committed
    alert_id = db.session.scalar(
        select(WelfareAlert.id).where(
            WelfareAlert.kind == AlertKind.ABSENT, WelfareAlert.followed_up_at.is_(None)
        )
    )
    claim_id = db.session.scalar(
        select(Claim.id).where(Claim.status == "submitted").order_by(Claim.id)
    )
    db.session.close()
    return alert_id, claim_id


def test_an_official_reads_the_dashboard_follows_an_alert_and_draws_a_sample(
    desk, oversight, committed
):
    alert_id, claim_id = oversight
    log_in(desk, "official")
    desk.get_by_test_id("nav-dashboard").click()
    dashboard = desk.get_by_test_id("dashboard")
    expect(dashboard).to_be_visible()
    expect(dashboard).to_contain_text("杭州市西湖区")
    for chart in desk.locator("img[src*='.svg']").all():
        assert chart.evaluate("img => img.decode().then(() => true)")
    assert serious_violations(desk) == []

    desk.get_by_test_id("dashboard-alerts-link").click()
    alert = desk.get_by_test_id(f"alert-{alert_id}")
    expect(alert).to_contain_text("常客多日未就餐")
    assert serious_violations(desk) == []
    desk.get_by_test_id(f"note-{alert_id}").fill("社区网格员上门，老人住院，已告知家属")
    desk.get_by_test_id(f"follow-up-{alert_id}").click()
    expect(desk.get_by_test_id(f"alert-{alert_id}")).to_have_count(0)

    desk.goto(f"/claims/{claim_id}")
    desk.get_by_test_id("samples-link").click()
    desk.locator("#sample-size").fill("5")
    desk.get_by_test_id("draw-sample").click()
    expect(desk.locator("[data-testid^=sample-]")).to_have_count(5)
    assert serious_violations(desk) == []

    committed.session.rollback()
    followed = committed.session.get(WelfareAlert, alert_id)
    assert followed.followed_up_at is not None and followed.followed_up_by == "official"
    drawn = committed.session.scalars(
        select(SampleCheck).where(SampleCheck.claim_id == claim_id)
    ).all()
    assert len(drawn) == 5 and {check.outcome for check in drawn} == {"pending"}
    committed.session.close()


def test_inspection_results_are_public_without_personal_data(phone, committed, demo_site):
    phone.goto("/public/inspections")
    expect(phone.locator("main")).to_contain_text("整改")
    assert "inspector" not in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert serious_violations(phone) == []
