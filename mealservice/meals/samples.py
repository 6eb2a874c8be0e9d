"""The recent meals of a district's elders as the pricing function sees them, for the
preview of a new policy version (policy.preview asks through a signal)."""

from datetime import date
from functools import cache

from sqlalchemy import select

from mealservice.core.db import db
from mealservice.elders.models import Elder
from mealservice.meals.models import Meal
from mealservice.meals.services import facts_of_elder
from mealservice.places import registry
from mealservice.places.models import Canteen, District
from mealservice.policy import pricing
from mealservice.policy.preview import Sample
from mealservice.policy.services import is_holiday


def recent_meal_samples(district: District, since: date, limit: int) -> list[Sample]:
    """The meals not voided since `since` of the elders the district's policy pays for,
    the newest first, at most `limit`."""
    rows = db.session.execute(
        select(Meal, Elder, Canteen.district_code)
        .join(Elder, Meal.elder_id == Elder.id)
        .join(Canteen, Meal.canteen_id == Canteen.id)
        .where(
            Elder.hukou_district == district.code,
            Meal.voided_at.is_(None),
            Meal.date >= since,
        )
        .order_by(Meal.date.desc(), Meal.id.desc())
        .limit(limit)
    )
    holiday = cache(is_holiday)
    blacklisted = cache(registry.is_blacklisted)
    return [
        Sample(
            elder_id=elder.id,
            elder=facts_of_elder(elder),
            meal=pricing.MealFacts(
                canteen_district=canteen_district,
                local_date=meal.date,
                slot=meal.slot,
                channel=meal.channel,
                price_fen=meal.price_fen,
                delivery_fee_fen=meal.delivery_fee_fen,
                is_holiday=holiday(meal.date),
                canteen_blacklisted=blacklisted(meal.canteen_id, meal.date),
            ),
        )
        for meal, elder, canteen_district in rows
    ]
