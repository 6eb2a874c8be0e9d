"""Daily menus and the one accounting of seats per canteen, date and slot."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload, selectinload

from mealservice.core.auth import ensure_canteen_in_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import add_unique, db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.menus.models import Menu, MenuOption, MenuStatus
from mealservice.menus.signals import menu_unpublishing, options_removing
from mealservice.places.geo import distance_m
from mealservice.places.models import Canteen, Function, Slot


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
        .options(selectinload(Menu.options), joinedload(Menu.canteen))
        .where(
            Menu.date == day,
            Menu.status == MenuStatus.PUBLISHED,
            Menu.ordering_open(now),
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


# Planning: changing, publishing and copying menus without breaking what was ordered.

# The tags the kitchen counts portions of; options may carry others.
KITCHEN_TAGS = ("soft", "low_salt", "low_sugar")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def planned_slots(canteen: Canteen) -> list[str]:
    """The district's slots that have a window, in the order of the day."""
    return [slot.value for slot in Slot if slot.value in canteen.district.slot_windows]


def get_menu(user, menu_id: int) -> Menu:
    menu = db.session.get(Menu, menu_id)
    if menu is None:
        raise NotFound("menu")
    ensure_canteen_in_scope(user, menu.canteen, "menu")
    return menu


def week_menus(canteen: Canteen, monday: date) -> dict[tuple[date, str], Menu]:
    menus = db.session.scalars(
        select(Menu).where(
            Menu.canteen_id == canteen.id,
            Menu.date >= monday,
            Menu.date < monday + timedelta(days=7),
        )
    )
    return {(menu.date, menu.slot): menu for menu in menus}


def changeable(canteen: Canteen, day: date, now: datetime | None = None) -> bool:
    """Whether the canteen's menus of `day` may still change: a past day's menus stay as
    they were served."""
    return day >= canteen.district.local_today(now)


def _ensure_not_past(menu: Menu, now: datetime | None) -> None:
    if not changeable(menu.canteen, menu.date, now):
        raise Conflict(
            "menu_in_past",
            f"The menu of {menu.date:%Y-%m-%d} is in the past and cannot change.",
            {"menu_id": menu.id, "date": menu.date.isoformat()},
        )


def update_menu(menu: Menu, data: dict, *, now: datetime | None = None) -> Menu:
    """Change a menu only in ways that keep what was already ordered and served valid.

    Orders and meals carry their own priced snapshot, so a new price applies to orders
    placed from now on and never reprices a confirmed one."""
    now = now or utcnow()
    _ensure_not_past(menu, now)
    canteen = menu.canteen
    errors: dict[str, list[str]] = {}
    for field in ("date", "slot"):
        if field in data and data[field] != getattr(menu, field):
            errors[field] = [f"A menu's {field} cannot change; add a menu for the other {field}."]
    if "seats" in data and data["seats"] > canteen.seats_per_meal:
        errors["seats"] = [f"The canteen serves at most {canteen.seats_per_meal} per meal."]
    if data.get("delivery_capacity") and Function.DELIVERY not in canteen.functions:
        errors["delivery_capacity"] = ["The canteen does not deliver."]
    if "order_cutoff" in data:
        closes = slot_end(canteen, menu.date, menu.slot)
        if data["order_cutoff"] > closes:
            errors["order_cutoff"] = [
                f"Ordering must close before the {menu.slot} ends ({closes:%Y-%m-%d %H:%M})."
            ]
    current = {option.id: option for option in menu.options}
    if "options" in data:
        seen: set[int] = set()
        for index, option in enumerate(data["options"]):
            option_id = option.get("id")
            if option_id is None:
                continue
            if option_id not in current:
                errors[f"options.{index}.id"] = ["No such option on this menu."]
            elif option_id in seen:
                errors[f"options.{index}.id"] = ["The option is listed twice."]
            seen.add(option_id)
    if errors:
        raise ValidationFailed(errors)

    if "seats" in data and data["seats"] < menu.seats_used:
        raise Conflict(
            "seats_below_booked",
            f"{menu.seats_used} seats are already booked or used; seats cannot go below that.",
            {"seats_used": menu.seats_used},
        )
    capacity = data.get("delivery_capacity", menu.delivery_capacity)
    if capacity is not None and capacity < menu.delivery_used:
        raise Conflict(
            "delivery_below_booked",
            f"{menu.delivery_used} deliveries are already ordered; the capacity cannot go"
            " below that.",
            {"delivery_used": menu.delivery_used},
        )
    if "options" in data:
        kept = {option["id"] for option in data["options"] if option.get("id") is not None}
        removed = [option_id for option_id in current if option_id not in kept]
        if removed:
            options_removing.send(menu, option_ids=removed)
    unpublish = data.get("status") == MenuStatus.DRAFT and menu.status != MenuStatus.DRAFT
    if unpublish:
        menu_unpublishing.send(menu)

    for field in ("seats", "order_cutoff", "delivery_capacity", "status"):
        if field in data:
            setattr(menu, field, data[field])
    if "order_cutoff" in data and data["order_cutoff"] > now:
        # Ordering is open again: the kitchen's counts are not final until the new cutoff.
        menu.ordering_closed_at = None
    if "options" in data:
        _replace_options(menu, current, data["options"])
    db.session.flush()
    return menu


