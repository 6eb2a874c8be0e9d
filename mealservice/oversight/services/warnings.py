"""Early warnings: a regular diner who stops coming raises a welfare alert, for the
community to check on them (worked with the same follow-up as a delivery nobody answered).

The windows, in local dates of the elder's district, with the default settings
(REGULAR_WEEKS = 2, REGULAR_MEALS_PER_WEEK = 3, ABSENCE_DAYS = 3) and today = day T:

- regular: at least 3 non-voided meals in each 7-day week of the 14 days ending
  yesterday, T-7..T-1 and T-14..T-8;
- absent: no meal on the 3 full days before today, T-3..T-1, nor so far today. A meal
  eaten today (the job may run after lunch) means the elder is not absent.

So a regular's last meal was on T-4 or earlier, and the three meals of the latest week fell
on T-7..T-4. Meals anywhere count, at any canteen of any district.

One alert per absence: none is raised while an absent alert for the elder is open, nor
once one was raised after the elder's last meal (followed up or not: the community already
checked on this absence). A new absence, after the elder ate again, can raise again."""

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, or_, select

from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.elders.models import AlertKind, Elder, ElderStatus, WelfareAlert
from mealservice.meals.models import Meal
from mealservice.places.models import Community, District

log = logging.getLogger(__name__)


def raise_absence_alerts(now: datetime | None = None) -> int:
    """Raise an ABSENT alert for each regular diner not seen for ABSENCE_DAYS days; the
    number raised. Idempotent: a second run the same day raises nothing."""
    now = now or utcnow()
    districts_by_today: dict[date, list[str]] = defaultdict(list)
    for district in db.session.scalars(select(District)):
        districts_by_today[district.local(now).date()].append(district.code)
    raised = sum(
        _raise_for(today, codes, now) for today, codes in sorted(districts_by_today.items())
    )
    log.info("absence alerts: %d raised", raised)
    return raised


def _raise_for(today: date, district_codes: list[str], now: datetime) -> int:
    absent = _absent_regulars(today, district_codes)
    if not absent:
        return 0
    canteens = _usual_canteens(today, list(absent))
    places = {
        elder_id: (community_code, district_code)
        for elder_id, community_code, district_code in db.session.execute(
            select(Elder.id, Community.code, Community.district_code)
            .join(Community, Community.id == Elder.community_id)
            .where(Elder.id.in_(absent))
        )
    }
    alerts = []
    for elder_id, last_day in sorted(absent.items()):
        community_code, district_code = places[elder_id]
        days = (today - last_day).days - 1  # full days without a meal, up to yesterday
        alerts.append(
            WelfareAlert(
                kind=AlertKind.ABSENT,
                elder_id=elder_id,
                community_code=community_code,
                district_code=district_code,
                canteen_id=canteens.get(elder_id),
                raised_at=now,
                detail=f"{days} 天未就餐（常来就餐，最近一次 {last_day:%Y-%m-%d}）",
            )
        )
    db.session.add_all(alerts)
    db.session.flush()
    for alert in alerts:
        log.warning("welfare alert %s raised: elder %s absent", alert.id, alert.elder_id)
    return len(alerts)


def _absent_regulars(today: date, district_codes: list[str]) -> dict[int, date]:
    """The active regulars of these districts not seen since ABSENCE_DAYS ago and not
    yet alerted for this absence: elder id → the date of their last meal."""
    config = current_app.config
    weeks, per_week = config["REGULAR_WEEKS"], config["REGULAR_MEALS_PER_WEEK"]
    absent_since = today - timedelta(days=config["ABSENCE_DAYS"])
    meals_per_week = [
        func.sum(
            case(
                (
                    Meal.date.between(
                        today - timedelta(days=7 * (week + 1)), today - timedelta(days=7 * week + 1)
                    ),
                    1,
                ),
                else_=0,
            )
        )
        for week in range(weeks)
    ]
    diners = (
        select(
            Meal.elder_id,
            func.max(Meal.date).label("last_day"),
            func.max(Meal.served_at).label("last_served_at"),
        )
        .join(Elder, Elder.id == Meal.elder_id)
        .where(
            Meal.voided_at.is_(None),
            Meal.date >= today - timedelta(days=7 * weeks),
            Meal.date <= today,
            Elder.status == ElderStatus.ACTIVE,
            Elder.hukou_district.in_(district_codes),
        )
        .group_by(Meal.elder_id)
        .having(and_(*(count >= per_week for count in meals_per_week)))
        .having(func.max(Meal.date) < absent_since)
        .subquery()
    )
    alerted = exists().where(
        WelfareAlert.elder_id == diners.c.elder_id,
        WelfareAlert.kind == AlertKind.ABSENT,
        or_(
            WelfareAlert.followed_up_at.is_(None),
            WelfareAlert.raised_at > diners.c.last_served_at,
        ),
    )
    rows = db.session.execute(select(diners.c.elder_id, diners.c.last_day).where(~alerted))
    return {elder_id: last_day for elder_id, last_day in rows}


def _usual_canteens(today: date, elder_ids: list[int]) -> dict[int, int]:
    """Where each elder ate most in the regular weeks (the latest, then the lowest id, on
    a tie): the canteen whose manager sees the alert."""
    weeks = current_app.config["REGULAR_WEEKS"]
    rows = db.session.execute(
        select(Meal.elder_id, Meal.canteen_id, func.count(), func.max(Meal.date))
        .where(
            Meal.elder_id.in_(elder_ids),
            Meal.voided_at.is_(None),
            Meal.date >= today - timedelta(days=7 * weeks),
            Meal.date < today,
        )
        .group_by(Meal.elder_id, Meal.canteen_id)
    )
    best: dict[int, tuple] = {}
    for elder_id, canteen_id, meals, last_day in rows:
        rank = (meals, last_day, -canteen_id)
        if elder_id not in best or rank > best[elder_id][0]:
            best[elder_id] = (rank, canteen_id)
    return {elder_id: canteen_id for elder_id, (_rank, canteen_id) in best.items()}
