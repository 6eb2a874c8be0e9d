"""Meals of a past month, planted as stored rows: the claim checks read whatever wrote them."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mealservice.core.db import db
from mealservice.meals.models import Meal, Order, OrderStatus
from mealservice.menus.models import Menu, MenuOption

MONTH = "2026-10"
FIRST = date(2026, 10, 1)
LAST = date(2026, 10, 31)
# Claims for October may be made from 3 November (two days of grace).
AFTER_GRACE = date(2026, 11, 3)
# The modules that claim October run in late November, when its claims can be made and
# November's cannot.
CLAIMING_OCTOBER = pytest.mark.now("2026-11-25T10:00:00+08:00")
SLOT_HOURS = {"breakfast": 7, "lunch": 11, "dinner": 17}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo("Asia/Shanghai"))


def menu_for(canteen, day: date, slot: str = "lunch", seats: int = 50) -> Menu:
    menu = db.session.scalar(
        select(Menu).where(Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == slot)
    )
    if menu is None:
        menu = Menu(
            canteen_id=canteen.id,
            date=day,
            slot=slot,
            seats=seats,
            order_cutoff=local(day, SLOT_HOURS[slot] - 2),
            options=[MenuOption(position=0, name="A套餐", price_fen=1800, delivery_fee_fen=500)],
        )
        db.session.add(menu)
        db.session.flush()
    return menu


def plant_meal(
    canteen,
    elder,
    day: date,
    slot: str = "lunch",
    *,
    minute: int = 0,
    hour: int | None = None,
    subsidy_fen: int = 500,
    channel: str = "dine_in",
    delivery_subsidy_fen: int = 0,
    card=None,
    **fields,
) -> Meal:
    """A meal as a scan (or a delivery) would have stored it: priced 18 yuan."""
    menu = menu_for(canteen, day, slot)
    fee = 500 if channel == "delivery" else 0
    price = 1800
    meal = Meal(
        canteen_id=canteen.id,
        elder_id=elder.id,
        menu_id=menu.id,
        option_id=menu.options[0].id,
        card_id=card.id if card is not None else None,
        date=day,
        slot=slot,
        channel=channel,
        source="order" if channel == "delivery" else ("card" if card is not None else "lookup"),
        served_at=local(day, hour if hour is not None else SLOT_HOURS[slot], minute),
        recorded_by="planted",
        reason="tier" if subsidy_fen else "no_tier",
        tier="70岁以上" if subsidy_fen else None,
        price_fen=price,
        delivery_fee_fen=fee,
        subsidy_fen=subsidy_fen,
        delivery_subsidy_fen=delivery_subsidy_fen,
        elder_pays_fen=price + fee - subsidy_fen - delivery_subsidy_fen,
        to_collect_fen=price + fee - subsidy_fen - delivery_subsidy_fen,
        payment_method="cash",
        **fields,
    )
    db.session.add(meal)
    db.session.flush()
    return meal


def plant_delivery(canteen, elder, day: date, status: str = OrderStatus.DELIVERED) -> Meal:
    """A delivered order's meal, earning the delivery subsidy; `status` is what the order
    says today."""
    menu = menu_for(canteen, day)
    order = Order(
        elder_id=elder.id,
        canteen_id=canteen.id,
        menu_id=menu.id,
        option_id=menu.options[0].id,
        date=day,
        slot="lunch",
        channel="delivery",
        status=status,
        address="测试路2号",
        reason="tier",
        price_fen=1800,
        delivery_fee_fen=500,
        subsidy_fen=500,
        delivery_subsidy_fen=300,
        elder_pays_fen=1500,
        payment_method="on_delivery",
        placed_by="planted",
    )
    db.session.add(order)
    db.session.flush()
    return plant_meal(
        canteen,
        elder,
        day,
        channel="delivery",
        delivery_subsidy_fen=300,
        order_id=order.id,
        hour=12,
    )


def a_clean_month(canteen, elders) -> list[Meal]:
    """Every weekday lunch of October for each elder: nothing to flag."""
    meals = []
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            for number, elder in enumerate(elders):
                meals.append(plant_meal(canteen, elder, day, minute=number))
        day += timedelta(days=1)
    return meals
