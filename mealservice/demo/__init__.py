"""The demo district loaded by `flask --app wsgi seed-demo`: realistic, idempotent, whatever
the day, and extended by every capability so the demo always shows all of it working."""

from mealservice.demo.data import ELDER_COUNT, LOGINS, POLICY, ZONE
from mealservice.demo.elders import demo_elders
from mealservice.demo.menus import menu_data
from mealservice.demo.seeding import (
    claimable_month,
    menu_days,
    next_week,
    raised_policy,
    recent_days,
    seed,
    seed_meals,
    this_week,
)

__all__ = [
    "ELDER_COUNT",
    "LOGINS",
    "POLICY",
    "ZONE",
    "claimable_month",
    "demo_elders",
    "menu_data",
    "menu_days",
    "next_week",
    "raised_policy",
    "recent_days",
    "seed",
    "seed_meals",
    "this_week",
]
