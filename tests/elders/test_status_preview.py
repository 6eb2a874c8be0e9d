"""Before an elder's death or move is recorded, the page shows what the change will close:
the preview must list exactly what the change then does, and write nothing itself."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mealservice.balances.services import balance_of, top_up
from mealservice.core.clock import utcnow
from mealservice.elders.cards import cards_not_working
from mealservice.elders.services import preview_status_change, update_elder
from mealservice.meals.models import Order, StandingOrder
from mealservice.meals.orders import place_order
from mealservice.meals.standing import place_standing_orders
from tests import factories

CASHIER = type("Cashier", (), {"username": "factory-cashier", "role": "cashier"})()


@pytest.fixture
def world(db, district, canteen, elder):
    """Lunch menus for the next three days and dinner menus for the next two; a prepaid
    lunch tomorrow, a cash lunch in three days, a dinner standing order that placed its
    orders, and a card."""
    factories.create_policy(district)
    top_up(CASHIER, canteen, elder, 10000, "cash")
    today = district.local_today()
    days = [today + timedelta(days=n) for n in (1, 2, 3)]
    lunches = [factories.create_menu(canteen, day) for day in days]
    for day in days[:2]:
        factories.create_menu(canteen, day, "dinner")

    def lunch(menu, **payment):
        body = {"elder_id": elder.id, "menu_id": menu.id, "option_id": menu.options[1].id}
        return place_order(None, {**body, "channel": "dine_in", **payment})

    prepaid = lunch(lunches[0], payment={"method": "balance"})
    later = lunch(lunches[2])
    standing = factories.create_standing_order(
        canteen, elder, slot="dinner", weekdays="1111111", payment_method="balance"
    )
    place_standing_orders(now=utcnow())
    card = factories.create_card(elder)
    db.session.commit()
    return {"days": days, "prepaid": prepaid, "later": later, "standing": standing, "card": card}


def live_order_ids(db, elder) -> set[int]:
    return set(
        db.session.scalars(
            select(Order.id).where(Order.elder_id == elder.id, Order.status == "confirmed")
        )
    )


def test_the_preview_lists_what_the_change_then_closes(db, district, elder, world):
    since = world["days"][1]
    before = live_order_ids(db, elder)
    balance_before = balance_of(elder.id)

    preview = preview_status_change(elder, "deceased", since)

    closed_ids = [order.id for order in preview.orders]
    # The lunch in three days (after the date), and the standing order's dinners: stopping
    # it cancels those still open, tomorrow's too.
    assert world["later"].id in closed_ids and world["prepaid"].id not in closed_ids
    assert len(closed_ids) == 3
    assert [s.id for s in preview.standing_orders] == [world["standing"].id]
    assert [card.id for card in preview.cards] == [world["card"].id]
    assert preview.refund_fen > 0
    # Read only: nothing was closed yet.
    assert live_order_ids(db, elder) == before
    assert db.session.get(StandingOrder, world["standing"].id).stopped_at is None

    update_elder(elder, {"status": "deceased", "status_since": since})
    db.session.commit()

    assert before - live_order_ids(db, elder) == set(closed_ids)
    assert balance_of(elder.id) - balance_before == preview.refund_fen
    stopped = db.session.scalars(
        select(StandingOrder.id).where(
            StandingOrder.elder_id == elder.id, StandingOrder.stopped_at.is_not(None)
        )
    ).all()
    assert stopped == [s.id for s in preview.standing_orders]
    inactive = cards_not_working(district.code, since)["inactive"]
    assert [card["card_id"] for card in inactive] == [card.id for card in preview.cards]


def test_making_an_elder_active_again_previews_nothing_to_close(db, elder, world):
    update_elder(elder, {"status": "moved", "status_since": world["days"][0]})
    db.session.commit()

    preview = preview_status_change(elder, "active", None)

    assert not preview.closes_anything and preview.refund_fen == 0


def test_an_elder_without_orders_or_cards_has_nothing_to_close(db, district, canteen):
    newcomer = factories.create_elder(district, canteen.community)

    preview = preview_status_change(newcomer, "moved", district.local_today())

    assert (preview.orders, preview.standing_orders, preview.cards) == ([], [], [])
