"""The district dashboard: coverage, the month's meals, subsidy and seat use, open
anomalies and alerts, as a service, through the API and on its page with its charts."""

import re
from datetime import date
from html import unescape

import pytest

from mealservice.claims.models import AnomalyCode, Claim, ClaimAnomaly, ClaimStatus
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.periods import month_of
from mealservice.elders.models import AlertKind, ElderStatus, WelfareAlert
from mealservice.menus.models import MenuStatus
from mealservice.oversight.pages import dashboard as dashboard_pages
from mealservice.oversight.services.dashboard import district_dashboard
from mealservice.places.registry import add_to_blacklist
from tests import factories
from tests.claims.helpers import CLAIMING_OCTOBER, MONTH, menu_for, plant_delivery, plant_meal
from tests.core.test_errors import assert_error
from tests.pages import browser_as, html_of

pytestmark = CLAIMING_OCTOBER

# The default canteen, community and elder stand here; 0.009° of latitude is about 1 km.
LAT, LNG = 30.2741, 120.1551


def at(north_m: float = 0, lat: float = LAT, lng: float = LNG) -> dict:
    return {"lat": round(lat + north_m / 111_195, 6), "lng": lng}


def plant_claim(canteen, status: str = ClaimStatus.SUBMITTED, codes=(), month: str = MONTH):
    claim = Claim(
        canteen_id=canteen.id,
        district_code=canteen.district_code,
        month=month,
        status=status,
        meals=0,
        subsidized_meals=0,
        meal_subsidy_fen=0,
        delivery_subsidy_fen=0,
        operating_subsidy_fen=0,
        total_fen=0,
        approved_fen=None if status == ClaimStatus.SUBMITTED else 0,
        made_by="planted",
    )
    db.session.add(claim)
    db.session.flush()
    for code in codes:
        db.session.add(ClaimAnomaly(claim_id=claim.id, code=code, meal_ids=[]))
    db.session.flush()
    return claim


def plant_alert(elder, district_code: str, canteen=None, closed: bool = False):
    alert = WelfareAlert(
        kind=AlertKind.ABSENT,
        elder_id=elder.id,
        community_code=elder.community.code,
        district_code=district_code,
        canteen_id=canteen.id if canteen is not None else None,
        detail="三天没来吃饭",
        followed_up_at=utcnow() if closed else None,
        followed_up_by="someone" if closed else None,
        follow_up="打了电话，住院了" if closed else None,
    )
    db.session.add(alert)
    db.session.flush()
    return alert


