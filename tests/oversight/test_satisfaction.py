"""Satisfaction per meal place: counts, averages, the spread of scores and the comments
worst first, for the district's officials and a manager's own place."""

from datetime import date, datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from mealservice.core.db import db as _db
from mealservice.meals.models import Rating
from mealservice.oversight.services.satisfaction import average_of, district_satisfaction
from tests import factories
from tests.claims.helpers import plant_meal
from tests.core.test_errors import assert_error
from tests.pages import browser_as, html_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN = SimpleNamespace(role="admin", username="test-admin", canteen_id=None)


def rate(canteen, elder, day: date, score: int, comment: str | None = None, hour: int = 13):
    meal = plant_meal(canteen, elder, day)
    rating = Rating(
        meal_id=meal.id,
        elder_id=elder.id,
        canteen_id=canteen.id,
        score=score,
        comment=comment,
        rated_by="family1",
        rated_at=datetime.combine(day, time(hour), SHANGHAI),
    )
    _db.session.add(rating)
    _db.session.commit()
    return rating


@pytest.fixture
def ratings(district, canteen, elder):
    """October at the test canteen: scores 5, 4, 4, 2, 1 (average 3.2), three with comments;
    one rating at another canteen, and one given in November."""
    other_elder = factories.create_elder(district, canteen.community, name="王秀英")
    made = {
        "five": rate(canteen, elder, date(2026, 10, 3), 5, "很好吃"),
        "four": rate(canteen, elder, date(2026, 10, 5), 4),
        "four_b": rate(canteen, other_elder, date(2026, 10, 6), 4, ""),
        "two": rate(canteen, other_elder, date(2026, 10, 8), 2, "太咸了"),
        "one": rate(canteen, elder, date(2026, 10, 9), 1, "饭是凉的"),
        "november": rate(canteen, elder, date(2026, 11, 2), 1, "下个月的"),
    }
    other = factories.create_canteen(district)
    made["other"] = rate(other, elder, date(2026, 10, 4), 3, "一般")
    # Given just after midnight on 1 November in Shanghai: November's, not October's.
    made["midnight"] = rate(canteen, elder, date(2026, 10, 31), 1, "午夜", hour=0)
    made["midnight"].rated_at = datetime(2026, 11, 1, 0, 5, tzinfo=SHANGHAI)
    _db.session.commit()
    made["other_canteen"] = other
    made["other_elder"] = other_elder
    return made


def item_of(body, canteen):
    [item] = [i for i in body["items"] if i["canteen_id"] == canteen.id]
    return item


def test_the_month_is_counted_per_canteen(district, canteen, ratings):
    body = district_satisfaction(ADMIN, district, "2026-10")

    item = item_of(body, canteen)
    assert item["ratings"] == 5
    assert item["average"] == 3.2
    assert item["distribution"] == {"1": 1, "2": 1, "3": 0, "4": 2, "5": 1}
    other = item_of(body, ratings["other_canteen"])
    assert (other["ratings"], other["average"]) == (1, 3.0)


def test_comments_come_worst_first_with_names_masked(district, canteen, elder, ratings):
    item = item_of(district_satisfaction(ADMIN, district, "2026-10"), canteen)

    assert [(c["score"], c["comment"]) for c in item["comments"]] == [
        (1, "饭是凉的"),
        (2, "太咸了"),
        (5, "很好吃"),
    ]
    assert item["comment_count"] == 3
    assert item["comments"][1]["elder_name"] == "王*英"
    assert item["comments"][0]["elder_name"] != elder.name
    assert item["comments"][0]["date"] == date(2026, 10, 9)


def test_among_equal_scores_the_newest_comes_first(district, canteen, elder):
    rate(canteen, elder, date(2026, 10, 2), 2, "older")
    rate(canteen, elder, date(2026, 10, 20), 2, "newer")

    item = item_of(district_satisfaction(ADMIN, district, "2026-10"), canteen)

    assert [c["comment"] for c in item["comments"]] == ["newer", "older"]


