"""The demo's menus: lunch everywhere and dinner at the canteens, set meals a Hangzhou
elder canteen might cook, rotated over the week."""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from mealservice.core.db import db
from mealservice.demo.data import LUNCHES, SOFT_LUNCHES, ZONE
from mealservice.menus.models import Menu
from mealservice.menus.services import create_menu
from mealservice.places.models import Canteen


def seed_menus(canteens: list[Canteen], days: list[date]) -> None:
    """Lunch at every place and dinner at the canteens, every day of the week."""
    for canteen in canteens:
        slots = ["lunch", "dinner"] if canteen.kind == "canteen" else ["lunch"]
        for day in days:
            for slot in slots:
                exists = db.session.scalar(
                    select(Menu.id).where(
                        Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == slot
                    )
                )
                if exists is None:
                    create_menu(canteen, menu_data(canteen, day, slot))


def menu_data(canteen: Canteen, day: date, slot: str) -> dict:
    rotation = (day.toordinal() + (1 if slot == "dinner" else 0)) % len(LUNCHES)
    delivers = "delivery" in canteen.functions
    cutoff = datetime.combine(day, datetime.min.time(), ZONE) + (
        timedelta(hours=9) if slot == "lunch" else timedelta(hours=15)
    )
    return {
        "date": day,
        "slot": slot,
        "seats": canteen.seats_per_meal,
        "order_cutoff": cutoff,
        "delivery_capacity": canteen.seats_per_meal // 3 if delivers else None,
        "options": [
            {
                "name": "营养套餐",
                "price_fen": 1800 if canteen.kind == "canteen" else 1500,
                "delivery_fee_fen": 500 if delivers else 0,
                "dishes": [*LUNCHES[rotation], "米饭"],
                "tags": ["low_salt"],
            },
            {
                "name": "软食套餐",
                "price_fen": 1500 if canteen.kind == "canteen" else 1200,
                "delivery_fee_fen": 500 if delivers else 0,
                "dishes": list(SOFT_LUNCHES[rotation]),
                "tags": ["soft", "low_sugar"],
            },
        ],
    }