@pytest.fixture
def town(db, district, canteen, elder):
    """A district of five communities and three meal places, with October's meals.

    - community `home` (the canteen's, at LAT/LNG) holds `canteen` and `canteen3`;
    - `far` (11 km north) holds `canteen2`;
    - `near` (550 m north) has no place of its own but the canteen within a walk;
    - `remote` (3.3 km north) and `unplaced` (no location) have none within 1 km: an
      other district's canteen next to `remote` does not count.
    """
    far = factories.create_community(district, location=at(11_000), street="北街道")
    near = factories.create_community(district, location=at(550))
    remote = factories.create_community(district, location=at(3_300), street="东街道")
    unplaced = factories.create_community(district, location=None, street="东街道")
    canteen2 = factories.create_canteen(district, far, location=at(11_000), name="北食堂")
    canteen3 = factories.create_canteen(district, canteen.community, name="小餐桌")
    other = factories.create_district()
    factories.create_canteen(other, location=at(3_300))

    # Elders: two of the three located and active ones live within 1 km of a place.
    elder2 = factories.create_elder(district, near, location=at(2_200))
    elder5 = factories.create_elder(district, far, location=at(11_300))
    factories.create_elder(district, near, location=None)
    gone = factories.create_elder(district, canteen.community)
    gone.status, gone.status_since = ElderStatus.DECEASED, date(2026, 9, 1)
    factories.create_elder(other, location=at(0))

    # October at the canteen: three lunches and a voided dinner on the 8th, a delivered
    # lunch on the 9th, an unused menu on the 20th: 200 seats, 3 dine-in meals.
    for number, someone in enumerate((elder, elder2, elder5)):
        plant_meal(canteen, someone, date(2026, 10, 8), minute=number)
    plant_meal(
        canteen,
        elder,
        date(2026, 10, 8),
        slot="dinner",
        voided_at=utcnow(),
        voided_by="manager",
        void_reason="扫错了",
    )
    plant_delivery(canteen, elder, date(2026, 10, 9))
    menu_for(canteen, date(2026, 10, 20))
    # Not October: a meal on the last of September.
    plant_meal(canteen, elder, date(2026, 9, 30))
    # canteen2: 4 seats, 2 meals on the 10th (50 %); a draft menu does not count.
    menu_for(canteen2, date(2026, 10, 10), seats=4)
    plant_meal(canteen2, elder, date(2026, 10, 10))
    plant_meal(canteen2, elder2, date(2026, 10, 10), subsidy_fen=0)
    menu_for(canteen2, date(2026, 10, 11), seats=100).status = MenuStatus.DRAFT

    # Anomalies: two on the canteen's claim awaiting review, none counted from a decided
    # claim or another district's.
    plant_claim(canteen, codes=[AnomalyCode.DUPLICATE_IN_SLOT, AnomalyCode.TWO_PLACES])
    plant_claim(canteen2, ClaimStatus.APPROVED, codes=[AnomalyCode.OVER_CAPACITY])
    plant_claim(factories.create_canteen(other), codes=[AnomalyCode.TWO_PLACES])

    # Alerts: one at the canteen, one of the district with no canteen, one closed, one
    # elsewhere.
    plant_alert(elder, district.code, canteen)
    plant_alert(elder2, district.code)
    plant_alert(elder, district.code, canteen, closed=True)
    plant_alert(elder, other.code)
    db.session.commit()
    return {
        "canteen": canteen,
        "canteen2": canteen2,
        "canteen3": canteen3,
        "remote": remote,
        "unplaced": unplaced,
        "other": other,
    }


# The service


def test_coverage_counts_communities_with_a_place_and_walks_to_the_nearest(district, town):
    figures = district_dashboard(district, MONTH)
    assert figures["communities"] == 5
    assert figures["communities_with_meal_place"] == 2
    assert figures["coverage_rate"] == 0.4
    assert figures["targets"] == {"coverage_2022": 0.25, "coverage_2025": 0.9}
    assert [c["code"] for c in figures["uncovered_communities"]] == sorted(
        [town["remote"].code, town["unplaced"].code]
    )
    assert figures["uncovered_communities"][0] == {
        "code": town["remote"].code,
        "name": town["remote"].name,
        "street": "东街道",
    }
    # Located and active: the fixture's elder, elder2 (2.2 km away) and elder5 (300 m
    # from canteen2); the elder without a location, the deceased one and the other
    # district's are not counted.
    assert figures["elders_within_1km"] == {"count": 2, "located": 3, "share": 0.6667}
    assert figures["walking_radius_m"] == 1000


def test_coverage_walks_the_districts_own_circle(district, town):
    """`near` lies 550 m from the canteen, `remote` 3.3 km; elder2 2.2 km from a place."""
    district.walking_radius_m = 500
    figures = district_dashboard(district, MONTH)
    assert figures["walking_radius_m"] == 500
    assert len(figures["uncovered_communities"]) == 3
    assert figures["elders_within_1km"]["count"] == 2
    district.walking_radius_m = 5000
    figures = district_dashboard(district, MONTH)
    assert [c["code"] for c in figures["uncovered_communities"]] == [town["unplaced"].code]
    assert figures["elders_within_1km"] == {"count": 3, "located": 3, "share": 1.0}
    # Registered in a community is coverage whatever the circle.
    assert figures["communities_with_meal_place"] == 2


