from datetime import date

import pytest

from mealservice.policy import pricing
from mealservice.policy.services import is_holiday, pricing_policies
from tests import factories
from tests.core.test_errors import assert_error

# Shenzhen Futian's figures (DOMAIN.md): 15 yuan for the groups in hardship, 5 yuan at 70+.
FUTIAN = {
    "effective_from": "2026-01-01",
    "no_subsidy_on_holidays": True,
    "max_meals_per_slot": 1,
    "max_subsidized_per_day": 1,
    "delivery_subsidy_fen": 300,
    "tiers": [
        {
            "name": "困难老人",
            "categories": ["extreme_poverty", "minimum_allowance", "living_alone"],
            "channel": "any",
            "amount_fen": 1500,
        },
        {"name": "70岁以上", "min_age": 70, "channel": "any", "amount_fen": 500},
    ],
}


def policies_url(district):
    return f"/api/v1/districts/{district.code}/subsidy-policies"


def test_an_official_sets_the_districts_policy(login_as, district):
    response = login_as("official").post(policies_url(district), json=FUTIAN)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["effective_from"] == "2026-01-01"
    assert body["refuse_beyond_limit"] is True
    assert [t["name"] for t in body["tiers"]] == ["困难老人", "70岁以上"]
    assert body["tiers"][0]["categories"] == [
        "extreme_poverty",
        "living_alone",
        "minimum_allowance",
    ]
    assert body["tiers"][1]["min_age"] == 70 and body["tiers"][1]["categories"] is None
    assert body["created_by"].startswith("official")


def test_versions_are_listed_newest_first_and_managers_read_them(login_as, district):
    official = login_as("official")
    official.post(policies_url(district), json=FUTIAN)
    official.post(policies_url(district), json={**FUTIAN, "effective_from": "2026-07-01"})
    listed = login_as("manager").get(policies_url(district)).get_json()["items"]
    assert [p["effective_from"] for p in listed] == ["2026-07-01", "2026-01-01"]


def test_two_versions_cannot_start_on_the_same_day(login_as, district):
    official = login_as("official")
    official.post(policies_url(district), json=FUTIAN)
    error = assert_error(
        official.post(policies_url(district), json=FUTIAN), 422, "validation_error"
    )
    assert "effective_from" in error["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tiers": []}, "tiers"),
        ({"tiers": [{"name": "x", "channel": "boat", "amount_fen": 1}]}, "tiers.0.channel"),
        ({"tiers": [{"name": "x", "channel": "any", "amount_fen": 1.5}]}, "tiers.0.amount_fen"),
        ({"tiers": [{"name": "x", "channel": "any", "amount_fen": -1}]}, "tiers.0.amount_fen"),
        (
            {"tiers": [{"name": "x", "channel": "any", "amount_fen": 1, "categories": []}]},
            "tiers.0.categories",
        ),
        (
            {"tiers": [{"name": "x", "channel": "any", "amount_fen": 1, "categories": ["rich"]}]},
            "tiers.0.categories.0",
        ),
        ({"tiers": [{"name": "x", "channel": "any", "amount_fen": 1}] * 2}, "tiers"),
        ({"tiers": [{"channel": "any", "amount_fen": 1}]}, "tiers.0.name"),
        (
            {
                "tiers": [
                    {"name": "x", "channel": "any", "amount_fen": 1},
                    {"name": "", "channel": "any", "amount_fen": 1},
                ]
            },
            "tiers.1.name",
        ),
        ({"max_meals_per_slot": 0}, "max_meals_per_slot"),
        ({"max_subsidized_per_day": 0}, "max_subsidized_per_day"),
        ({"delivery_subsidy_fen": 2.5}, "delivery_subsidy_fen"),
        ({"effective_from": "next week"}, "effective_from"),
    ],
)
def test_bad_policy_fields_are_named(login_as, district, change, field):
    error = assert_error(
        login_as("official").post(policies_url(district), json={**FUTIAN, **change}),
        422,
        "validation_error",
    )
    assert field in error["fields"], error["fields"]


