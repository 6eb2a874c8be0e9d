"""The subsidy policy pages: versions with their tiers, a new version with its preview
(the preview's figures are the pricing function's answers), and the holiday calendar."""

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from mealservice.core.db import db
from mealservice.policy import preview, pricing
from mealservice.policy.models import Holiday, SubsidyPolicy
from mealservice.policy.pages import read_form
from mealservice.policy.services import pricing_policies
from tests import factories
from tests.factories import make_id_number
from tests.pages import browser_as, html_of, post_form

NEW_VERSION = {
    "effective_from": "2026-12-01",
    "max_meals_per_slot": "1",
    "delivery_subsidy": "3.00",
    "no_subsidy_on_holidays": "1",
    "refuse_beyond_limit": "1",
    "tier-0-name": "困难老人",
    "tier-0-channel": "any",
    "tier-0-amount": "15",
    "tier-0-categories": ["extreme_poverty", "minimum_allowance"],
    "tier-1-name": "70岁以上",
    "tier-1-min_age": "70",
    "tier-1-channel": "dine_in",
    "tier-1-amount": "7.50",
}


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def served(canteen, district, policy):
    """Today's lunches: a 78-year-old living alone (70+ tier, 5 yuan) and a poor elder
    (困难老人, 15 yuan), and a 60-year-old with no tier."""
    aged = factories.create_elder(district, canteen.community)
    poor = factories.create_elder(district, canteen.community, categories=["minimum_allowance"])
    young = factories.create_elder(
        district,
        canteen.community,
        id_number=make_id_number("330106", date(1966, 1, 1), 7),
        categories=[],
    )
    meals = [factories.create_meal(canteen, elder) for elder in (aged, poor, young)]
    return {"aged": aged, "poor": poor, "young": young, "meals": meals}


def _data(district, **changes):
    form = MultiDict()
    for key, value in {**NEW_VERSION, **changes}.items():
        for item in value if isinstance(value, list) else [value]:
            form.add(key, item)
    return read_form(form)


def test_the_preview_reprices_each_recent_meal_with_the_pricing_function(app, district, served):
    data = _data(district)
    shown = preview.preview_version(district, data, district.local_today())

    since, samples = preview.recent_samples(district, district.local_today())
    assert len(samples) == 3 and shown.meals == 3 and shown.elders == 3
    proposed = preview.proposed_policy(district, data)
    before = after = 0
    for sample in samples:
        before += preview.subsidy_of(
            pricing.price_meal(pricing_policies(district.code), sample.elder, sample.meal)
        )
        moved = replace(proposed, effective_from=sample.meal.local_date)
        after += preview.subsidy_of(pricing.price_meal([moved], sample.elder, sample.meal))
    assert (shown.subsidy_before_fen, shown.subsidy_after_fen) == (before, after)
    # 70+ goes from 5 to 7.50 yuan; 困难老人 stays at 15; the 60-year-old stays at nothing.
    assert (before, after) == (500 + 1500, 750 + 1500)
    assert (shown.elders_up, shown.elders_down, shown.elders_same) == (1, 0, 2)
    rows = {row.tier: row for row in shown.tiers}
    assert (rows["70岁以上"].elders_up, rows["70岁以上"].meals) == (1, 1)
    assert (rows["困难老人"].elders_same, rows["困难老人"].subsidy_after_fen) == (1, 1500)
    assert rows[preview.NO_TIER].elders_same == 1


def test_a_lower_tier_in_the_preview_counts_elders_whose_subsidy_goes_down(app, district, served):
    data = _data(district, **{"tier-1-amount": "3"})
    shown = preview.preview_version(district, data, district.local_today())
    assert (shown.elders_up, shown.elders_down, shown.elders_same) == (0, 1, 2)


def test_the_preview_writes_nothing(app, district, served):
    preview.preview_version(district, _data(district), district.local_today())
    assert db.session.scalars(select(SubsidyPolicy)).all() == [
        db.session.get(SubsidyPolicy, served["meals"][0].policy_version)
    ]


def test_an_official_reads_the_versions_with_their_tiers(app, district, policy):
    official = browser_as(app, "official", district=district)
    page = html_of(official.get("/policies"))
    assert f'data-testid="version-{policy.id}"' in page
    assert "困难老人" in page and "¥15.00" in page and "In force" in page
    assert 'data-testid="new-version"' in page