def test_the_months_meals_subsidy_and_seat_use(district, town):
    canteen, canteen2, canteen3 = town["canteen"], town["canteen2"], town["canteen3"]
    figures = district_dashboard(district, MONTH, today=date(2026, 11, 25))
    assert figures["month"] == MONTH
    assert figures["through"] == date(2026, 10, 31)
    assert figures["canteens"] == 3
    # Three lunches and a delivery at the canteen, two lunches at canteen2.
    assert figures["meals"] == 6
    # 3 × 5 yuan, a delivery's 5 + 3 yuan, and 5 yuan at canteen2.
    assert figures["subsidy_fen"] == 1500 + 800 + 500
    assert figures["subsidy_by_canteen"] == [
        {"canteen_id": canteen.id, "name": canteen.name, "subsidy_fen": 2300, "meals": 4},
        {"canteen_id": canteen2.id, "name": "北食堂", "subsidy_fen": 500, "meals": 2},
        {"canteen_id": canteen3.id, "name": "小餐桌", "subsidy_fen": 0, "meals": 0},
    ]
    assert figures["utilisation_by_canteen"] == [
        {
            "canteen_id": canteen.id,
            "name": canteen.name,
            "menus": 4,
            "seats": 200,
            "served": 3,
            "utilisation": 0.015,
            "failing": True,
        },
        {
            "canteen_id": canteen2.id,
            "name": "北食堂",
            "menus": 1,
            "seats": 4,
            "served": 2,
            "utilisation": 0.5,
            "failing": False,
        },
        # No menus: no seat use to judge.
        {
            "canteen_id": canteen3.id,
            "name": "小餐桌",
            "menus": 0,
            "seats": 0,
            "served": 0,
            "utilisation": 0.0,
            "failing": False,
        },
    ]
    assert (figures["seats"], figures["served"]) == (204, 5)
    assert figures["utilisation"] == round(5 / 204, 4)
    assert figures["failing_canteens"] == [canteen.id]
    assert figures["failing_threshold"] == 0.3


def test_meals_per_day_lists_every_day_of_the_month(district, town):
    days = district_dashboard(district, MONTH)["meals_per_day"]
    assert len(days) == 31
    assert days[0] == {"date": date(2026, 10, 1), "meals": 0}
    assert {d["date"].day: d["meals"] for d in days if d["meals"]} == {8: 3, 9: 1, 10: 2}


def test_in_the_month_under_way_menus_ahead_of_today_are_not_counted(district, town):
    figures = district_dashboard(district, MONTH, today=date(2026, 10, 15))
    assert figures["through"] == date(2026, 10, 15)
    assert figures["utilisation_by_canteen"][0]["seats"] == 150
    assert len(figures["meals_per_day"]) == 15


def test_a_month_to_come_has_nothing_yet(district, town):
    figures = district_dashboard(district, "2026-12", today=date(2026, 11, 25))
    assert figures["through"] is None
    assert figures["meals"] == figures["subsidy_fen"] == figures["seats"] == 0
    assert figures["meals_per_day"] == []
    assert figures["failing_canteens"] == []


def test_open_anomalies_and_alerts_are_the_districts(district, town):
    figures = district_dashboard(district, MONTH)
    assert figures["anomalies"] == 2
    assert figures["anomalies_by_code"] == {"duplicate_in_slot": 1, "two_places": 1}
    assert figures["alerts"] == 2


def test_a_canteens_figures_are_its_own_and_coverage_stays_district_wide(district, town):
    canteen = town["canteen"]
    figures = district_dashboard(district, MONTH, canteen_id=canteen.id)
    assert figures["canteen_id"] == canteen.id
    assert figures["canteens"] == 1
    assert (figures["meals"], figures["subsidy_fen"]) == (4, 2300)
    assert [row["canteen_id"] for row in figures["utilisation_by_canteen"]] == [canteen.id]
    assert figures["utilisation"] == 0.015
    assert (figures["anomalies"], figures["alerts"]) == (2, 1)
    assert sum(day["meals"] for day in figures["meals_per_day"]) == 4
    assert figures["communities_with_meal_place"] == 2
    assert figures["elders_within_1km"]["count"] == 2


def test_the_failing_threshold_is_a_setting(app, monkeypatch, district, town):
    monkeypatch.setitem(app.config, "FAILING_UTILISATION", 0.01)
    figures = district_dashboard(district, MONTH)
    assert figures["failing_canteens"] == []
    assert figures["failing_threshold"] == 0.01


def test_an_empty_district_has_zeros_not_errors(db):
    district = factories.create_district()
    figures = district_dashboard(district, MONTH)
    assert figures["communities"] == figures["canteens"] == figures["meals"] == 0
    assert figures["coverage_rate"] == figures["utilisation"] == 0.0
    assert figures["elders_within_1km"] == {"count": 0, "located": 0, "share": 0.0}


