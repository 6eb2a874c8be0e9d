"""The counter: terminals with their own revocable tokens, the card list a terminal checks
cards against while offline, the queued offline scans the service refused (kept until a
person resolves them), and the end-of-shift report the till is reconciled with."""

import secrets
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, func, literal_column, select, update
from sqlalchemy.orm import selectinload

from mealservice.accounts.models import ApiToken, User
from mealservice.accounts.services import hash_password, issue_token, user_for_token
from mealservice.balances.models import BalanceMovement, MovementKind
from mealservice.core.auth import CASHIER, ensure_canteen_in_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import add_once, add_unique, db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.counter.models import RefusedScan, Resolution, Terminal
from mealservice.elders import cards
from mealservice.meals import services as meals
from mealservice.meals.models import Meal, PaymentMethod
from mealservice.menus.models import Menu, MenuStatus
from mealservice.places.models import Canteen, Slot
from mealservice.places.services import counter_canteen
from mealservice.policy import pricing
from mealservice.policy.services import pricing_policies

# Terminals


def register_terminal(actor, canteen: Canteen, name: str) -> tuple[Terminal, str]:
    """A terminal for the canteen's counter and its token, shown this once."""
    name = name.strip()
    if not 1 <= len(name) <= 40:
        raise ValidationFailed({"name": ["Give the terminal a name of 1 to 40 characters."]})
    account = User(
        username=f"terminal-{canteen.id}-{secrets.token_hex(4)}",
        # Nobody knows it: a terminal signs in by its token, never by a password.
        password_hash=hash_password(secrets.token_urlsafe(32)),
        role=CASHIER,
        district_code=canteen.district_code,
        canteen_id=canteen.id,
    )
    db.session.add(account)
    db.session.flush()
    terminal = Terminal(
        canteen_id=canteen.id, name=name, user=account, registered_by=actor.username
    )
    add_unique(
        terminal,
        "terminal_exists",
        f"This canteen already has a terminal named {name!r}.",
        {"name": name},
    )
    token, _ = issue_token(account, timedelta(days=current_app.config["TERMINAL_TOKEN_DAYS"]))
    return terminal, token


