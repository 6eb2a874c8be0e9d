"""The synthetic month bench/claims.py makes claims for: a district's October 2026.

Every elder eats lunch at their own canteen every day (one in twenty has it delivered, with
its delivered order), priced as the policy would. A few hundred anomalies are planted,
spread over the canteens by their number, so each of the eight checks has something to
find; the rest of the month is clean. Rows go in by the driver's bulk paths (executemany
on SQLite, COPY on PostgreSQL), generated batch by batch so memory stays flat, with the
audit triggers off for the load only."""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

FIRST = date(2026, 10, 1)
DAYS = 31
LAST = FIRST + timedelta(days=DAYS - 1)
MONTH = "2026-10"
HOLIDAY = (date(2026, 10, 1), "国庆节")
DISTRICT = "990001"
COMMUNITIES = 25
BATCH = 20_000
# 11:00 local (Asia/Shanghai) is 03:00 UTC; lunches spread over the next 90 minutes.
LUNCH_UTC = timedelta(hours=3)
SPREAD_MIN = 90

# name, amount, channel, age, categories: the demo policy's tiers.
TIERS = [
    ("困难老人", 1500, "any", 68, ["minimum_allowance"]),
    ("80岁以上", 800, "any", 84, []),
    ("70岁以上", 500, "any", 74, []),
    ("60岁以上", 200, "dine_in", 65, []),
]
OPTIONS = [("营养套餐", 1800), ("软食套餐", 1500)]
DELIVERY_FEE = 300
DELIVERY_SUBSIDY = 300

# Which elder of a canteen (k: its rank among the canteen's elders) carries which plant,
# and on which canteens (by number) it is planted.
HOLIDAY_K, CARD_K, INACTIVE_K, CONFLICT_K, DUPLICATE_K, TWO_PLACES_K, VOIDED_K = range(7)
DELIVERY_K = 7  # the first delivered elder of every canteen (k % 20 == 7)
REPLACED_EVERY = 50  # k % 50 == 11: a card lost and replaced in September, used properly
PLANTS = {
    "holiday_subsidy": lambda c: c % 5 == 1,  # a subsidy on the holiday
    "delivery_unconfirmed": lambda c: c % 5 == 2,  # an order still 'dispatched'
    "card_revoked": lambda c: c % 10 == 3,  # a card revoked on the 20th, still scanned
    "card_superseded": lambda c: c % 10 == 8,  # a new card from the 15th, the old one scanned
    "elder_inactive": lambda c: c % 10 == 4,  # deceased since the 25th, meals go on
    "offline_conflict": lambda c: c % 5 == 0,  # an offline scan the counter could not judge
    "duplicate_in_slot": lambda c: c % 5 == 3,  # a second lunch 20 minutes later
    "two_places": lambda c: c % 5 == 4,  # a meal at the next canteen 45 minutes earlier
    "over_capacity": lambda c: c % 10 == 6,  # the 8th's menu now has 3 seats too few
}
HOLIDAY_SUBSIDY_DAY, UNCONFIRMED_DAY, CONFLICT_DAY, DUPLICATE_DAY, TWO_PLACES_DAY = 0, 9, 4, 11, 14
OVER_CAPACITY_DAY, VOIDED_DAY = 7, 2
REVOKED_AT = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)
SUPERSEDED_AT = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
DECEASED_ON = date(2026, 10, 25)


def ts(moment: datetime) -> str:
    """A UTC moment as SQLAlchemy stores a naive DateTime on SQLite (PostgreSQL reads it too)."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}.{moment.microsecond:06d}"


@dataclass
class Plan:
    meals: int
    canteens: int

    def __post_init__(self):
        c = self.canteens
        self.extras = sum(
            1 for n in range(c) if PLANTS["duplicate_in_slot"](n) or PLANTS["two_places"](n)
        )
        self.base = self.meals - self.extras
        self.elders = math.ceil(self.base / DAYS)
        if self.elders // c < 2 * DELIVERY_K + 2 or c < 10:
            raise SystemExit(
                f"--meals {self.meals} is too few for {c} canteens (at least 10 canteens"
                f" and {(2 * DELIVERY_K + 2) * DAYS * c:,} meals)"
            )

    def menu_id(self, canteen: int, day: int) -> int:
        return canteen * DAYS + day + 1

    def elder(self, canteen: int, k: int) -> int:
        """The 0-based number of a canteen's k-th elder."""
        return k * self.canteens + canteen