def test_an_official_cannot_set_another_districts_policy(login_as):
    elsewhere = factories.create_district()
    assert_error(login_as("official").post(policies_url(elsewhere), json=FUTIAN), 404, "not_found")


@pytest.mark.parametrize("role", ["manager", "cashier", "family"])
def test_only_admins_and_officials_set_policies(login_as, district, role):
    assert_error(login_as(role).post(policies_url(district), json=FUTIAN), 403, "forbidden")


def test_a_stored_policy_prices_meals_through_the_one_pricing_function(
    login_as, district, elder, db
):
    login_as("official").post(policies_url(district), json=FUTIAN)
    facts = pricing.ElderFacts(
        hukou_district=district.code,
        birth_date=elder.birth_date,
        categories=frozenset(elder.categories),
    )
    lunch = pricing.MealFacts(
        canteen_district=district.code,
        local_date=date(2026, 11, 24),
        slot="lunch",
        channel="dine_in",
        price_fen=1800,
    )
    price = pricing.price_meal(pricing_policies(district.code), facts, lunch)
    assert (price.subsidy_fen, price.elder_pays_fen, price.tier) == (1500, 300, "困难老人")
    assert price.policy_version is not None


def test_the_holiday_calendar_is_data(login_as, db):
    admin = login_as("admin")
    response = admin.put("/api/v1/holidays/2026-10-01", json={"name": "国庆节"})
    assert response.status_code == 200
    assert response.get_json() == {"date": "2026-10-01", "name": "国庆节"}
    assert is_holiday(date(2026, 10, 1))
    renamed = admin.put("/api/v1/holidays/2026-10-01", json={"name": "国庆节 (1)"}).get_json()
    assert renamed["name"] == "国庆节 (1)"
    admin.put("/api/v1/holidays/2027-01-01", json={"name": "元旦"})
    listed = login_as("official").get("/api/v1/holidays?year=2026").get_json()["items"]
    assert [h["date"] for h in listed] == ["2026-10-01"]
    assert admin.delete("/api/v1/holidays/2026-10-01").status_code == 200
    assert not is_holiday(date(2026, 10, 1))
    assert_error(admin.delete("/api/v1/holidays/2026-10-01"), 404, "not_found")


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-01", "tomorrow"])
def test_impossible_holiday_dates_are_not_found(login_as, day):
    assert_error(
        login_as("admin").put(f"/api/v1/holidays/{day}", json={"name": "x"}), 404, "not_found"
    )


def test_a_holiday_needs_a_name(login_as):
    error = assert_error(
        login_as("admin").put("/api/v1/holidays/2026-05-01", json={}), 422, "validation_error"
    )
    assert error["fields"] == {"name": ["Missing data for required field."]}


@pytest.mark.parametrize("role", ["official", "manager"])
def test_only_admins_keep_the_holiday_calendar(login_as, role):
    assert_error(
        login_as(role).put("/api/v1/holidays/2026-05-01", json={"name": "劳动节"}), 403, "forbidden"
    )


def test_a_version_may_slot_in_before_the_versions_that_priced_meals(login_as, district):
    from datetime import timedelta

    from tests.factories import create_canteen, create_card, create_meal, create_menu

    today = district.local_today()
    official = login_as("official")
    url = policies_url(district)
    assert official.post(url, json={**FUTIAN, "effective_from": "2026-01-01"}).status_code == 201
    later = (today - timedelta(days=1)).isoformat()
    assert official.post(url, json={**FUTIAN, "effective_from": later}).status_code == 201
    canteen = create_canteen(district)
    create_menu(canteen, today)
    elder = factories.create_elder(district, canteen.community)
    create_card(elder)
    create_meal(canteen, elder)
    # Between the two: it would never price today's meal, which the later version keeps.
    between = (today - timedelta(days=2)).isoformat()
    assert official.post(url, json={**FUTIAN, "effective_from": between}).status_code == 201
    refused = official.post(url, json={**FUTIAN, "effective_from": today.isoformat()})
    assert "effective_from" in assert_error(refused, 422, "validation_error")["fields"]
