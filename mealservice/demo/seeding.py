"""Seeding the demo district, step by step through the services, as counters, managers,
families and officials would have done it; each step is skipped once done, so seeding
again changes nothing.

The demo is built around now, whatever day that is (the service's one clock): the seven
days of meals before it, today's and next week's menus, today's deliveries, the latest
month whose claims can be made with its claims submitted, the regular diner who stopped
coming. Its people and places are in data.py and elders.py; the mistakes planted for the
claims and the warnings are in mistakes.py."""

import random
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy import delete, exists, select

from mealservice.accounts.models import User
from mealservice.accounts.services import create_user, deactivate, hash_password
from mealservice.balances.models import Balance, BalanceMovement
from mealservice.balances.services import balance_of, top_up
from mealservice.claims.models import Claim
from mealservice.claims.services import grace_days, make_claim
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import ApiError
from mealservice.core.periods import month_bounds, previous_month
from mealservice.counter.models import Terminal
from mealservice.counter.services import register_terminal
from mealservice.delivery.models import DeliveryRun
from mealservice.delivery.services import confirm_drop, make_runs, report_no_answer, run_orders
from mealservice.demo.data import (
    COMMUNITIES,
    DISTRICT,
    FORMER_STAFF,
    HOLIDAYS,
    LOGINS,
    MEAL_TIMES,
    PLACES,
    POLICY,
    RAISED_TIERS_FEN,
    RATING_COMMENTS,
    TOP_UPS_FEN,
    ZONE,
)
from mealservice.demo.elders import demo_elders
from mealservice.demo.menus import seed_menus
from mealservice.demo.mistakes import (
    plant_absent_regular,
    plant_late_death,
    plant_late_lost_card,
    plant_offline_double,
    plant_refused_scans,
)
from mealservice.demo.serving import serve, usual_place
from mealservice.elders.cards import issue_card, payload_of, signing_key
from mealservice.elders.models import Card, Elder, ElderStatus, account_elders
from mealservice.elders.protection import id_number_lookup_hash
from mealservice.elders.services import create_elder, link_elders, linked_elder_ids
from mealservice.meals.models import Meal, Order, Rating, StandingOrder
from mealservice.meals.orders import place_order
from mealservice.meals.standing import add_hold, create_standing_order, place_standing_orders
from mealservice.menus.models import Menu
from mealservice.oversight.models import CHECKLIST, Inspection
from mealservice.oversight.services.inspections import draw_inspections, record_result
from mealservice.oversight.services.warnings import raise_absence_alerts
from mealservice.places.models import Canteen, Community, District
from mealservice.places.registry import set_filing, set_grade
from mealservice.places.services import create_canteen, create_community, create_district
from mealservice.policy.models import Holiday, SubsidyPolicy
from mealservice.policy.services import create_policy, set_holiday

MAIN_CANTEEN = "北山街道老年食堂"
PHONE_ORDER_TAKER = "manager"  # the main canteen's manager login


def seed() -> list[dict]:
    """Load the demo district; running it again changes nothing. Returns the logins."""
    district = db.session.get(District, DISTRICT["code"]) or create_district(DISTRICT)
    canteens = seed_places(district)
    places = list(canteens.values())
    # Filed with civil affairs before anything is claimed: an unfiled place claims nothing.
    file_places(places)
    elder_ids = seed_elders(district)
    seed_cards(elder_ids)
    now = utcnow()
    today = district.local(now).date()
    seed_policy(district, today)
    seed_holidays()
    month = claimable_month(district)
    claimed = db.session.scalar(select(exists().where(Claim.month == month)))
    if not claimed:
        # The month's meals and mistakes first: the death and the lost card were known
        # before the last seven days, so those days' counters already follow them.
        seed_claimable_month(places, elder_ids, month, today)
    # Today's and tomorrow's menus are always there to order from.
    seed_menus(places, menu_days(today))
    seed_balances(places, elder_ids, recent_days(today)[0])
    seed_meals(places, recent_days(today), now)
    if not claimed:
        # Its lunches may fall in the month claimed; the claims come after every meal.
        plant_absent_regular(places, elder_ids, today)
        submit_claims(places, month)
    seed_terminals(places)
    seed_orders(places, elder_ids, now)
    seed_standing_orders(places, elder_ids, today)
    # What the scheduler would place at its next run, placed now so the demo shows it.
    place_standing_orders(now)
    seed_ratings()
    printed = seed_logins(canteens, elder_ids)
    seed_former_staff(canteens)
    db.session.flush()
    # After the logins: the volunteer's run needs the volunteer, an inspection the inspector.
    seed_deliveries(canteens[MAIN_CANTEEN], elder_ids, now)
    # After the logins: the manager takes it.
    seed_phone_order(canteens[MAIN_CANTEEN], elder_ids, now)
    # After the logins: the cashier reports them, the manager dismisses one.
    plant_refused_scans(canteens[MAIN_CANTEEN], elder_ids, now)
    seed_oversight(district, places, now)
    return printed


