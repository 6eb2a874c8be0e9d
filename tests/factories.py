"""create_* helpers with sensible defaults; they go through the services, so the data
they make obeys the same rules as data made through the API.

Each one commits, as data made before a request would be: inside the `db` fixture that
only releases a savepoint, and a request that fails and rolls back cannot undo it."""

from datetime import date, datetime, timedelta
from itertools import count
from types import SimpleNamespace

from sqlalchemy import select

from mealservice.accounts.models import User
from mealservice.accounts.services import create_user as create_user_service
from mealservice.accounts.services import issue_token
from mealservice.core.db import db
from mealservice.core.idnumber import make_id_number
from mealservice.elders.cards import issue_card
from mealservice.elders.services import create_elder as create_elder_service
from mealservice.menus.services import create_menu as create_menu_service
from mealservice.menus.services import slot_end
from mealservice.places.registry import set_filing
from mealservice.places.services import create_canteen as create_canteen_service
from mealservice.places.services import create_community as create_community_service
from mealservice.places.services import create_district as create_district_service
from mealservice.policy.services import create_policy as create_policy_service
from mealservice.policy.services import set_holiday

_sequence = count(1)


def _next() -> int:
    return next(_sequence)


def create_district(code: str | None = None, **fields):
    data = {"code": code or f"9{_next():05d}", "name": "测试区", **fields}
    return _committed(create_district_service(data))


def create_community(district, code: str | None = None, **fields):
    number = _next()
    data = {
        "code": code or f"{district.code}C{number:04d}",
        "name": f"测试社区{number}",
        "street": "测试街道",
        "location": {"lat": 30.2741, "lng": 120.1551},
        **fields,
    }
    return _committed(create_community_service(district, data))


def canteen_data(district, community=None, **fields) -> dict:
    community = community or create_community(district)
    return canteen_body(district.code, community.code, **fields)


def canteen_body(district_code: str, community_code: str, **fields) -> dict:
    """A valid canteen for the API: a street canteen above the default standard."""
    return {
        "name": f"测试老年食堂{_next()}",
        "kind": "canteen",
        "district": district_code,
        "community": community_code,
        "seats_per_meal": 80,
        "dining_area_m2": 120.0,
        "functions": ["cooking", "dine_in", "delivery"],
        "operator_type": "public_private",
        "address": "测试路1号",
        "location": {"lat": 30.2741, "lng": 120.1551},
        "monthly_operating_subsidy_fen": 1_000_000,
        **fields,
    }


def create_canteen(district, community=None, filed: bool = True, **fields):
    """A canteen, filed (备案) with civil affairs as a place must be to claim, unless not."""
    canteen = create_canteen_service(None, canteen_data(district, community, **fields))
    if filed:
        set_filing(None, canteen, "filed", f"测试备〔2026〕{canteen.id:03d}号", date(2026, 1, 5))
    return _committed(canteen)


def create_user(
    role: str,
    *,
    district=None,
    canteen=None,
    elders=(),
    password: str = "correct-horse-9",
    **fields,
):
    needs_canteen = role in ("manager", "cashier", "volunteer")
    needs_district = role in ("official", "inspector")
    user = create_user_service(
        None,
        username=fields.pop("username", f"{role}{_next()}"),
        password=password,
        role=role,
        district=district.code if (needs_district and district is not None) else None,
        canteen_id=canteen.id if (needs_canteen and canteen is not None) else None,
        elder_ids=[elder.id for elder in elders] if role in ("family", "elder") else [],
    )
    return _committed(user)


def token_for(user) -> str:
    token, _ = issue_token(user, timedelta(hours=1))
    db.session.commit()
    return token


def _committed(obj):
    db.session.commit()
    return obj


def elder_data(district, community=None, **fields) -> dict:
    """A registration body for the API: a 78-year-old living alone, made-up ID number
    (born within a year of 1948-03-01, however many elders a test run makes)."""
    community = community or create_community(district)
    number = _next()
    return {
        "name": f"测试老人{number}",
        "id_number": make_id_number(
            "330106", date(1948, 3, 1) + timedelta(days=number % 365), number
        ),
        "phone": f"138{number:08d}",
        "address": "测试路2号3单元",
        "community": community.code,
        "hukou_district": district.code,
        "location": {"lat": 30.2745, "lng": 120.1555},
        "categories": ["living_alone"],
        "ability_level": "mild",
        "diet_notes": "糖尿病，少糖",
        "consent": {"given_at": "2026-11-01T09:30:00+08:00", "recorded_by": "社区工作人员王芳"},
        **fields,
    }