def test_a_manager_reads_the_versions_but_is_offered_no_new_one(app, district, canteen, policy):
    manager = browser_as(app, "manager", canteen=canteen)
    page = html_of(manager.get("/policies"))
    assert "困难老人" in page and 'data-testid="new-version"' not in page
    assert manager.get("/policies/new").status_code == 403


def test_the_new_version_form_starts_from_the_version_in_force(app, district, policy):
    official = browser_as(app, "official", district=district)
    page = html_of(official.get("/policies/new"))
    assert 'value="困难老人"' in page and 'value="15.00"' in page and 'value="3.00"' in page


def test_the_page_shows_the_preview_and_creates_nothing(app, district, served):
    official = browser_as(app, "official", district=district)
    response = post_form(
        official, "/policies/new", {**NEW_VERSION, "action": "preview"}, "/policies/new"
    )
    page = html_of(response)
    assert response.status_code == 200 and 'data-testid="policy-preview"' in page
    assert "More subsidy: 1 elders" in page and "¥20.00 → ¥22.50" in page
    assert len(db.session.scalars(select(SubsidyPolicy)).all()) == 1


def test_the_page_creates_the_version_through_the_service(app, district, policy):
    official = browser_as(app, "official", district=district)
    response = post_form(
        official, "/policies/new", {**NEW_VERSION, "action": "create"}, "/policies/new"
    )
    assert response.status_code == 302
    made = db.session.scalar(
        select(SubsidyPolicy).where(SubsidyPolicy.effective_from == date(2026, 12, 1))
    )
    assert made.created_by == official.user.username
    assert [(t.name, t.amount_fen, t.channel, t.min_age, t.categories) for t in made.tiers] == [
        ("困难老人", 1500, "any", None, ["extreme_poverty", "minimum_allowance"]),
        ("70岁以上", 750, "dine_in", 70, None),
    ]
    assert made.delivery_subsidy_fen == 300


def test_bad_input_is_named_by_field_and_nothing_is_made(app, district, policy):
    official = browser_as(app, "official", district=district)
    response = post_form(
        official,
        "/policies/new",
        {**NEW_VERSION, "tier-1-amount": "lots", "effective_from": "", "action": "create"},
        "/policies/new",
    )
    page = html_of(response)
    assert response.status_code == 422
    assert "Tier 2 amount" in page and "Effective from" in page
    assert 'value="70岁以上"' in page  # what was typed stays
    assert len(db.session.scalars(select(SubsidyPolicy)).all()) == 1


def test_a_version_reaching_back_over_served_meals_is_refused_in_words(app, district, served):
    official = browser_as(app, "official", district=district)
    today = district.local_today().isoformat()
    response = post_form(
        official,
        "/policies/new",
        {**NEW_VERSION, "effective_from": today, "action": "create"},
        "/policies/new",
    )
    assert response.status_code == 422
    assert "already priced under the current version" in html_of(response)


def test_an_admin_adds_and_removes_a_holiday(app, district):
    admin = browser_as(app, "admin")
    response = post_form(
        admin, "/holidays", {"day": "2026-10-01", "name": "国庆节"}, "/holidays?year=2026"
    )
    assert response.status_code == 302
    assert db.session.get(Holiday, date(2026, 10, 1)).name == "国庆节"
    page = html_of(admin.get("/holidays?year=2026"))
    assert 'data-testid="holiday-2026-10-01"' in page and "国庆节" in page

    response = post_form(admin, "/holidays/2026-10-01/remove", {}, "/holidays?year=2026")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Holiday, date(2026, 10, 1)) is None


def test_a_holiday_without_a_date_is_refused_in_words(app, district):
    admin = browser_as(app, "admin")
    response = post_form(admin, "/holidays", {"day": "soon", "name": "国庆节"}, "/holidays")
    assert "the date must look like 2026-11-24" in html_of(admin.get(response.location))
    assert db.session.scalars(select(Holiday)).all() == []


def test_an_official_reads_the_holidays_but_may_not_change_them(app, district):
    factories.create_holiday(date(2026, 10, 1), "国庆节")
    official = browser_as(app, "official", district=district)
    page = html_of(official.get("/holidays?year=2026"))
    assert "国庆节" in page and 'data-testid="holiday-form"' not in page
    assert (
        post_form(
            official, "/holidays", {"day": "2026-10-02", "name": "x"}, "/holidays"
        ).status_code
        == 403
    )
