"""Orders made straight in the table, as the ordering service leaves them: priced once,
holding a seat (dine-in) or a place in the delivery capacity."""

from sqlalchemy import update

from mealservice.core.db import db
from mealservice.meals.models import LIVE_ORDER_STATUSES, Order
from mealservice.menus.models import Menu
from mealservice.menus.services import take_seat


def add_order(menu, option, elder, channel: str = "dine_in", status: str = "confirmed") -> Order:
    live = status in LIVE_ORDER_STATUSES
    order = Order(
        elder_id=elder.id,
        canteen_id=menu.canteen_id,
        menu_id=menu.id,
        option_id=option.id,
        date=menu.date,
        slot=menu.slot,
        channel=channel,
        status=status,
        address="测试路2号3单元" if channel == "delivery" else None,
        reason="no_tier",
        price_fen=option.price_fen,
        delivery_fee_fen=option.delivery_fee_fen if channel == "delivery" else 0,
        subsidy_fen=0,
        elder_pays_fen=option.price_fen + (option.delivery_fee_fen if channel == "delivery" else 0),
        payment_method="at_counter" if channel == "dine_in" else "on_delivery",
        placed_by="test",
        holds_seat=live and channel == "dine_in",
        holds_delivery=live and channel == "delivery",
    )
    db.session.add(order)
    if order.holds_seat:
        assert take_seat(menu.id)
    if order.holds_delivery:
        db.session.execute(
            update(Menu)
            .where(Menu.id == menu.id)
            .values(delivery_used=Menu.delivery_used + 1)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    db.session.refresh(menu)
    return order