def _replace_options(menu: Menu, current: dict[int, MenuOption], given: list[dict]) -> None:
    options = []
    for position, data in enumerate(given):
        option = current.get(data.get("id")) or MenuOption()
        option.position = position
        for field, default in (
            ("name", None),
            ("price_fen", None),
            ("delivery_fee_fen", 0),
            ("dishes", []),
            ("tags", []),
        ):
            if field in data:
                setattr(option, field, data[field])
            elif option.id is None:
                setattr(option, field, default)
        options.append(option)
    menu.options = options


def publish_menu(menu: Menu, *, now: datetime | None = None) -> Menu:
    _ensure_not_past(menu, now)
    menu.status = MenuStatus.PUBLISHED
    db.session.flush()
    return menu


def publish_week(canteen: Canteen, monday: date, *, now: datetime | None = None) -> list[Menu]:
    """Publish the week's drafts from today on; past days stay as they were."""
    published = []
    for (day, _slot), menu in sorted(week_menus(canteen, monday).items()):
        if menu.status == MenuStatus.DRAFT and changeable(canteen, day, now):
            menu.status = MenuStatus.PUBLISHED
            published.append(menu)
    db.session.flush()
    return published


def copy_week(
    canteen: Canteen, from_week: date, to_week: date, *, now: datetime | None = None
) -> tuple[list[Menu], list[dict]]:
    """Make `to_week`'s missing menus from `from_week`'s, as drafts, each cutoff moved by
    as many days as the menu. An existing menu is never overwritten, and past days are
    left alone. Returns the menus made and what was skipped, with why."""
    errors = {}
    for field, day in (("from_week", from_week), ("to_week", to_week)):
        if day.weekday() != 0:
            errors[field] = ["Give the Monday of the week."]
    if not errors and from_week == to_week:
        errors["to_week"] = ["Copy to another week."]
    if errors:
        raise ValidationFailed(errors)
    if not changeable(canteen, to_week + timedelta(days=6), now):
        raise Conflict(
            "menu_in_past",
            f"The week of {to_week:%Y-%m-%d} is over; its menus cannot change.",
            {"to_week": to_week.isoformat()},
        )
    shift = to_week - from_week
    zone = ZoneInfo(canteen.district.effective_timezone)
    existing = week_menus(canteen, to_week)
    windows = set(planned_slots(canteen))
    delivers = Function.DELIVERY in canteen.functions
    created, skipped = [], []
    for (day, slot), source in sorted(week_menus(canteen, from_week).items()):
        target = day + shift
        reason = (
            "exists"
            if (target, slot) in existing
            else "past"
            if not changeable(canteen, target, now)
            else "no_window"
            if slot not in windows
            else None
        )
        if reason is None:
            # Moved in local wall time, so a cutoff stays "9:00 the same day" across DST.
            cutoff = (source.order_cutoff.astimezone(zone) + shift).astimezone(UTC)
            data = {
                "date": target,
                "slot": slot,
                # The canteen may have shrunk or stopped delivering since.
                "seats": min(source.seats, canteen.seats_per_meal),
                "order_cutoff": cutoff,
                "delivery_capacity": source.delivery_capacity if delivers else None,
                "status": MenuStatus.DRAFT,
                "options": [
                    {
                        "name": option.name,
                        "price_fen": option.price_fen,
                        "delivery_fee_fen": option.delivery_fee_fen,
                        "dishes": list(option.dishes),
                        "tags": list(option.tags),
                    }
                    for option in source.options
                ],
            }
            try:
                created.append(create_menu(canteen, data))
            except Conflict as conflict:
                if conflict.code != "menu_exists":
                    raise
                reason = "exists"  # made at the same moment by someone else
        if reason is not None:
            skipped.append({"date": target, "slot": slot, "reason": reason})
    return created, skipped