# The API

CONTRACT = (
    "communities",
    "communities_with_meal_place",
    "coverage_rate",
    "canteens",
    "meals",
    "subsidy_fen",
    "utilisation",
    "anomalies",
    "alerts",
)


def api_path(district, month: str | None = MONTH) -> str:
    return f"/api/v1/districts/{district.code}/dashboard" + (f"?month={month}" if month else "")


def test_an_official_reads_the_contract_fields(login_as, district, town):
    response = login_as("official").get(api_path(district))
    assert response.status_code == 200
    body = response.get_json()
    for name in CONTRACT:
        assert name in body
    for name in ("communities", "communities_with_meal_place", "canteens", "meals"):
        assert isinstance(body[name], int)
    assert 0 <= body["coverage_rate"] <= 1 and 0 <= body["utilisation"] <= 1
    assert (body["meals"], body["subsidy_fen"], body["anomalies"], body["alerts"]) == (
        6,
        2800,
        2,
        2,
    )
    assert body["meals_per_day"][7] == {"date": "2026-10-08", "meals": 3}
    assert body["failing_canteens"] == [town["canteen"].id]
    assert body["elders_within_1km"]["share"] == 0.6667
    assert body["uncovered_communities"][0]["code"] == town["remote"].code


def test_the_month_defaults_to_the_districts_current_month(login_as, district, town):
    body = login_as("admin").get(api_path(district, None)).get_json()
    assert body["month"] == month_of(district.local_today())


def test_a_manager_reads_their_own_canteen(login_as, district, canteen, town):
    body = login_as("manager").get(api_path(district)).get_json()
    assert (body["canteen_id"], body["canteens"], body["meals"], body["alerts"]) == (
        canteen.id,
        1,
        4,
        1,
    )


@pytest.mark.parametrize("month", ["2026-13", "October", "2026-1", "0000-01", "9999-12"])
def test_a_bad_month_is_refused_naming_it(login_as, district, month):
    error = assert_error(
        login_as("official").get(api_path(district, month)), 422, "validation_error"
    )
    assert "month" in error["fields"]


def test_another_district_is_not_found(login_as, district, town):
    other = town["other"]
    assert_error(login_as("official").get(api_path(other)), 404, "not_found")
    assert_error(login_as("manager").get(api_path(other)), 404, "not_found")
    assert_error(login_as("admin").get("/api/v1/districts/NOPE/dashboard"), 404, "not_found")


@pytest.mark.parametrize("role", ["cashier", "family", "elder", "volunteer", "inspector"])
def test_other_roles_may_not_read_it(login_as, district, role):
    assert_error(login_as(role).get(api_path(district)), 403, "forbidden")


# The page and its charts


def page_path(district, month: str | None = MONTH, chart: str | None = None) -> str:
    path = f"/districts/{district.code}/dashboard" + (f"/{chart}.svg" if chart else "")
    return path + (f"?month={month}" if month else "")