def create_elder(district, community=None, **fields):
    data = elder_data(district, community, **fields)
    data["consent"] = {
        "given_at": datetime.fromisoformat(data["consent"]["given_at"]),
        "recorded_by": data["consent"]["recorded_by"],
    }
    return _committed(create_elder_service(None, data))


def create_holiday(day: date, name: str):
    return _committed(set_holiday(day, name))


def create_card(elder):
    return _committed(issue_card("factory", elder))


def create_policy(district, effective_from: date = date(2026, 1, 1), **fields):
    """The demo district's kind of policy: 困难老人 15 yuan, 80+ 8 yuan, 70+ 5 yuan."""
    data = {
        "effective_from": effective_from,
        "no_subsidy_on_holidays": True,
        "max_meals_per_slot": 1,
        "max_subsidized_per_day": None,
        "refuse_beyond_limit": True,
        "delivery_subsidy_fen": 300,
        "tiers": [
            {
                "name": "困难老人",
                "categories": ["extreme_poverty", "minimum_allowance"],
                "channel": "any",
                "amount_fen": 1500,
            },
            {"name": "80岁以上", "min_age": 80, "channel": "any", "amount_fen": 800},
            {"name": "70岁以上", "min_age": 70, "channel": "dine_in", "amount_fen": 500},
        ],
        **fields,
    }
    return _committed(create_policy_service("factory", district, data))


def create_menu(canteen, day: date, slot: str = "lunch", seats: int = 50, **fields):
    """A published menu; its cutoff is an hour before the slot's window ends."""
    closes = slot_end(canteen, day, slot)
    data = {
        "date": day,
        "slot": slot,
        "seats": seats,
        "order_cutoff": closes - timedelta(hours=1),
        "options": [
            {"name": "A套餐", "price_fen": 1800, "delivery_fee_fen": 500},
            {"name": "软食套餐", "price_fen": 1200, "tags": ["soft"]},
        ],
        **fields,
    }
    return _committed(create_menu_service(canteen, data))


def create_meal(canteen, elder, slot: str = "lunch", **data):
    """A meal served today at the canteen's counter (with a menu made for it if need be)."""
    from mealservice.meals.services import scan
    from mealservice.menus.models import Menu

    day = canteen.district.local_today()
    menu = db.session.scalar(
        select(Menu).where(Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == slot)
    )
    if menu is None:
        create_menu(canteen, day, slot)
    cashier = SimpleNamespace(username="factory-cashier", role="cashier")
    return _committed(scan(cashier, canteen, {"elder_id": elder.id, "slot": slot, **data}))


def create_terminal(canteen, name: str = "counter 1"):
    from mealservice.counter.services import register_terminal

    manager = SimpleNamespace(username="factory-manager", role="manager")
    terminal, token = register_terminal(manager, canteen, name)
    terminal.token = token
    return _committed(terminal)


def create_order(canteen, elder, channel: str = "delivery", **data):
    """An order for tomorrow's lunch (with a menu made for it if need be)."""
    from mealservice.meals.orders import place_order
    from mealservice.menus.models import Menu

    day = canteen.district.local_today() + timedelta(days=1)
    menu = db.session.scalar(
        select(Menu).where(Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == "lunch")
    ) or create_menu(canteen, day, "lunch")
    body = {"elder_id": elder.id, "menu_id": menu.id, "option_id": menu.options[0].id}
    return _committed(place_order(None, {**body, "channel": channel, **data}))


def create_standing_order(canteen, elder, **data):
    """Lunch delivered every weekday, with a hold for a hospital stay next week."""
    from mealservice.meals.standing import add_hold
    from mealservice.meals.standing import create_standing_order as create

    body = {"elder_id": elder.id, "canteen_id": canteen.id, "slot": "lunch"}
    standing = create(None, {**body, "channel": "delivery", "weekdays": "1111100", **data})
    monday = canteen.district.local_today() + timedelta(days=7)
    add_hold(None, standing, monday, monday + timedelta(days=2), "住院")
    return _committed(standing)