def revoke_terminal(actor, terminal: Terminal) -> Terminal:
    """Switch a lost or retired terminal off: its account, its tokens and its sessions.

    Once: a conditional UPDATE, so of two revokes at once the first one's time and name
    stand and the second is a 409 `terminal_revoked`."""
    now = utcnow()
    revoked = db.session.execute(
        update(Terminal)
        .where(Terminal.id == terminal.id, Terminal.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor.username)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(terminal)
    if revoked.rowcount != 1:
        raise Conflict(
            "terminal_revoked",
            "The terminal is already switched off.",
            {"revoked_at": terminal.revoked_at.isoformat(), "revoked_by": terminal.revoked_by},
        )
    terminal.user.active = False
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == terminal.user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.flush()
    return terminal


def get_terminal(actor, terminal_id: int) -> Terminal:
    terminal = db.session.get(Terminal, terminal_id)
    if terminal is None:
        raise NotFound("terminal")
    ensure_canteen_in_scope(actor, terminal.canteen, "terminal")
    return terminal


def canteen_terminals(canteen: Canteen) -> list[Terminal]:
    return list(
        db.session.scalars(
            select(Terminal).where(Terminal.canteen_id == canteen.id).order_by(Terminal.id)
        )
    )


def terminal_user_for_token(token: str) -> User | None:
    """The account of the live terminal holding `token`, to sign a tablet's browser in."""
    user = user_for_token(token)
    if user is None:
        return None
    live = db.session.scalar(
        select(Terminal.id).where(Terminal.user_id == user.id, Terminal.revoked_at.is_(None))
    )
    return user if live else None


# The card list for offline checks


def card_list(canteen: Canteen) -> dict:
    """The cards of the district's elders that no longer work: revoked, superseded by a
    newer card, or of an elder deceased or moved away. Card ids and generations only,
    nothing personal. A terminal that lost the network refuses these at once; any other
    card it queues for the service to judge."""
    listed = cards.cards_not_working(canteen.district_code, canteen.district.local_today())
    return {"as_of": utcnow(), **listed}


# The roster a terminal answers from while offline


def offline_roster(canteen: Canteen) -> dict:
    """What a terminal needs to answer a scan, and to warn of a second one, while the
    network is down: the keys that verify a card's signature, today's menus here (their
    first option, as a scan without option_id takes), every working card of the district's
    active elders with the elder's name and what they would pay for each of those menus,
    and the meals served here today.

    The amounts are provisional: each priced as the elder's first meal of the slot (no
    tallies read), by the one pricing function with the cached policies, so the roster
    costs the same few statements for ten elders or ten thousand. Nothing personal beyond
    the name."""
    now = utcnow()
    district = canteen.district
    today = district.local(now).date()
    first_options = {
        menu.slot: menu.options[0] for menu in _published_menus(canteen, today) if menu.options
    }
    policies = pricing_policies(canteen.district_code)
    elders = []
    for card_id, generation, elder in cards.working_cards(canteen.district_code, today):
        pays = {}
        for slot, option in first_options.items():
            moment = meals.Moment(at=now, day=today, slot=slot, offline=True)
            # No daily limit passed: no tally is read, the meal is the slot's first.
            facts = meals.facts_of_meal(canteen, elder, moment, option.price_fen, None)
            price = pricing.price_meal(policies, meals.facts_of_elder(elder), facts)
            pays[slot] = price.elder_pays_fen
        elders.append(
            {
                "card_id": card_id,
                "generation": generation,
                "elder_id": elder.id,
                "name": elder.name,
                "pays_fen": pays,
            }
        )
    served = db.session.execute(
        select(Meal.elder_id, Meal.slot, Meal.served_at)
        .where(Meal.canteen_id == canteen.id, Meal.date == today, Meal.voided_at.is_(None))
        .order_by(Meal.served_at)
    )
    return {
        "as_of": now,
        "date": today,
        "keys": cards.public_keys(),
        "menus": {
            slot: {
                "menu_id": option.menu_id,
                "option_id": option.id,
                "option_name": option.name,
                "price_fen": option.price_fen,
            }
            for slot, option in first_options.items()
        },
        "elders": elders,
        "served": [row._asdict() for row in served],
    }


def _published_menus(canteen: Canteen, day: date) -> list[Menu]:
    return list(
        db.session.scalars(
            select(Menu)
            .options(selectinload(Menu.options))
            .where(
                Menu.canteen_id == canteen.id,
                Menu.date == day,
                Menu.status == MenuStatus.PUBLISHED,
            )
            .order_by(Menu.id)
        )
    )


# Queued offline scans the service refused


def report_refused_scan(actor, canteen: Canteen, data: dict) -> tuple[RefusedScan, bool]:
    """Keep a scan the terminal queued offline and the service then refused: the meal was
    handed out, so it stays open until a person retries or dismisses it. `data` holds the
    page's `key` (the queued scan's Idempotency-Key), its `label`, the queued `scan` body
    as sent, its `scanned_at` and the refusal's `error` {code, message}.

    The same key again is the row already kept, unchanged (a page that lost the answer
    reports again); the flag says whether this report made it."""
    refused = RefusedScan(
        canteen_id=canteen.id,
        key=data["key"],
        label=data.get("label"),
        scan=data["scan"],
        scanned_at=data["scanned_at"],
        error_code=data["error"]["code"],
        error_message=data["error"].get("message"),
        reported_by=actor.username,
        reported_at=utcnow(),
    )
    if add_once(refused):
        return refused, True
    return _refused_scan_by_key(canteen.id, data["key"]), False


def _refused_scan_by_key(canteen_id: int, key: str) -> RefusedScan:
    return db.session.scalar(
        select(RefusedScan).where(RefusedScan.canteen_id == canteen_id, RefusedScan.key == key)
    )


def get_refused_scan(actor, refused_scan_id: int) -> RefusedScan:
    refused = db.session.get(RefusedScan, refused_scan_id)
    if refused is None:
        raise NotFound("refused scan")
    ensure_canteen_in_scope(actor, refused.canteen, "refused scan")
    return refused


def refused_scans_query(canteen: Canteen, status: str = "open"):
    """The canteen's refused offline scans, newest scan first."""
    query = (
        select(RefusedScan)
        .where(RefusedScan.canteen_id == canteen.id)
        .order_by(RefusedScan.scanned_at.desc(), RefusedScan.id.desc())
    )
    if status == "open":
        query = query.where(RefusedScan.resolved_at.is_(None))
    elif status == "resolved":
        query = query.where(RefusedScan.resolved_at.is_not(None))
    return query


def open_refused_scans(canteen: Canteen) -> list[RefusedScan]:
    return list(db.session.scalars(refused_scans_query(canteen, "open")))


def plan_retry(actor, refused: RefusedScan, scan: dict, slot: str | None = None) -> meals.ScanPlan:
    """Read what recording the refused scan again needs, as the scan endpoint reads it
    (meals.services.plan_scan): `scan` is the stored body as POST .../scans loads it, and
    `slot`, a person's choice, replaces the one it was queued with. A tablet offline for
    more than a day queued scans the service then refused as too old: the person vouches
    for the meal, so its age no longer refuses it. Other refusals raise as the scan's own;
    an already resolved scan is a 409 `scan_resolved`."""
    _ensure_open(refused)
    if slot is not None:
        scan = {**scan, "slot": slot}
    return meals.plan_scan(actor, counter_canteen(refused.canteen_id), scan, vouched=True)


def record_retry(refused: RefusedScan, plan: meals.ScanPlan) -> Meal:
    """Record the planned meal through the scan's one constructor and mark the refused
    scan retried with it, in the same transaction."""
    meal = meals.record_scan(plan)
    _resolve(refused, plan.actor, Resolution.RETRIED, meal_id=meal.id)
    return meal


def retry_refused_scan(actor, refused: RefusedScan, scan: dict, slot: str | None = None) -> Meal:
    """Record a refused scan after all, as the actor, with the slot chosen (see plan_retry)."""
    return record_retry(refused, plan_retry(actor, refused, scan, slot))


def dismiss_refused_scan(actor, refused: RefusedScan, reason: str) -> RefusedScan:
    """Close a refused scan without a meal: a person decided none is to be recorded (a test
    card, a meal recorded by hand meanwhile) and says why."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 200:
        raise ValidationFailed({"reason": ["Say in 1 to 200 characters why no meal is recorded."]})
    _ensure_open(refused)
    _resolve(refused, actor, Resolution.DISMISSED, resolution_reason=reason)
    return refused


def _ensure_open(refused: RefusedScan) -> None:
    if refused.resolved_at is not None:
        raise _already_resolved(refused)


def _resolve(refused: RefusedScan, actor, resolution: Resolution, **fields) -> None:
    """Once: a conditional UPDATE, so of two people resolving at once the first one's
    decision stands and the second is a 409 `scan_resolved` (the whole request, a meal
    it recorded included, then rolls back)."""
    resolved = db.session.execute(
        update(RefusedScan)
        .where(RefusedScan.id == refused.id, RefusedScan.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolved_by=actor.username, resolution=resolution, **fields)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(refused)
    if resolved.rowcount != 1:
        raise _already_resolved(refused)


def _already_resolved(refused: RefusedScan) -> Conflict:
    return Conflict(
        "scan_resolved",
        f"This refused scan was already {refused.resolution} by {refused.resolved_by}.",
        {
            "resolution": refused.resolution,
            "resolved_at": refused.resolved_at.isoformat(),
            "resolved_by": refused.resolved_by,
        },
    )


# The end-of-shift report


def shift_report(
    actor, canteen: Canteen, day: date, slot: str | None = None, cashier: str | None = None
) -> dict:
    """What a cashier (or the whole canteen) took in one slot or one day: meals, subsidies,
    money by how it was paid, top-ups and voids, so the till can be counted against it.

    A cashier sees only their own shift."""
    if actor.role == CASHIER:
        cashier = actor.username
    meals = _meal_figures(canteen, day, slot, cashier)
    by_hand = _by_hand_figures(canteen, day, slot, cashier)
    people = _people({name for name, _ in meals} | set(by_hand))
    # Only people serve at the counter: a delivered meal was handed over at the door, and a
    # name that is no account's is a system actor's (a delivery platform, the demo loader,
    # a scheduled job). Their figures make one row of their own, so the rows still add up.
    at_counter: dict[str, list[dict]] = {}
    elsewhere: dict[str, list[dict]] = {}
    for (name, counter), figures in meals.items():
        shelf = at_counter if counter and name in people else elsewhere
        shelf.setdefault(name, []).append(figures)
    for name, figures in by_hand.items():
        (at_counter if name in people else elsewhere).setdefault(name, []).append(figures)
    rows = [_cashier_row(name, at_counter[name]) for name in sorted(at_counter)]
    others = _cashier_row(None, [f for name in elsewhere for f in elsewhere[name]])
    total = {
        key: sum(row[key] for row in [*rows, others]) for key in MEAL_FIGURES + BY_HAND_FIGURES
    }
    return {
        "canteen_id": canteen.id,
        "canteen_name": canteen.name,
        "date": day,
        "slot": slot,
        "cashier": cashier,
        "meals": total["meals"],
        "conflicts": total["conflicts"],
        "price_fen": total["price_fen"],
        "delivery_fee_fen": total["delivery_fee_fen"],
        "subsidy_fen": total["subsidy_fen"],
        "delivery_subsidy_fen": total["delivery_subsidy_fen"],
        "elder_pays_fen": total["elder_pays_fen"],
        "taken": {
            "cash": total["cash_fen"],
            "e_payment": total["e_payment_fen"],
            "balance": total["balance_fen"],
        },
        "top_ups": {
            "count": total["top_up_count"],
            "cash": total["top_up_cash_fen"],
            "e_payment": total["top_up_e_payment_fen"],
        },
        # Deceased elders' balances paid out to their families: money out of the till.
        "payouts": {
            "count": total["payout_count"],
            "cash": total["payout_cash_fen"],
            "e_payment": total["payout_e_payment_fen"],
        },
        "voids": {"count": total["voids"], "elder_pays_fen": total["voided_fen"]},
        # What should be in the drawer and on the payment terminal's slip.
        "till": {
            "cash": total["cash_fen"] + total["top_up_cash_fen"] - total["payout_cash_fen"],
            "e_payment": total["e_payment_fen"]
            + total["top_up_e_payment_fen"]
            - total["payout_e_payment_fen"],
        },
        "cashiers": [_cashier_out(row) for row in rows],
        "not_at_counter": {**_cashier_out(others), "recorded_by": sorted(elsewhere)}
        if elsewhere
        else None,
    }


def _cashier_out(row: dict) -> dict:
    return {
        "cashier": row["cashier"],
        "meals": row["meals"],
        "subsidy_fen": row["subsidy_fen"],
        "cash_fen": row["cash_fen"],
        "e_payment_fen": row["e_payment_fen"],
        "balance_fen": row["balance_fen"],
        "top_ups_fen": row["top_up_cash_fen"] + row["top_up_e_payment_fen"],
        "voids": row["voids"],
    }


def _people(names: set[str]) -> set[str]:
    """Those of the names that are accounts' usernames: people and the counter's terminals."""
    if not names:
        return set()
    return set(db.session.scalars(select(User.username).where(User.username.in_(names))))


def _meal_figures(canteen: Canteen, day: date, slot: str | None, cashier: str | None) -> dict:
    live = Meal.voided_at.is_(None)

    def live_sum(column):
        return func.coalesce(func.sum(case((live, column), else_=0)), 0)

    def taken_by(method: PaymentMethod):
        return live_sum(case((Meal.payment_method == method, Meal.to_collect_fen), else_=0))

    # Written inline, not bound: PostgreSQL groups by an expression only if the select
    # list repeats it exactly, and two bound parameters are two expressions to it.
    at_counter = Meal.channel != literal_column("'delivery'")
    query = (
        select(
            Meal.recorded_by,
            at_counter.label("at_counter"),
            live_sum(1).label("meals"),
            live_sum(case((Meal.conflict.is_not(None), 1), else_=0)).label("conflicts"),
            live_sum(Meal.price_fen).label("price_fen"),
            live_sum(Meal.delivery_fee_fen).label("delivery_fee_fen"),
            live_sum(Meal.subsidy_fen).label("subsidy_fen"),
            live_sum(Meal.delivery_subsidy_fen).label("delivery_subsidy_fen"),
            live_sum(Meal.elder_pays_fen).label("elder_pays_fen"),
            taken_by(PaymentMethod.CASH).label("cash_fen"),
            taken_by(PaymentMethod.E_PAYMENT).label("e_payment_fen"),
            taken_by(PaymentMethod.BALANCE).label("balance_fen"),
            func.coalesce(func.sum(case((live, 0), else_=1)), 0).label("voids"),
            func.coalesce(func.sum(case((live, 0), else_=Meal.elder_pays_fen)), 0).label(
                "voided_fen"
            ),
        )
        .where(Meal.canteen_id == canteen.id, Meal.date == day)
        .group_by(Meal.recorded_by, at_counter)
    )
    if slot is not None:
        query = query.where(Meal.slot == slot)
    if cashier is not None:
        query = query.where(Meal.recorded_by == cashier)
    return {
        (row.recorded_by, bool(row.at_counter)): row._asdict() for row in db.session.execute(query)
    }


def _by_hand_figures(canteen: Canteen, day: date, slot: str | None, cashier: str | None) -> dict:
    """Top-ups and payouts of the local day; with a slot, those of its shift (see
    `shift_of`)."""
    district = canteen.district
    zone = ZoneInfo(district.effective_timezone)
    start = datetime.combine(day, time(), zone)
    query = select(BalanceMovement).where(
        BalanceMovement.canteen_id == canteen.id,
        BalanceMovement.kind.in_((MovementKind.TOP_UP, MovementKind.PAYOUT)),
        BalanceMovement.at >= start,
        BalanceMovement.at < start + timedelta(days=1),
    )
    if cashier is not None:
        query = query.where(BalanceMovement.recorded_by == cashier)
    figures: dict[str, dict] = {}
    for movement in db.session.scalars(query):
        local = district.local(movement.at).strftime("%H:%M")
        if slot is not None and shift_of(district.slot_windows, local) != slot:
            continue
        row = figures.setdefault(movement.recorded_by, dict.fromkeys(BY_HAND_FIGURES, 0))
        row[f"{movement.kind}_count"] += 1
        row[f"{movement.kind}_{movement.method}_fen"] += abs(movement.amount_fen)
    return figures


def shift_of(windows: dict[str, list[str]], local_hhmm: str) -> str | None:
    """The slot whose shift a moment belongs to: the counter opens before the meal window,
    so a top-up before a window counts to that window's shift, one after the day's last
    window to the last."""
    last = None
    for slot in Slot:
        window = windows.get(slot)
        if window:
            if local_hhmm <= window[1]:
                return slot.value
            last = slot.value
    return last


MEAL_FIGURES = ("meals", "conflicts", "price_fen", "delivery_fee_fen", "subsidy_fen",
                "delivery_subsidy_fen", "elder_pays_fen", "cash_fen", "e_payment_fen",
                "balance_fen", "voids", "voided_fen")  # fmt: skip
# Money paid in (top-ups) and out (payouts) by hand at the counter, per cashier.
BY_HAND_FIGURES = (
    "top_up_count",
    "top_up_cash_fen",
    "top_up_e_payment_fen",
    "payout_count",
    "payout_cash_fen",
    "payout_e_payment_fen",
)


def _cashier_row(name: str | None, parts: list[dict]) -> dict:
    """One row of the report: the figures of `parts` (of meals, of money by hand) added up."""
    keys = MEAL_FIGURES + BY_HAND_FIGURES
    return {"cashier": name, **{key: sum(int(part.get(key, 0)) for part in parts) for key in keys}}