def test_the_page_shows_the_figures_charts_and_tables(app, district, town):
    browser = browser_as(app, "official", district=district)
    response = browser.get(page_path(district))
    html = html_of(response)
    assert response.status_code == 200
    assert 'data-testid="dashboard"' in html
    figure = re.search(r'data-testid="figure-coverage">(.*?)</li>', html, re.S).group(1)
    assert "40.0%" in figure and "2 of 5 communities" in figure
    assert re.search(r'data-testid="target-coverage_2022">\s*2022 target 25.0%: met', html)
    assert re.search(r'data-testid="target-coverage_2025">\s*2025 target 90.0%: not yet met', html)
    assert "2 of 3 elders" in html
    assert "¥28.00" in html
    assert re.search(r'href="/alerts" data-testid="dashboard-alerts-link"', html)
    for chart in ("meals", "subsidy", "utilisation"):
        image = re.search(
            rf'<img src="([^"]+)"[^>]*data-testid="chart-{chart}"[^>]*alt="[^"]+"', html
        )
        assert re.fullmatch(
            rf"/districts/{district.code}/dashboard/{chart}\.svg\?month={MONTH}&amp;figures=[\w-]+",
            image.group(1),
        )
        # A chart widened for many places scrolls sideways instead of shrinking.
        assert re.search(
            rf'<figure class="chart-scroll" tabindex="0"[^>]*>\s*<img[^>]*chart-{chart}', html
        )
    uncovered = re.findall(r'data-testid="uncovered-community">(.*?)</tr>', html, re.S)
    assert len(uncovered) == 2
    failing = re.findall(r'data-testid="failing-canteen">(.*?)</tr>', html, re.S)
    assert len(failing) == 1
    assert (
        f'href="/canteens/{town["canteen"].id}/capacity?from=2026-10-01&amp;to=2026-10-31"'
        in failing[0]
    )
    assert len(re.findall(r'data-testid="subsidy-row"', html)) == 3
    assert not re.search(r"<script(?![^>]*src=)", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_the_page_names_the_districts_walking_circle(app, db, district, town):
    district.walking_radius_m = 500
    db.session.commit()
    browser = browser_as(app, "official", district=district)
    html = html_of(browser.get(page_path(district)))
    assert "2 of 3 elders with a known address live within 500 m of a meal place" in html
    assert "Communities without a meal place within 500 m" in html
    assert len(re.findall(r'data-testid="uncovered-community"', html)) == 3
    assert "1 km" not in html


def test_the_page_names_places_blacklisted_or_unfiled_and_what_follows(
    app, district, canteen, town
):
    browser = browser_as(app, "official", district=district)
    html = html_of(browser.get(page_path(district)))
    assert 'data-testid="standing-' not in html and "Every meal place is filed" in html
    unfiled = factories.create_canteen(district, canteen.community, filed=False, name="未备案点")
    add_to_blacklist(None, canteen, "虚报就餐人次", district.local_today())
    db.session.commit()
    html = html_of(browser.get(page_path(district)))
    blacklisted_row = re.search(rf'data-testid="standing-{canteen.id}">(.*?)</tr>', html, re.S)
    unfiled_row = re.search(rf'data-testid="standing-{unfiled.id}">(.*?)</tr>', html, re.S)
    assert "standing-blacklisted" in blacklisted_row.group(1)
    assert "standing-unfiled" not in blacklisted_row.group(1)
    assert "standing-unfiled" in unfiled_row.group(1) and "claims are refused" in unfiled_row.group(
        1
    )
    assert len(re.findall(r'data-testid="standing-\d+"', html)) == 2


def test_a_manager_sees_their_canteen_on_the_page(app, district, canteen, town):
    browser = browser_as(app, "manager", district=district, canteen=canteen)
    html = html_of(browser.get(page_path(district)))
    assert 'data-testid="dashboard-own-canteen"' in html
    assert len(re.findall(r'data-testid="subsidy-row"', html)) == 1


def test_a_bad_month_on_the_page_is_a_message_and_the_current_month(app, district, town):
    browser = browser_as(app, "official", district=district)
    response = browser.get(page_path(district, "2026-13"))
    html = html_of(response)
    assert response.status_code == 200
    assert 'class="flash error" role="alert"' in html
    assert f'value="{month_of(district.local_today())}"' in html


@pytest.mark.parametrize("chart", ["meals", "subsidy", "utilisation"])
def test_each_chart_is_an_svg_image(app, district, town, chart):
    browser = browser_as(app, "official", district=district)
    response = browser.get(page_path(district, chart=chart))
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert MONTH in svg


def test_the_charts_carry_the_figures(app, district, town):
    browser = browser_as(app, "official", district=district)
    meals = browser.get(page_path(district, chart="meals")).get_data(as_text=True)
    assert "10-08" in meals
    subsidy = browser.get(page_path(district, chart="subsidy")).get_data(as_text=True)
    assert "北食堂" in subsidy and "23.00" in subsidy
    utilisation = browser.get(page_path(district, chart="utilisation")).get_data(as_text=True)
    # The failing threshold is the one reference line, at 30, and the legend says what it is.
    assert utilisation.count('class="reference-line"') == 1
    assert re.search(r'class="reference-value"[^>]*>30%<', utilisation)
    assert re.search(
        r'class="legend-reference">Red dashed line: 30 % seat use; a meal place below it is '
        r"listed as having low seat use<",
        utilisation,
    )


def test_a_chart_refuses_a_bad_month(app, district):
    browser = browser_as(app, "official", district=district)
    assert browser.get(page_path(district, "2026-13", chart="meals")).status_code == 422


def test_the_page_and_charts_are_refused_outside_the_table_and_scope(app, district, town):
    cashier = browser_as(app, "cashier", district=district, canteen=town["canteen"])
    assert cashier.get(page_path(district)).status_code == 403
    assert cashier.get(page_path(district, chart="meals")).status_code == 403
    official = browser_as(app, "official", district=district)
    assert official.get(page_path(town["other"])).status_code == 404
    assert official.get(page_path(town["other"], chart="utilisation")).status_code == 404


# The page and its charts share one computation


@pytest.fixture
def computations(monkeypatch):
    """Counts the dashboard's computations behind the page and its charts."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return district_dashboard(*args, **kwargs)

    monkeypatch.setattr(dashboard_pages, "district_dashboard", counted)
    return calls


def chart_urls(html: str) -> dict[str, str]:
    return {
        name: unescape(url)
        for url, name in re.findall(r'<img src="([^"]+/dashboard/(\w+)\.svg[^"]*)"', html)
    }


def test_the_page_and_its_three_charts_cost_one_computation(app, district, town, computations):
    browser = browser_as(app, "official", district=district)
    charts = chart_urls(html_of(browser.get(page_path(district))))
    assert sorted(charts) == ["meals", "subsidy", "utilisation"]
    svgs = {name: browser.get(url) for name, url in charts.items()}
    assert {name: response.status_code for name, response in svgs.items()} == dict.fromkeys(
        charts, 200
    )
    assert len(computations) == 1
    # Drawn from the page's figures all the same.
    assert "北食堂" in html_of(svgs["subsidy"]) and "23.00" in html_of(svgs["subsidy"])
    assert "10-08" in html_of(svgs["meals"])


def test_a_new_meal_shows_at_the_next_page_load(app, db, district, town, elder, computations):
    browser = browser_as(app, "official", district=district)
    before = html_of(browser.get(page_path(district)))
    old_subsidy = chart_urls(before)["subsidy"]
    plant_meal(town["canteen"], elder, date(2026, 10, 12), subsidy_fen=1000)
    db.session.commit()
    after = html_of(browser.get(page_path(district)))
    meals = (
        r'data-testid="figure-meals">\s*<span[^>]*>[^<]*</span>\s*<span class="figure-value">(\d+)<'
    )
    assert int(re.search(meals, after).group(1)) == int(re.search(meals, before).group(1)) + 1
    new_subsidy = html_of(browser.get(chart_urls(after)["subsidy"]))
    assert "33.00" in new_subsidy and "23.00" not in new_subsidy
    # A chart of the page before still draws what that page showed.
    assert "23.00" in html_of(browser.get(old_subsidy))
    assert len(computations) == 2


def test_a_chart_computes_its_own_figures_unless_the_token_is_for_the_same(
    app, district, canteen, town, computations
):
    official = browser_as(app, "official", district=district)
    subsidy = chart_urls(html_of(official.get(page_path(district))))["subsidy"]
    token = re.search(r"figures=([\w-]+)", subsidy).group(1)
    assert len(computations) == 1
    # No token, an unknown one, another month: computed.
    official.get(page_path(district, chart="subsidy"))
    official.get(page_path(district, chart="subsidy") + "&figures=forged")
    official.get(page_path(district, "2026-09", chart="subsidy") + f"&figures={token}")
    assert len(computations) == 4
    # A manager bringing the official's token sees their own canteen's figures only.
    manager = browser_as(app, "manager", district=district, canteen=canteen)
    own = html_of(manager.get(page_path(district, chart="subsidy") + f"&figures={token}"))
    assert len(computations) == 5
    assert "北食堂" not in own


def test_the_page_asks_for_a_login(client, district):
    response = client.get(page_path(district))
    assert response.status_code in (302, 401)


def test_the_current_month_runs_to_today(district):
    today = district.local_today()
    figures = district_dashboard(district, month_of(today))
    assert figures["through"] == today
    assert len(figures["meals_per_day"]) == today.day