def card_ids(elder: int) -> tuple[str, str]:
    return f"{elder + 1:016x}", f"2{elder + 1:015x}"


# --- the fixed rows ---------------------------------------------------------------------


def canteen_rows(plan: Plan, community_ids: list[int], now: str):
    seats = 2 * (plan.elders // plan.canteens + 1) + 50
    for c in range(plan.canteens):
        yield (
            c + 1, f"基准老年食堂{c}", "canteen", DISTRICT, community_ids[c % len(community_ids)],
            seats, 400.0, '["cooking", "dine_in", "delivery"]', "public_private",
            f"基准路{c}号", None, None, 30.25 + c / 5000, 120.12 + c / 5000, 500_000, now,
            # Filed with civil affairs, as a place must be to claim.
            "filed", f"基准备{c:03d}号", "2026-01-05",
        )  # fmt: skip


CANTEEN_COLUMNS = (
    "id, name, kind, district_code, community_id, seats_per_meal, dining_area_m2, functions,"
    " operator_type, address, phone, opening_hours, lat, lng, monthly_operating_subsidy_fen,"
    " created_at, filing_status, filing_number, filed_on"
)


def profile(plan: Plan, e: int) -> dict:
    k = e // plan.canteens
    delivered = k % 20 == DELIVERY_K
    tier = 0 if delivered else k % len(TIERS)
    return {"k": k, "canteen": e % plan.canteens, "delivered": delivered, "tier": tier}


def elder_rows(plan: Plan, community_ids: list[int], now: str):
    for e in range(plan.elders):
        p = profile(plan, e)
        _, _, _, age, categories = TIERS[p["tier"]]
        deceased = PLANTS["elder_inactive"](p["canteen"]) and p["k"] == INACTIVE_K
        birth = date(2026 - age, 1 + e % 12, 1 + e % 28)
        yield (
            e + 1, f"基准老人{e}", f"enc:{e:012d}", f"{e:064x}", f"**************{e % 10000:04d}",
            birth.isoformat(), f"139{e:08d}", f"{e % 10000:04d}", f"基准路{e % 97}号",
            community_ids[p["canteen"] % len(community_ids)], DISTRICT, None, None,
            str(categories).replace("'", '"'), "intact", None,
            "deceased" if deceased else "active", DECEASED_ON.isoformat() if deceased else None,
            now, "bench", now, "[]", "[]",
        )  # fmt: skip


ELDER_COLUMNS = (
    "id, name, id_number_encrypted, id_number_hash, id_number_masked, birth_date, phone,"
    " phone_last4, address, community_id, hukou_district, lat, lng, categories,"
    " ability_level, diet_notes, status, status_since, consent_given_at, consent_recorded_by,"
    " created_at, allergies, diet_needs"
)


def card_rows(plan: Plan):
    first_issued = ts(datetime(2026, 3, 1, tzinfo=UTC))
    for e in range(plan.elders):
        p = profile(plan, e)
        first, second = card_ids(e)
        replaced = p["k"] % REPLACED_EVERY == 11
        revoked = PLANTS["card_revoked"](p["canteen"]) and p["k"] == CARD_K
        superseded = PLANTS["card_superseded"](p["canteen"]) and p["k"] == CARD_K
        revoked_at = (
            ts(datetime(2026, 9, 10, 2, tzinfo=UTC)) if replaced
            else ts(REVOKED_AT) if revoked else None
        )  # fmt: skip
        reason = "lost" if revoked_at else None
        yield (first, e + 1, 1, 1, "2031-03-01", first_issued, "bench", revoked_at, reason)
        if replaced or superseded:
            issued = datetime(2026, 9, 10, 2, tzinfo=UTC) if replaced else SUPERSEDED_AT
            yield (second, e + 1, 2, 1, "2031-09-10", ts(issued), "bench", None, None)


CARD_COLUMNS = (
    "id, elder_id, generation, key_id, expires_on, issued_at, issued_by, revoked_at, revoke_reason"
)


def menu_rows(plan: Plan, now: str):
    seats = 2 * (plan.elders // plan.canteens + 1) + 50
    for c in range(plan.canteens):
        for d in range(DAYS):
            day = FIRST + timedelta(days=d)
            cutoff = ts(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1))
            yield (
                plan.menu_id(c, d), c + 1, day.isoformat(), "lunch", seats, 0, cutoff,
                None, 0, "published", cutoff, now,
            )  # fmt: skip


MENU_COLUMNS = (
    "id, canteen_id, date, slot, seats, seats_used, order_cutoff, delivery_capacity,"
    " delivery_used, status, ordering_closed_at, created_at"
)


def option_rows(plan: Plan):
    for menu in range(1, plan.canteens * DAYS + 1):
        for position, (name, price) in enumerate(OPTIONS):
            yield (2 * menu - 1 + position, menu, position, name, price, DELIVERY_FEE, "[]", "[]")


OPTION_COLUMNS = "id, menu_id, position, name, price_fen, delivery_fee_fen, dishes, tags"


# --- the meals and their orders ----------------------------------------------------------

MEAL_COLUMNS = (
    "canteen_id, elder_id, menu_id, option_id, card_id, date, slot, channel, source,"
    " served_at, recorded_at, recorded_by, offline, policy_version, tier, reason, price_fen,"
    " delivery_fee_fen, subsidy_fen, delivery_subsidy_fen, elder_pays_fen, to_collect_fen,"
    " payment_method, payment_reference, conflict, holds_seat, holds_slot, holds_subsidy,"
    " order_id, voided_at, voided_by, void_reason"
)
ORDER_COLUMNS = (
    "id, elder_id, canteen_id, menu_id, option_id, date, slot, channel, status, address,"
    " policy_version, tier, reason, price_fen, delivery_fee_fen, subsidy_fen,"
    " delivery_subsidy_fen, elder_pays_fen, payment_method, paid_fen, holds_seat,"
    " holds_delivery, holds_slot, holds_subsidy, standing_order_id, run_id, delivery_stage,"
    " delivery_code, delivered_at, failure_reason, proof, placed_by, placed_at,"
    " status_changed_at, cancelled_by"
)


def meal_batches(plan: Plan, policy_id: int) -> Iterator[tuple[list, list]]:
    """(orders, meals) in batches of about BATCH meals, day by day: exactly plan.meals."""
    c_count = plan.canteens
    # What never changes from day to day, per elder: a few hundred bytes each.
    static = []
    for e in range(plan.elders):
        p = profile(plan, e)
        c, k = p["canteen"], p["k"]
        option = k % len(OPTIONS)
        first, second = card_ids(e)
        if p["delivered"]:
            card, source = None, "order"
        elif k % 10 == 9:
            card, source = None, "lookup"
        else:
            card = second if k % REPLACED_EVERY == 11 else first
            source = "card"
        static.append(
            (c, e + 1, option, card, source, p["delivered"], p["tier"], e * 7 % SPREAD_MIN)
        )

    orders, meals = [], []
    order_id = 0
    emitted = 0
    for d in range(DAYS):
        day = FIRST + timedelta(days=d)
        day_iso = day.isoformat()
        noon = datetime.combine(day, datetime.min.time(), UTC) + LUNCH_UTC
        served = [ts(noon + timedelta(minutes=m)) for m in range(SPREAD_MIN)]
        holiday = day == HOLIDAY[0]
        for c, elder_id, option, card, source, delivered, tier, minute in static:
            if emitted == plan.base:
                break
            emitted += 1
            k = (elder_id - 1) // c_count
            menu = plan.menu_id(c, d)
            price = OPTIONS[option][1]
            tier_name, amount, channel_rule, _, _ = TIERS[tier]
            channel = "delivery" if delivered else "dine_in"
            fee = DELIVERY_FEE if delivered else 0
            planted_holiday = holiday and k == HOLIDAY_K and PLANTS["holiday_subsidy"](c)
            if holiday and not planted_holiday:
                subsidy, dsub, tier_name, reason = 0, 0, None, "holiday"
            else:
                subsidy = min(amount, price) if channel_rule in ("any", channel) else 0
                dsub = DELIVERY_SUBSIDY if delivered else 0
                reason = "tier"
            conflict = None
            if d == CONFLICT_DAY and k == CONFLICT_K and PLANTS["offline_conflict"](c):
                conflict, subsidy, dsub, tier_name, reason = (
                    "insufficient_balance",
                    0,
                    0,
                    None,
                    "tier",
                )
            pays = price + fee - subsidy - dsub
            at = served[minute]
            this_order = None
            if delivered:
                order_id += 1
                this_order = order_id
                unconfirmed = (
                    d == UNCONFIRMED_DAY and k == DELIVERY_K and PLANTS["delivery_unconfirmed"](c)
                )
                orders.append(
                    (
                        order_id, elder_id, c + 1, menu, 2 * menu - 1 + option, day_iso, "lunch",
                        "delivery", "dispatched" if unconfirmed else "delivered",
                        f"基准路{elder_id % 97}号", policy_id, tier_name, reason, price, fee,
                        subsidy, dsub, pays, "on_delivery", 0, False, False, False, False,
                        None, None, None, None, None if unconfirmed else at, None, None,
                        "bench", at, at, None,
                    )
                )  # fmt: skip
            voided = d == VOIDED_DAY and k == VOIDED_K
            meals.append(
                (
                    c + 1, elder_id, menu, 2 * menu - 1 + option, card, day_iso, "lunch",
                    channel, source, at, at, "bench", conflict is not None, policy_id,
                    tier_name, reason, price, fee, subsidy, dsub, pays, pays, "cash", None,
                    conflict, not delivered, True, subsidy > 0, this_order,
                    at if voided else None, "bench" if voided else None,
                    "scanned by mistake" if voided else None,
                )
            )  # fmt: skip
            if k == DUPLICATE_K and d == DUPLICATE_DAY and PLANTS["duplicate_in_slot"](c):
                again = ts(noon + timedelta(minutes=minute + 20))
                meals.append(
                    (
                        c + 1, elder_id, menu, 2 * menu - 1 + option, card, day_iso, "lunch",
                        "dine_in", source, again, again, "bench", False, policy_id, None,
                        "slot_limit", price, 0, 0, 0, price, price, "cash", None, None,
                        True, False, False, None, None, None, None,
                    )
                )  # fmt: skip
            if k == TWO_PLACES_K and d == TWO_PLACES_DAY and PLANTS["two_places"](c):
                other = (c + 1) % c_count
                earlier = ts(noon + timedelta(minutes=minute - 45))
                meals.append(
                    (
                        other + 1, elder_id, None, None, card, day_iso, "breakfast", "dine_in",
                        source, earlier, earlier, "bench", False, policy_id, None, "no_tier",
                        800, 0, 0, 0, 800, 800, "cash", None, None, False, True, False, None,
                        None, None, None,
                    )
                )  # fmt: skip
            if len(meals) >= BATCH:
                yield orders, meals
                orders, meals = [], []
    if meals:
        yield orders, meals


def over_capacity_menus(plan: Plan) -> list[int]:
    return [
        plan.menu_id(c, OVER_CAPACITY_DAY)
        for c in range(plan.canteens)
        if PLANTS["over_capacity"](c)
    ]


# --- writing -----------------------------------------------------------------------------


class Writer:
    """Bulk rows into a table through the driver: executemany on SQLite, COPY on PostgreSQL,
    inside the caller's transaction."""

    def __init__(self, connection):
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"

    def write(self, table: str, columns: str, rows) -> int:
        count = 0
        if self.postgresql:
            cursor = self.connection.connection.driver_connection.cursor()
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        marks = ", ".join("?" for _ in columns.split(","))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self.connection.exec_driver_sql(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            self.connection.exec_driver_sql(sql, batch)
            count += len(batch)
        return count