# The demo's days, counted from today in the district's zone.


def local_today() -> date:
    return utcnow().astimezone(ZONE).date()


def this_week(today: date | None = None) -> list[date]:
    """Monday to Sunday of the current week."""
    today = today or local_today()
    monday = today - timedelta(days=today.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def next_week(today: date | None = None) -> list[date]:
    return [day + timedelta(days=7) for day in this_week(today)]


def recent_days(today: date | None = None) -> list[date]:
    """The seven days up to today: the week of meals the demo shows on any weekday."""
    today = today or local_today()
    return [today - timedelta(days=n) for n in range(6, -1, -1)]


def menu_days(today: date | None = None) -> list[date]:
    """Menus for the week of meals, the rest of this week and all of next week."""
    return sorted(set(recent_days(today)) | set(this_week(today)) | set(next_week(today)))


def seed_places(district: District) -> dict[str, Canteen]:
    for street, communities in COMMUNITIES.items():
        for code, name, lat, lng in communities:
            if db.session.scalar(select(Community).where(Community.code == code)) is None:
                create_community(
                    district,
                    {
                        "code": code,
                        "name": name,
                        "street": street,
                        "location": {"lat": lat, "lng": lng},
                    },
                )
    canteens = {}
    for place in PLACES:
        # Found by community and kind, which a manager cannot change; names they can.
        canteen = db.session.scalar(
            select(Canteen)
            .join(Canteen.community)
            .where(Community.code == place["community"], Canteen.kind == place["kind"])
        )
        canteens[place["name"]] = canteen or create_canteen(
            None, {**place, "district": district.code}
        )
    return canteens


def seed_logins(canteens: dict[str, Canteen], elder_ids: list[int]) -> list[dict]:
    printed = []
    for login in LOGINS:
        linked = [elder_ids[i] for i in login.get("elders", ())]
        user = db.session.scalar(select(User).where(User.username == login["username"]))
        if user is None:
            canteen = canteens.get(login.get("canteen"))
            create_user(
                None,
                username=login["username"],
                password=login["password"],
                role=login["role"],
                district=login.get("district"),
                canteen_id=canteen.id if canteen else None,
                elder_ids=linked,
            )
        else:
            # Keep the printed passwords (and the family and elder links) true even if
            # someone changed them while exploring.
            user.password_hash = hash_password(login["password"])
            user.active = True
            if "elders" in login and linked_elder_ids(user) != sorted(linked):
                db.session.execute(
                    delete(account_elders).where(account_elders.c.user_id == user.id)
                )
                link_elders(user, linked)
        printed.append(
            {"role": login["role"], "username": login["username"], "password": login["password"]}
            | ({"elder_ids": linked} if "elders" in login else {})
        )
    return printed


def seed_former_staff(canteens: dict[str, Canteen]) -> None:
    """Accounts of staff who left, deactivated by the demo's admin (again, should someone
    have reactivated one while exploring)."""
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    for former in FORMER_STAFF:
        user = db.session.scalar(select(User).where(User.username == former["username"]))
        if user is None:
            user = create_user(
                None,
                username=former["username"],
                password=former["password"],
                role=former["role"],
                canteen_id=canteens[former["canteen"]].id,
            )
        if user.active:
            deactivate(admin, user)


def seed_meals(
    canteens: list[Canteen], days: list[date], now: datetime, shares: tuple[int, int] = (3, 12)
) -> None:
    """Meals of the days so far, scanned as the counters would have scanned them: this
    week, about a third of the elders eat lunch on a given day (1 in shares[0]), a few stay
    for dinner at a canteen (1 in shares[1]). A slot already served is left alone, so
    loading twice changes nothing."""
    elders = list(db.session.scalars(select(Elder).order_by(Elder.id)))
    # Each elder's working card: the newest generation, not revoked.
    cards = {
        card.elder_id: card
        for card in db.session.scalars(
            select(Card).where(Card.revoked_at.is_(None)).order_by(Card.generation)
        )
    }
    key = signing_key()
    payloads = {elder_id: payload_of(card, key) for elder_id, card in cards.items()}
    # Nobody tops up meanwhile: an elder without a balance now has none all along.
    with_balance = set(db.session.scalars(select(Balance.elder_id).where(Balance.balance_fen > 0)))
    # Each elder eats a slot once, so the meals served before the loop are all it meets.
    served = set(
        db.session.execute(
            select(Meal.elder_id, Meal.date, Meal.slot).where(Meal.date.in_(days))
        ).tuples()
    )
    for day in days:
        for slot, (hour, minute, spread) in MEAL_TIMES.items():
            places = [c for c in canteens if slot == "lunch" or c.kind == "canteen"]
            rng = random.Random(f"{day}:{slot}")
            eaters = rng.sample(elders, len(elders) // shares[0 if slot == "lunch" else 1])
            start = datetime.combine(day, time(hour, minute), ZONE)
            for n, elder in enumerate(sorted(eaters, key=lambda e: e.id)):
                moment = start + timedelta(minutes=spread * n / len(eaters))
                if moment > now:
                    break
                card = cards.get(elder.id)
                if (elder.id, day, slot) not in served and card is not None:
                    serve(
                        usual_place(elder, places),
                        card,
                        slot,
                        moment,
                        payload=payloads[elder.id],
                        may_have_balance=elder.id in with_balance,
                    )


def claimable_month(district: District) -> str:
    """The latest month whose claims can be made today: last month, or the one before it
    in the first days of a month (the grace period)."""
    today = district.local_today()
    month = previous_month(today)
    _, last = month_bounds(month)
    if today <= last + timedelta(days=grace_days()):
        month = previous_month(month_bounds(month)[0])
    return month


def seed_claimable_month(
    canteens: list[Canteen], elder_ids: list[int], month: str, today: date
) -> None:
    """The month's weekday lunches and dinners (but the days of the last seven, seeded
    with them) with the mistakes a month of real counters makes: an elder served twice,
    at two places, by a tablet that was offline; a card lost days before it was reported;
    an elder who died before the family told the community."""
    first, last = month_bounds(month)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    recent = set(recent_days(today))
    weekdays = [
        day for day in days if day.weekday() < 5 and day not in HOLIDAYS and day not in recent
    ]
    seed_menus(canteens, weekdays)
    seed_meals(canteens, weekdays, utcnow(), shares=(10, 40))
    plant_offline_double(canteens, weekdays[5])
    plant_late_lost_card(elder_ids, weekdays[8])
    plant_late_death(elder_ids, weekdays[-6])


def submit_claims(canteens: list[Canteen], month: str) -> None:
    """Every place's claim for the month, submitted for an official to review."""
    clerk = SimpleNamespace(username="seed-demo", role="manager", canteen_id=None)
    for canteen in canteens:
        make_claim(clerk, canteen, month)


def seed_balances(canteens: list[Canteen], elder_ids: list[int], day: date) -> None:
    """Top-ups on `day`'s morning at each elder's usual place, unless the elder has a
    balance history already."""
    counter = SimpleNamespace(username="seed-demo", role="cashier")
    with_history = set(db.session.scalars(select(BalanceMovement.elder_id).distinct()))
    family = {elder_ids[i] for login in LOGINS for i in login.get("elders", ())}
    chosen = set(elder_ids[::4]) | family
    for n, elder in enumerate(db.session.scalars(select(Elder).where(Elder.id.in_(chosen)))):
        if elder.id in with_history:
            continue
        moment = datetime.combine(day, time(9, 0), ZONE) + timedelta(minutes=n % 90)
        moment = min(moment, utcnow())
        method = "e_payment" if n % 3 == 0 else "cash"
        top_up(
            counter,
            usual_place(elder, canteens),
            elder,
            TOP_UPS_FEN[n % len(TOP_UPS_FEN)],
            method,
            f"WX{4200000000 + elder.id}" if method == "e_payment" else None,
            now=moment,
        )


def seed_terminals(canteens: list[Canteen]) -> None:
    """A counter terminal at every place that has none (its token is not kept: a manager
    registers a tablet of their own on the terminals page)."""
    with_terminal = set(db.session.scalars(select(Terminal.canteen_id)))
    manager = SimpleNamespace(username="seed-demo", role="manager")
    for canteen in canteens:
        if canteen.id not in with_terminal:
            register_terminal(manager, canteen, "收银台1")


def seed_cards(elder_ids: list[int]) -> None:
    """A card for every demo elder who has none yet."""
    with_cards = set(db.session.scalars(select(Card.elder_id).where(Card.elder_id.in_(elder_ids))))
    for elder in db.session.scalars(select(Elder).where(Elder.id.in_(elder_ids))):
        if elder.id not in with_cards:
            issue_card("seed-demo", elder)


def seed_policy(district: District, today: date) -> None:
    """The policy in force, and next year's raise added ahead of its day (once: seeding
    on a later day adds no third version)."""
    versions = db.session.scalars(
        select(SubsidyPolicy.effective_from).where(SubsidyPolicy.district_code == district.code)
    ).all()
    if POLICY["effective_from"] not in versions:
        create_policy("seed-demo", district, POLICY)
    if not any(day > POLICY["effective_from"] for day in versions):
        create_policy("seed-demo", district, raised_policy(today))


def raised_policy(today: date) -> dict:
    """POLICY with RAISED_TIERS_FEN, from the first 1 January after the last menu seeded."""
    starts = date(menu_days(today)[-1].year + 1, 1, 1)
    tiers = [
        {**tier, "amount_fen": RAISED_TIERS_FEN.get(tier["name"], tier["amount_fen"])}
        for tier in POLICY["tiers"]
    ]
    return {**POLICY, "effective_from": starts, "tiers": tiers}


def seed_holidays() -> None:
    # Only what is new: a holiday set again tells every listener (the orders of its day
    # are priced again) for nothing.
    known = {day: name for day, name in db.session.execute(select(Holiday.day, Holiday.name))}
    for day, name in HOLIDAYS.items():
        if known.get(day) != name:
            set_holiday(day, name)


def seed_elders(district: District) -> list[int]:
    """Register the demo elders not yet registered; their ids, in demo_elders() order."""
    elders = demo_elders()
    hashes = [id_number_lookup_hash(data["id_number"]) for data in elders]
    ids = dict(
        db.session.execute(
            select(Elder.id_number_hash, Elder.id).where(Elder.id_number_hash.in_(hashes))
        ).all()
    )
    for data, lookup in zip(elders, hashes, strict=True):
        if lookup not in ids:
            ids[lookup] = create_elder(None, {**data, "hukou_district": district.code}).id
    return [ids[lookup] for lookup in hashes]


def seed_orders(canteens: list[Canteen], elder_ids: list[int], now: datetime) -> None:
    """The next open meal's bookings and delivery orders, as families and the canteens'
    phones take them: a couple of dozen elders, the family logins' elders among them."""
    if db.session.scalar(select(Order.id).limit(1)) is not None:
        return
    family = [elder_ids[i] for login in LOGINS for i in login.get("elders", ())]
    rng = random.Random("orders")
    chosen = list(dict.fromkeys(family + rng.sample(elder_ids, 24)))
    for n, elder in enumerate(db.session.scalars(select(Elder).where(Elder.id.in_(chosen)))):
        canteen = usual_place(elder, canteens)
        menu = db.session.scalar(
            select(Menu)
            .where(Menu.canteen_id == canteen.id, Menu.slot == "lunch", Menu.ordering_open(now))
            .order_by(Menu.date)
            .limit(1)
        )
        delivers = "delivery" in canteen.functions and n % 2 == 0
        data = {
            "elder_id": elder.id,
            "menu_id": menu.id,
            "option_id": menu.options[n % 2].id,
            "channel": "delivery" if delivers else "dine_in",
        }
        if balance_of(elder.id):
            data["payment"] = {"method": "balance"}
        try:
            with db.session.begin_nested():
                order = place_order(None, data, now=now)
                order.placed_by = "seed-demo"
        except ApiError:
            # A full menu or an elder no longer active: the phone call ends there.
            pass


def seed_phone_order(canteen: Canteen, elder_ids: list[int], now: datetime) -> None:
    """The family login's second elder, who has no smartphone, rings the canteen to book
    the next dinner after today's; its manager takes the order on the phone-order page's
    service, so the family's history shows it placed by the canteen."""
    manager = db.session.scalar(select(User).where(User.username == PHONE_ORDER_TAKER))
    family = next(login for login in LOGINS if login["username"] == "family")
    elder_id = elder_ids[family["elders"][1]]
    taken = select(Order.id).where(Order.elder_id == elder_id, Order.placed_by == PHONE_ORDER_TAKER)
    if db.session.scalar(taken.limit(1)) is not None:
        return
    dinners = db.session.scalars(
        select(Menu)
        .where(
            Menu.canteen_id == canteen.id,
            Menu.slot == "dinner",
            Menu.date > canteen.district.local(now).date(),
            Menu.ordering_open(now),
        )
        .order_by(Menu.date)
    )
    for menu in dinners:
        data = {
            "elder_id": elder_id,
            "menu_id": menu.id,
            "option_id": menu.options[0].id,
            "channel": "dine_in",
        }
        if balance_of(elder_id):
            data["payment"] = {"method": "balance"}
        try:
            with db.session.begin_nested():
                place_order(manager, data, now=now)
            return
        except ApiError:
            continue


def seed_standing_orders(canteens: list[Canteen], elder_ids: list[int], today: date) -> None:
    """Lunch delivered every weekday for a few elders living alone, as meals-on-wheels run
    it; one of them away in hospital for three days next week."""
    if db.session.scalar(select(StandingOrder.id).limit(1)) is not None:
        return
    delivering = [c for c in canteens if "delivery" in c.functions]
    candidates = db.session.scalars(
        select(Elder)
        .where(Elder.id.in_(elder_ids[3:]), Elder.status == ElderStatus.ACTIVE)
        .order_by(Elder.id)
    ).all()
    alone = [elder for elder in candidates if "living_alone" in elder.categories][:4]
    for n, elder in enumerate(alone):
        standing = create_standing_order(
            None,
            {
                "elder_id": elder.id,
                "canteen_id": usual_place(elder, delivering).id,
                "slot": "lunch",
                "channel": "delivery",
                "weekdays": "1111100",
                "preferred_tag": "soft" if n % 2 else None,
            },
        )
        if n == 0:
            monday = next_week(today)[0]
            add_hold(None, standing, monday + timedelta(days=1), monday + timedelta(days=3), "住院")


def seed_ratings() -> None:
    """Some of the week's meals rated by the elders, a few of them badly."""
    if db.session.scalar(select(Rating.id).limit(1)) is not None:
        return
    rng = random.Random("ratings")
    meals = db.session.scalars(select(Meal).where(Meal.voided_at.is_(None)).order_by(Meal.id))
    for meal in meals:
        if rng.random() < 0.15:
            score = rng.choices((5, 4, 3, 2, 1), weights=(40, 30, 15, 10, 5))[0]
            db.session.add(
                Rating(
                    meal_id=meal.id,
                    elder_id=meal.elder_id,
                    canteen_id=meal.canteen_id,
                    score=score,
                    comment=rng.choice(RATING_COMMENTS[score]),
                    rated_by="seed-demo",
                    rated_at=meal.served_at + timedelta(hours=2),
                )
            )


def seed_deliveries(canteen: Canteen, elder_ids: list[int], now: datetime) -> None:
    """Today's lunch deliveries from the main canteen, ordered this morning: most in a run
    handed to the simulator (its outbox jobs go out when `make demo` has started the
    simulator and the scheduler, and the orders then move on the manager's page), four in
    a volunteer's run. The first elder of a volunteer's round did not answer the door, a
    welfare alert: on today's round once it is done (after ROUND_DONE), before that on
    yesterday's, whose other meals were handed over."""
    if db.session.scalar(select(DeliveryRun.id).limit(1)) is not None:
        return
    today = canteen.district.local(now).date()
    rng = random.Random("deliveries")
    candidates = rng.sample(elder_ids, 80)
    morning = min(datetime.combine(today, time(7, 30), ZONE), now)
    round_done = datetime.combine(today, ROUND_DONE, ZONE)
    ordered = _deliver_lunches(canteen, today, candidates, morning, volunteer_from=8, now=now)
    if ordered is None:
        return
    if ordered and now >= round_done:
        report_no_answer(_volunteer(), run_orders(ordered[-1])[0], now=round_done)
        return
    yesterday = today - timedelta(days=1)
    ordered = _deliver_lunches(
        canteen,
        yesterday,
        candidates[40:],
        datetime.combine(yesterday, time(7, 30), ZONE),
        volunteer_from=0,
        count=4,
        now=now,
    )
    if not ordered:
        return
    first, *others = run_orders(ordered[-1])
    done = datetime.combine(yesterday, ROUND_DONE, ZONE)
    report_no_answer(_volunteer(), first, now=done - timedelta(minutes=40))
    for n, order in enumerate(others):
        confirm_drop(_volunteer(), order, order.delivery_code, now=done - timedelta(minutes=30 - n))


# When a volunteer's lunch round is over.
ROUND_DONE = time(12, 0)


def _volunteer() -> User:
    return db.session.scalar(select(User).where(User.username == "volunteer"))


def _orderers(day: date) -> set[int]:
    return set(
        db.session.scalars(select(Order.elder_id).where(Order.date == day, Order.slot == "lunch"))
    ) | set(db.session.scalars(select(Meal.elder_id).where(Meal.date == day)))


def _deliver_lunches(
    canteen: Canteen,
    day: date,
    candidates: list[int],
    morning: datetime,
    *,
    volunteer_from: int,
    now: datetime,
    count: int = 12,
) -> list[DeliveryRun] | None:
    """`count` of the candidates' lunches on `day` ordered for delivery in the morning,
    those from `volunteer_from` on in a volunteer's run, the ones before in the
    simulator's; the runs made (the volunteer's last), or None without a menu. Runs are
    made at the ordering cutoff: none yet when `now` is before it."""
    menu = db.session.scalar(
        select(Menu).where(Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == "lunch")
    )
    if menu is None:
        return None
    busy = _orderers(day)
    active = set(
        db.session.scalars(
            select(Elder.id).where(Elder.id.in_(candidates), Elder.status == ElderStatus.ACTIVE)
        )
    )
    chosen = [e for e in candidates if e not in busy and e in active][:count]
    manager = SimpleNamespace(username="seed-demo", role="manager", canteen_id=canteen.id)
    dispatch = menu.order_cutoff
    runs = []
    for n, elder_id in enumerate(chosen):
        if n == volunteer_from > 0 and dispatch <= now:
            # The simulator's run, made of the orders placed so far; the demo places the
            # volunteer's orders after it (dated before the cutoff all the same), so that
            # one meal shows both kinds of run.
            runs += make_runs(manager, canteen, day, "lunch", "simulator", now=dispatch)
        try:
            with db.session.begin_nested():
                place_order(
                    None,
                    {
                        "elder_id": elder_id,
                        "menu_id": menu.id,
                        "option_id": menu.options[n % 2].id,
                        "channel": "delivery",
                    },
                    now=morning - timedelta(minutes=count - n),
                )
        except ApiError:
            # A full menu: the phone call ends there.
            pass
    if dispatch > now:
        return runs  # ordering is still open: the manager makes the runs after the cutoff
    volunteer = _volunteer()
    runs += make_runs(manager, canteen, day, "lunch", "volunteer", volunteer.id, now=dispatch)
    return runs


def file_places(canteens: list[Canteen]) -> None:
    """Every place filed (备案) with civil affairs, each on its own day of 2025."""
    official = SimpleNamespace(username="seed-demo", role="official", canteen_id=None)
    for number, canteen in enumerate(canteens, start=1):
        if canteen.filing_status != "filed":
            filed_on = date(2025, 3, 1) + timedelta(days=17 * number)
            set_filing(official, canteen, "filed", f"西民养备〔2025〕{number:03d}号", filed_on)


def seed_oversight(district: District, canteens: list[Canteen], now: datetime) -> None:
    """What officials oversee: the canteens graded (every place was filed first), a regular
    diner who stopped coming (a welfare alert), and a random inspection, one of whose
    results the inspector has recorded. Skipped once the inspections exist."""
    if db.session.scalar(select(Inspection.id).limit(1)) is not None:
        return
    official = SimpleNamespace(username="seed-demo", role="official", canteen_id=None)
    for number, canteen in enumerate(canteens, start=1):
        if canteen.kind == "canteen":
            set_grade(official, canteen, 4 if number % 2 else 3, date(2026, 6, 30))
    raise_absence_alerts(now)
    drawn = draw_inspections(official, district, 2, seed="demo")
    inspector = db.session.scalar(select(User).where(User.username == "inspector"))
    checklist = dict.fromkeys(CHECKLIST, True) | {"food_samples_kept": False}
    record_result(inspector, drawn[0], "rectify", checklist, "留样记录缺两天，限一周内整改。")
