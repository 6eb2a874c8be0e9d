"""What everyone may read without logging in (the seeds' "publish the service items and
prices"): each district's meal places, their published menus for today and the days ahead,
and the subsidy policy in force.

Places, dishes, prices and the policy's figures only: nothing here reads a table that names
a person. The subsidy comes from the policy service as the pricing function takes it, so
what the public reads is what the counter charges."""

from datetime import date, timedelta

from sqlalchemy import select

from mealservice.core.db import db
from mealservice.core.errors import NotFound
from mealservice.menus.models import Menu, MenuStatus
from mealservice.places import registry
from mealservice.places.models import Canteen, Community, District, Function, Slot
from mealservice.policy import pricing
from mealservice.policy.models import Holiday
from mealservice.policy.services import pricing_policies

# Today and the six days after it: places plan and publish their menus a week at a time.
PUBLISHED_DAYS = 7


def subsidy_policy(district: District, day: date) -> pricing.Policy | None:
    """The district's policy version in force on `day`, as the pricing function picks it."""
    return pricing.policy_in_force(pricing_policies(district.code), district.code, day)


def published_districts(district_code: str | None = None) -> list[dict]:
    """Every district (or the one named), each with its policy in force today and its meal
    places by street and name."""
    query = select(District).order_by(District.code)
    if district_code:
        query = query.where(District.code == district_code)
    published = []
    for district in db.session.scalars(query).all():
        today = district.local_today()
        canteens = db.session.scalars(
            select(Canteen)
            .join(Community, Community.id == Canteen.community_id)
            .where(Canteen.district_code == district.code)
            .order_by(Community.street, Canteen.name, Canteen.id)
        ).all()
        published.append(
            {
                "district": district,
                "today": today,
                "policy": subsidy_policy(district, today),
                "places": [_place(canteen, today) for canteen in canteens],
            }
        )
    return published


def published_place(canteen_id: int) -> dict:
    """One meal place with its published menus from today for PUBLISHED_DAYS days (drafts
    never), each day marked when it is a statutory holiday, and its district's policy."""
    canteen = db.session.get(Canteen, canteen_id)
    if canteen is None:
        raise NotFound("canteen")
    district = canteen.district
    today = district.local_today()
    last = today + timedelta(days=PUBLISHED_DAYS - 1)
    menus = db.session.scalars(
        select(Menu).where(
            Menu.canteen_id == canteen.id,
            Menu.status == MenuStatus.PUBLISHED,
            Menu.date.between(today, last),
        )
    ).all()
    holidays = dict(
        db.session.execute(
            select(Holiday.day, Holiday.name).where(Holiday.day.between(today, last))
        )
        .tuples()
        .all()
    )
    slots = list(Slot)
    days = []
    for offset in range(PUBLISHED_DAYS):
        day = today + timedelta(days=offset)
        days.append(
            {
                "date": day,
                "holiday": holidays.get(day),
                "menus": sorted(
                    (menu for menu in menus if menu.date == day),
                    key=lambda menu: slots.index(Slot(menu.slot)),
                ),
            }
        )
    return {
        **_place(canteen, today),
        "district": district,
        "today": today,
        "policy": subsidy_policy(district, today),
        "days": days,
    }


# What a place offers the public; cooking is the kitchen's business.
SERVICES = (Function.DINE_IN, Function.DELIVERY)


def _place(canteen: Canteen, today: date) -> dict:
    return {
        "canteen": canteen,
        "services": [service.value for service in SERVICES if service in canteen.functions],
        "delivery": Function.DELIVERY in canteen.functions,
        "standing": registry.standing_of(canteen, today),
    }