def close_ordering(canteen, day: date, slot: str = "lunch"):
    """Bring the meal's ordering cutoff to just before now, as if its time had come: runs
    are made only once families can no longer order or cancel."""
    from mealservice.core.clock import utcnow
    from mealservice.menus.models import Menu

    menu = db.session.scalar(
        select(Menu).where(Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == slot)
    )
    menu.order_cutoff = utcnow() - timedelta(seconds=1)
    return _committed(menu)


def create_volunteer_run(canteen, elder):
    """A volunteer's run of one delivery order (tomorrow's lunch) for the elder. Runs are
    made once ordering has closed; the cutoff then comes back, so that a test may still
    order that meal (another run, another order) after making this one."""
    from mealservice.delivery.services import make_runs
    from mealservice.menus.models import Menu

    order = create_order(canteen, elder)
    cutoff = db.session.get(Menu, order.menu_id).order_cutoff
    menu = close_ordering(canteen, order.date)
    volunteer = create_user("volunteer", canteen=canteen)
    manager = SimpleNamespace(username="factory-manager", role="manager", canteen_id=canteen.id)
    [run] = make_runs(manager, canteen, order.date, "lunch", "volunteer", volunteer.id)
    menu.order_cutoff = cutoff
    return _committed(run)


def create_alert(canteen, elder):
    """A welfare alert: the volunteer found nobody at the elder's door."""
    from mealservice.delivery.services import report_no_answer, run_orders
    from mealservice.elders.models import WelfareAlert

    run = create_volunteer_run(canteen, elder)
    volunteer = db.session.get(User, run.volunteer_id)
    order = run_orders(run)[0]
    report_no_answer(volunteer, order)
    return _committed(
        db.session.scalar(select(WelfareAlert).where(WelfareAlert.order_id == order.id))
    )


def create_claim(canteen, rejected: bool = False):
    """October 2026's claim of the canteen (October's grace period is long over), rejected
    by an official if asked."""
    from mealservice.claims.services import make_claim, review

    someone = SimpleNamespace(username="factory-official", role="official", canteen_id=None)
    claim = make_claim(someone, canteen, "2026-10")
    if rejected:
        review(someone, claim, "reject", "材料不全")
    return _committed(claim)


def create_sample(canteen, elder):
    """A pending random check (随机抽查) of a line of October's claim of the canteen."""
    from mealservice.claims.models import SampleCheck

    check = SampleCheck(
        claim_id=create_claim(canteen).id,
        meal_id=create_meal(canteen, elder).id,
        drawn_by="factory-official",
    )
    db.session.add(check)
    return _committed(check)


def create_blacklist_entry(canteen):
    from mealservice.places.registry import add_to_blacklist

    return _committed(add_to_blacklist(None, canteen, "拒不整改", date(2026, 1, 1)))


def create_inspection(district):
    """A random inspection of a place of the district, drawn for a new inspector."""
    from mealservice.oversight.services.inspections import draw_inspections

    create_user("inspector", district=district)
    return _committed(draw_inspections(None, district, 1)[0])


def create_refused_scan(canteen, scan: dict | None = None, code: str = "card_invalid", **data):
    """A scan a terminal queued offline half an hour ago and the service refused, kept
    open: by default a card that is no card of this service."""
    from mealservice.core.clock import utcnow
    from mealservice.counter.services import report_refused_scan

    if scan is None:
        scanned_at = (utcnow() - timedelta(minutes=30)).isoformat()
        scan = {"qr_payload": "MS1:ABCDEF", "scanned_at": scanned_at}
    cashier = SimpleNamespace(username="factory-cashier", role="cashier")
    report = {
        "key": f"queued-{_next()}",
        "label": "卡 3fa2c1",
        "scan": scan,
        "scanned_at": datetime.fromisoformat(scan["scanned_at"]),
        "error": {"code": code, "message": "Not a valid elder card: bad signature."},
        **data,
    }
    refused, _ = report_refused_scan(cashier, canteen, report)
    return _committed(refused)