def test_a_canteen_without_ratings_has_no_average(district, canteen):
    item = item_of(district_satisfaction(ADMIN, district, "2026-10"), canteen)

    assert (item["ratings"], item["average"], item["comments"]) == (0, None, [])


def test_averages_round_halves_up():
    assert average_of({1: 0, 2: 0, 3: 0, 4: 3, 5: 1}) == 4.3  # 4.25
    assert average_of({1: 1, 2: 0, 3: 0, 4: 0, 5: 2}) == 3.7  # 3.666...
    assert average_of(dict.fromkeys(range(1, 6), 0)) is None


# The API


@pytest.mark.parametrize("role", ["admin", "official"])
def test_officials_see_every_canteen_of_their_district(login_as, district, canteen, ratings, role):
    response = login_as(role).get(f"/api/v1/districts/{district.code}/satisfaction?month=2026-10")

    assert response.status_code == 200
    body = response.get_json()
    assert body["month"] == "2026-10"
    assert {i["canteen_id"] for i in body["items"]} == {canteen.id, ratings["other_canteen"].id}
    item = item_of(body, canteen)
    assert item["average"] == 3.2
    assert item["comments"][0]["date"] == "2026-10-09"
    assert "rated_at" in item["comments"][0]


def test_a_manager_sees_only_their_own_canteen(login_as, district, canteen, ratings):
    body = (
        login_as("manager")
        .get(f"/api/v1/districts/{district.code}/satisfaction?month=2026-10")
        .get_json()
    )

    assert [i["canteen_id"] for i in body["items"]] == [canteen.id]


@pytest.mark.parametrize("role", ["official", "manager"])
def test_another_district_is_not_found(login_as, role):
    elsewhere = factories.create_district()

    response = login_as(role).get(f"/api/v1/districts/{elsewhere.code}/satisfaction?month=2026-10")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "query", ["", "?month=2026-13", "?month=October", "?month=0000-01", "?month=0001-01"]
)
def test_a_bad_month_is_refused(login_as, district, query):
    response = login_as("official").get(f"/api/v1/districts/{district.code}/satisfaction{query}")

    assert "month" in assert_error(response, 422, "validation_error")["fields"]


@pytest.mark.parametrize("role", ["cashier", "family", "elder", "volunteer", "inspector"])
def test_other_roles_may_not_read_satisfaction(login_as, district, role):
    response = login_as(role).get(f"/api/v1/districts/{district.code}/satisfaction?month=2026-10")

    assert response.status_code in (403, 404)


# The page


def test_the_page_shows_an_officials_district(app, district, canteen, ratings):
    browser = browser_as(app, "official", district=district)

    html = html_of(browser.get("/satisfaction?month=2026-10"))

    assert "Average 3.2 of 5 from 5 ratings" in html
    assert "饭是凉的" in html
    assert "王*英" in html
    assert ratings["other_canteen"].name in html
    assert ratings["other_elder"].name not in html
    assert html.index("饭是凉的") < html.index("太咸了") < html.index("很好吃")


def test_the_page_shows_a_manager_only_their_canteen(app, district, canteen, ratings):
    browser = browser_as(app, "manager", canteen=canteen)

    html = html_of(browser.get("/satisfaction?month=2026-10"))

    assert canteen.name in html
    assert ratings["other_canteen"].name not in html


def test_an_administrator_picks_the_district(app, district, canteen, ratings):
    browser = browser_as(app, "admin")

    assert 'data-testid="choose-district"' in html_of(browser.get("/satisfaction"))
    html = html_of(browser.get(f"/satisfaction?district={district.code}&month=2026-10"))
    assert "Average 3.2 of 5 from 5 ratings" in html


def test_the_page_defaults_to_this_month_and_flags_a_bad_one(app, district, canteen, ratings):
    browser = browser_as(app, "official", district=district)

    html = html_of(browser.get("/satisfaction?month=soon"))

    assert 'data-testid="bad-month"' in html
    assert f'value="{district.local_today():%Y-%m}"' in html


def test_the_page_refuses_a_cashier(app, canteen):
    browser = browser_as(app, "cashier", canteen=canteen)

    assert browser.get("/satisfaction").status_code == 403
