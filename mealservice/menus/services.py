"""Daily menus and the one accounting of seats per canteen, date and slot."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update

from mealservice.core.db import add_unique, utcnow
from mealservice.core.errors import Conflict, ValidationFailed
from mealservice.extensions import db
from mealservice.menus.models import Menu, MenuOption, MenuStatus
from mealservice.places.geo import distance_m
from mealservice.places.models import Canteen, Function


def slot_end(canteen: Canteen, day: date, slot: str) -> datetime:
    """When the slot's window closes on that local date, in the canteen district's zone."""
    district = canteen.district
    hours, minutes = (int(part) for part in district.slot_windows[slot][1].split(":"))
    return datetime.combine(day, time(hours, minutes), ZoneInfo(district.effective_timezone))


def create_menu(canteen: Canteen, data: dict) -> Menu:
    errors = {}
    if data["seats"] > canteen.seats_per_meal:
        errors["seats"] = [f"The canteen serves at most {canteen.seats_per_meal} per meal."]
    if data.get("delivery_capacity") and Function.DELIVERY not in canteen.functions:
        errors["delivery_capacity"] = ["The canteen does not deliver."]
    closes = slot_end(canteen, data["date"], data["slot"])
    if data["order_cutoff"] > closes:
        errors["order_cutoff"] = [
            f"Ordering must close before the {data['slot']} ends ({closes:%Y-%m-%d %H:%M})."
        ]
    if errors:
        raise ValidationFailed(errors)
    taken = db.session.scalar(
        select(Menu.id).where(
            Menu.canteen_id == canteen.id, Menu.date == data["date"], Menu.slot == data["slot"]
        )
    )
    if taken is not None:
        raise _menu_exists(data, taken)
    menu = Menu(
        canteen_id=canteen.id,
        date=data["date"],
        slot=data["slot"],
        seats=data["seats"],
        order_cutoff=data["order_cutoff"],
        delivery_capacity=data.get("delivery_capacity"),
        status=data.get("status", MenuStatus.PUBLISHED),
        options=[
            MenuOption(
                position=position,
                name=option["name"],
                price_fen=option["price_fen"],
                delivery_fee_fen=option.get("delivery_fee_fen", 0),
                dishes=option.get("dishes", []),
                tags=option.get("tags", []),
            )
            for position, option in enumerate(data["options"])
        ],
    )
    conflict = _menu_exists(data)
    return add_unique(menu, conflict.code, conflict.message, conflict.detail)


def _menu_exists(data: dict, menu_id: int | None = None) -> Conflict:
    detail = {"date": data["date"].isoformat(), "slot": data["slot"]}
    if menu_id is not None:
        detail["menu_id"] = menu_id
    return Conflict(
        "menu_exists",
        f"The canteen already has a {data['slot']} menu for {data['date']:%Y-%m-%d}.",
        detail,
    )


def canteen_menus_query(canteen: Canteen, day: date | None = None, *, drafts: bool = True):
    query = select(Menu).where(Menu.canteen_id == canteen.id).order_by(Menu.date, Menu.slot)
    if day is not None:
        query = query.where(Menu.date == day)
    if not drafts:
        query = query.where(Menu.status == MenuStatus.PUBLISHED)
    return query


def open_menus(day: date, near: tuple[float, float] | None = None) -> list[tuple[Menu, int | None]]:
    """What an elder can still order for a day: published, before the cutoff, seats left."""
    now = utcnow()
    menus = db.session.scalars(
        select(Menu)
        .where(
            Menu.date == day,
            Menu.status == MenuStatus.PUBLISHED,
            Menu.order_cutoff > now,
            Menu.seats_used < Menu.seats,
        )
        .order_by(Menu.id)
    ).all()
    if near is None:
        return [(menu, None) for menu in menus]
    found = [(m, distance_m(*near, m.canteen.lat, m.canteen.lng)) for m in menus]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))


# Built once: every scan runs it.
TAKE_SEAT = (
    update(Menu.__table__)
    .where(Menu.id == bindparam("menu_id"), Menu.seats_used < Menu.seats)
    .values(seats_used=Menu.seats_used + 1)
)


def take_seat(menu_id: int) -> bool:
    """Take one seat if one is left. The condition sits in the UPDATE itself, so two
    cashiers racing for the last seat cannot both get it."""
    return db.session.connection().execute(TAKE_SEAT, {"menu_id": menu_id}).rowcount == 1


def release_seat(menu_id: int) -> None:
    db.session.execute(
        update(Menu)
        .where(Menu.id == menu_id, Menu.seats_used > 0)
        .values(seats_used=Menu.seats_used - 1)
        .execution_options(synchronize_session=False)
    )
