"""Early warnings: a regular diner who stops coming raises one welfare alert, shown with the
other alerts and closed by the same follow-up."""

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mealservice.core.db import db as _db
from mealservice.delivery import services as delivery
from mealservice.elders.models import AlertKind, WelfareAlert
from mealservice.oversight.services.warnings import raise_absence_alerts
from tests import factories
from tests.claims.helpers import plant_meal
from tests.pages import browser_as, html_of

TODAY = date(2026, 11, 25)
NOW = datetime.combine(TODAY, time(6, 0), ZoneInfo("Asia/Shanghai"))
ADMIN = SimpleNamespace(role="admin", username="test-admin")


def days_ago(n: int, today: date = TODAY) -> date:
    return today - timedelta(days=n)


def eats_on(canteen, elder, *days_back: int, today: date = TODAY) -> None:
    for n in days_back:
        plant_meal(canteen, elder, days_ago(n, today))
    _db.session.commit()


# Three meals in each of the two weeks ending yesterday; none since four days ago.
REGULAR_THEN_GONE = (14, 12, 10, 7, 6, 4)


def absent_alerts(elder) -> list[WelfareAlert]:
    return list(
        _db.session.scalars(
            select(WelfareAlert)
            .where(WelfareAlert.elder_id == elder.id, WelfareAlert.kind == AlertKind.ABSENT)
            .order_by(WelfareAlert.id)
        )
    )


def test_a_regular_diner_absent_for_three_days_raises_one_alert(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE)

    assert raise_absence_alerts(NOW) == 1

    [alert] = absent_alerts(elder)
    assert alert.community_code == elder.community.code
    assert alert.district_code == elder.hukou_district
    assert alert.canteen_id == canteen.id
    assert alert.followed_up_at is None
    assert alert.detail.startswith("3 天未就餐")
    assert len(alert.detail) <= 200


def test_a_second_run_raises_nothing(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE)
    raise_absence_alerts(NOW)

    assert raise_absence_alerts(NOW) == 0
    assert raise_absence_alerts(NOW + timedelta(days=1)) == 0
    assert len(absent_alerts(elder)) == 1


def test_an_occasional_diner_raises_nothing(canteen, elder):
    # Three meals in the latest week, only two in the week before.
    eats_on(canteen, elder, 12, 10, 7, 6, 4)

    assert raise_absence_alerts(NOW) == 0


def test_a_regular_who_ate_yesterday_raises_nothing(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE, 1)

    assert raise_absence_alerts(NOW) == 0


def test_a_regular_who_ate_today_raises_nothing(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE, 0)

    assert raise_absence_alerts(NOW) == 0


def test_a_regular_gone_only_two_days_raises_nothing(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE, 3)

    assert raise_absence_alerts(NOW) == 0


def test_voided_meals_do_not_make_a_regular(canteen, elder):
    eats_on(canteen, elder, 12, 10, 7, 6, 4)
    plant_meal(
        canteen,
        elder,
        days_ago(14),
        voided_at=NOW - timedelta(days=14),
        voided_by="manager",
        void_reason="扫错了",
    )
    _db.session.commit()

    assert raise_absence_alerts(NOW) == 0


def test_an_inactive_elder_raises_nothing(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE)
    elder.status, elder.status_since = "deceased", days_ago(3)
    _db.session.commit()

    assert raise_absence_alerts(NOW) == 0


def test_the_alert_names_the_canteen_eaten_at_most(district, canteen, elder):
    other = factories.create_canteen(district)
    eats_on(canteen, elder, 14, 7)
    eats_on(other, elder, 12, 10, 6, 4)

    raise_absence_alerts(NOW)

    [alert] = absent_alerts(elder)
    assert alert.canteen_id == other.id


def test_meals_at_another_districts_canteen_count(canteen, elder):
    away = factories.create_canteen(factories.create_district())
    eats_on(canteen, elder, *REGULAR_THEN_GONE)
    eats_on(away, elder, 2)

    assert raise_absence_alerts(NOW) == 0


def test_an_alert_followed_up_is_not_raised_again_for_the_same_absence(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE)
    raise_absence_alerts(NOW)
    [alert] = absent_alerts(elder)
    delivery.follow_up_alert(ADMIN, alert.id, "电话联系，住院中", now=NOW + timedelta(hours=2))
    _db.session.commit()

    assert raise_absence_alerts(NOW + timedelta(days=1)) == 0


def test_after_a_follow_up_a_new_absence_raises_again(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE)
    raise_absence_alerts(NOW)
    [first] = absent_alerts(elder)
    delivery.follow_up_alert(ADMIN, first.id, "电话联系，住院中", now=NOW + timedelta(hours=2))
    _db.session.commit()
    # Back the next day and regular for two weeks, then gone again.
    later = TODAY + timedelta(days=18)
    eats_on(canteen, elder, 17, 16, 15, 14, 12, 10, 7, 6, 4, today=later)

    assert raise_absence_alerts(NOW + timedelta(days=18)) == 1

    assert [a.id == first.id for a in absent_alerts(elder)] == [True, False]


def test_an_open_alert_holds_back_a_new_one(canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE)
    raise_absence_alerts(NOW)
    later = TODAY + timedelta(days=18)
    eats_on(canteen, elder, 17, 16, 15, 14, 12, 10, 7, 6, 4, today=later)

    assert raise_absence_alerts(NOW + timedelta(days=18)) == 0


def test_the_alert_is_listed_with_its_kind_in_words(app, district, canteen, elder):
    eats_on(canteen, elder, *REGULAR_THEN_GONE)
    raise_absence_alerts(NOW)
    [alert] = absent_alerts(elder)

    manager = browser_as(app, "manager", canteen=canteen)
    html = html_of(manager.get("/alerts"))

    assert f'data-testid="alert-{alert.id}"' in html
    assert "A regular diner has not come for days" in html

    official = factories.create_user("official", district=district)
    assert alert.id in [a.id for a in delivery.open_alerts(official)]


@pytest.mark.parametrize("role", ["manager", "official"])
def test_the_alert_api_gives_the_kind(login_as, canteen, elder, role):
    eats_on(canteen, elder, *REGULAR_THEN_GONE)
    raise_absence_alerts(NOW)

    items = login_as(role).get("/api/v1/alerts").get_json()["items"]

    assert [(item["kind"], item["elder_id"]) for item in items] == [("absent", elder.id)]
