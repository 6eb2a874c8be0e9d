"""Meals listen here to the packages below them."""

from datetime import date

from sqlalchemy import select

from mealservice.core.db import db
from mealservice.core.errors import ValidationFailed
from mealservice.meals.models import Meal
from mealservice.policy.models import SubsidyPolicy
from mealservice.policy.signals import policy_version_starting


@policy_version_starting.connect
def refuse_a_version_reaching_back_over_served_meals(district, effective_from: date, **_):
    priced = db.session.scalar(
        select(Meal.date)
        .join(SubsidyPolicy, Meal.policy_version == SubsidyPolicy.id)
        .where(
            SubsidyPolicy.district_code == district.code,
            # Only meals the new version would reach: priced under an earlier-starting one.
            SubsidyPolicy.effective_from < effective_from,
            Meal.date >= effective_from,
        )
        .order_by(Meal.date.desc())
        .limit(1)
    )
    if priced is not None:
        # A served meal's price never changes, so no version may reach back over it.
        raise ValidationFailed(
            {
                "effective_from": [
                    f"Meals up to {priced:%Y-%m-%d} are already priced under the current"
                    " version; choose a later date."
                ]
            }
        )
