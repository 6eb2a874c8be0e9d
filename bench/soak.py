"""A lunch rush held for a while: the district's busiest mix of requests at once, against
floors measured in the same run.

    python bench/soak.py [--seconds 60] [--database-url URL]

Builds the synthetic district of bench/scan.py (elders with cards, canteens with today's
menus, a cashier each), adds what the other callers need, starts the service under
gunicorn with 2 workers, measures the two floors of bench/scan.py and then runs, all at
once for --seconds, closed loop:

  scan     cashiers at the canteens' counters scanning cards, each scan with its own
           Idempotency-Key as a terminal sends it; 201, or 409 `already_served`;
  order    relatives ordering tomorrow's and the day after's meals for their elders
           (dine-in or delivered), each with an Idempotency-Key; one in ten is sent twice,
           as a phone retrying, and must get the first answer back; 201, or 409
           `already_ordered`;
  webhook  the delivery platform reporting on today's dispatched orders, signed:
           accepted, picked up, then delivered (one in twenty: nobody answered the door);
           one report in ten is sent twice and must change nothing; 200;
  claims   a district official paging through the claims list, opening claims and
           their lines; 200.

Errors are every 5xx, every unexpected status or refusal code, every failed connection,
every replay whose answer differs from the first and every report applied when it should
not have been (or not when it should). At the end the database must hold one new meal for
every scan answered 201 and every delivery reported, and one new order for every order
answered 201; the exit status is 1 when there were errors or the counts differ.

The last line is one JSON object: {"ok", "errors", "checks", "seconds", "kinds": {kind:
{"requests", "per_s", "p50_ms", "p99_ms", "statuses"}}, "overall_per_s", "windows_per_s"
(answers a second in six stretches of the rush: a slowdown as the tables grow shows
there), "scans_201", "deliveries", "meals_added", "orders_201", "orders_added", "floors",
"ratios"}. The database at --database-url is emptied first; the default is a new SQLite
file in a temporary folder.
"""

import argparse
import itertools
import json
import math
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import scan  # also puts the repository on the path for what follows

from mealservice.core.clock import ENVIRONMENT_VARIABLE, utcnow
from mealservice.delivery.platforms.base import sign

KINDS = ("scan", "order", "webhook", "claims")
PLATFORM = "soak"
PLATFORM_SECRET = secrets.token_hex(16)
# Nothing is ever sent to it: no scheduler runs the outbox during the soak, the platform's
# reports are all that is measured.
PLATFORMS = json.dumps(
    {
        PLATFORM: {
            "adapter": "http",
            "base_url": "http://127.0.0.1:9",
            "api_key": secrets.token_hex(16),
            "webhook_secret": PLATFORM_SECRET,
        }
    }
)
# Password hashing is slow on purpose, so a dozen family accounts share the ordering elders.
FAMILY_ACCOUNTS = 12
REPLAY_SHARE = 0.1
NO_ANSWER_SHARE = 0.05
# Today's delivery orders the platform reports on: enough for this many orders a second.
DELIVERIES_PER_SECOND = 40
CLAIM_DAYS = 3
WINDOWS = 6


def main() -> int:
    options = parse_arguments()
    workdir = Path(tempfile.mkdtemp(prefix="mealservice-soak-"))
    database_url = options.database_url or f"sqlite:///{workdir / 'soak.sqlite'}"
    environment = {**scan.server_environment(database_url), "DELIVERY_PLATFORMS": PLATFORMS}
    if options.at:
        environment.update(
            {
                "MEALSERVICE_ENV": "testing",
                "TEST_DATABASE_URL": database_url,
                ENVIRONMENT_VARIABLE: options.at,
            }
        )
    os.environ.update(environment)

    started = time.perf_counter()
    rush = build_rush(database_url, options)
    print(
        f"setup: {options.elders} elders ({len(rush.scan_payloads)} scanned, "
        f"{len(rush.order_plan) // 4} ordering, {len(rush.deliveries)} deliveries out), "
        f"{options.canteens} canteens, {rush.claims} claims, "
        f"{database_url.split(':', 1)[0]} in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    server = scan.start_server(environment, options.port, options.threads, workdir)
    try:
        report = measure(options, rush, database_url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if report == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"the server's log is kept in {workdir / 'gunicorn.log'}")
    return report


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the rush lasts")
    parser.add_argument("--floor-seconds", type=float, default=5, help="each floor phase")
    parser.add_argument("--database-url", help="emptied first; default: a new SQLite file")
    parser.add_argument("--elders", type=int, default=6000)
    parser.add_argument("--canteens", type=int, default=30)
    parser.add_argument("--cashiers", type=int, default=10, help="scanning threads")
    parser.add_argument("--families", type=int, default=3, help="ordering threads")
    parser.add_argument("--platforms", type=int, default=2, help="webhook threads")
    parser.add_argument("--officials", type=int, default=1, help="claim-browsing threads")
    parser.add_argument("--port", type=int, default=5078)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument(
        "--at",
        help="an instant with its offset (2026-11-25T10:00:00+08:00) the service's clock"
        " starts from, under the testing configuration, since production refuses a moved"
        " clock: the suite's short soak runs at its test's instant, never the real date",
    )
    return parser.parse_args()


# --- the district's rush ---------------------------------------------------------------


@dataclass
class Rush:
    canteen_ids: list[int]
    cashier_tokens: dict[int, str]
    scan_payloads: list[str]
    # (family token, elder id, menu id, option id, channel), one per elder and menu
    order_plan: list[tuple]
    deliveries: list[int]  # today's dispatched order ids
    official_token: str
    claim_month: str
    claims: int
    meals_before: int
    orders_before: int


def build_rush(database_url: str, options) -> Rush:
    """bench/scan.py's district, and on top of it: delivery at every canteen, menus for the
    next two days, family accounts, today's delivery orders already handed to the
    platform, and a month two months back with meals and every canteen's claim."""
    from sqlalchemy import func, select

    from mealservice import create_app
    from mealservice.accounts.models import User
    from mealservice.accounts.services import create_user, issue_token
    from mealservice.claims.services import make_claim
    from mealservice.core.db import db
    from mealservice.core.errors import Conflict
    from mealservice.delivery.services import make_runs
    from mealservice.elders.models import Elder
    from mealservice.meals.models import Meal, Order
    from mealservice.meals.orders import place_order
    from mealservice.meals.services import scan as scan_meal
    from mealservice.menus.models import Menu
    from mealservice.menus.services import create_menu, slot_end
    from mealservice.places.models import Canteen

    district = scan.build_district(database_url, options.elders, options.canteens)
    app = create_app(DATABASE_URL=database_url, DELIVERY_PLATFORMS=PLATFORMS)
    rng = random.Random(2027)
    with app.app_context():
        elder_ids = list(db.session.scalars(select(Elder.id).order_by(Elder.id)))
        delivering = min(
            math.ceil(options.seconds * DELIVERIES_PER_SECOND / 3), len(elder_ids) // 5
        )
        ordering = len(elder_ids) // 6
        # Each elder is in one group only, so no kind's meals touch another's limits.
        delivery_elders = elder_ids[:delivering]
        ordering_elders = elder_ids[delivering : delivering + ordering]
        scanned = slice(delivering + ordering, None)
        payloads = district["payloads"][scanned]
        scanned_elders = elder_ids[scanned]

        canteens = [db.session.get(Canteen, canteen_id) for canteen_id in district["canteen_ids"]]
        cashiers = {
            user.canteen_id: user
            for user in db.session.scalars(select(User).where(User.role == "cashier"))
        }
        for canteen in canteens:
            canteen.functions = [*canteen.functions, "delivery"]
        db.session.flush()
        official = create_user(
            None,
            username="soak-official",
            password=scan.password(),
            role="official",
            district=canteens[0].district_code,
        )
        today = canteens[0].district.local_today()

        def menu(canteen, day, slot):
            return create_menu(
                canteen,
                {
                    "date": day,
                    "slot": slot,
                    "seats": scan.SEATS,
                    "order_cutoff": slot_end(canteen, day, slot) - timedelta(hours=2),
                    "options": [
                        {"name": "营养套餐", "price_fen": 1800, "delivery_fee_fen": 300},
                        {"name": "软食套餐", "price_fen": 1500, "delivery_fee_fen": 300},
                    ],
                },
            )

        # Tomorrow's and the day after's lunches and dinners, for the relatives to order.
        ahead = {
            canteen.id: [
                menu(canteen, today + timedelta(days=days), slot)
                for days in (1, 2)
                for slot in ("lunch", "dinner")
            ]
            for canteen in canteens
        }
        order_plan = []
        for n in range(FAMILY_ACCOUNTS):
            elders = ordering_elders[n::FAMILY_ACCOUNTS]
            family = create_user(
                None,
                username=f"soak-family-{n}",
                password=scan.password(),
                role="family",
                elder_ids=elders,
            )
            token = issue_token(family, timedelta(hours=2))[0]
            for elder_id in elders:
                for planned in ahead[canteens[elder_id % len(canteens)].id]:
                    option = rng.choice(planned.options)
                    channel = rng.choice(["dine_in", "delivery"])
                    order_plan.append((token, elder_id, planned.id, option.id, channel))
        rng.shuffle(order_plan)
        db.session.commit()

        # Today's deliveries, ordered early this morning.
        zone = ZoneInfo(canteens[0].district.effective_timezone)
        morning = datetime.combine(today, clock(0, 5), zone).astimezone(UTC)
        todays = {
            (m.canteen_id, m.slot): m
            for m in db.session.scalars(select(Menu).where(Menu.date == today))
        }
        for elder_id in delivery_elders:
            canteen = canteens[elder_id % len(canteens)]
            for slot in scan.SLOTS:
                todays_menu = todays[(canteen.id, slot)]
                place_order(
                    None,
                    {
                        "elder_id": elder_id,
                        "menu_id": todays_menu.id,
                        "option_id": todays_menu.options[0].id,
                        "channel": "delivery",
                    },
                    now=morning,
                )
        # Handed over once ordering has closed: a run is never made while families may
        # still order or cancel.
        for canteen in canteens:
            for slot in scan.SLOTS:
                closed = todays[(canteen.id, slot)].order_cutoff
                try:
                    make_runs(official, canteen, today, slot, PLATFORM, now=closed)
                except Conflict as refusal:  # none of the delivering elders eats here
                    if refusal.code != "no_orders":
                        raise
        deliveries = list(
            db.session.scalars(
                select(Order.id).where(Order.status == "dispatched").order_by(Order.id)
            )
        )
        rng.shuffle(deliveries)
        db.session.commit()

        # A month two months back with a few lunches a day at every canteen, and its claims.
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        first = (first - timedelta(days=1)).replace(day=1)
        claim_month = f"{first:%Y-%m}"
        for day in (first + timedelta(days=n) for n in range(CLAIM_DAYS)):
            for n, canteen in enumerate(canteens):
                menu(canteen, day, "lunch")
                at = datetime.combine(day, clock(11, 30), zone)
                for k in range(8):
                    elder_id = scanned_elders[(n * 8 + k) % len(scanned_elders)]
                    scan_meal(
                        cashiers[canteen.id],
                        canteen,
                        {"elder_id": elder_id, "slot": "lunch"},
                        now=(at + timedelta(minutes=k)).astimezone(UTC),
                    )
            db.session.commit()
        for canteen in canteens:
            make_claim(official, canteen, claim_month)
        official_token = issue_token(official, timedelta(hours=2))[0]
        db.session.commit()
        meals_before = db.session.scalar(select(func.count()).select_from(Meal))
        orders_before = db.session.scalar(select(func.count()).select_from(Order))
    return Rush(
        canteen_ids=district["canteen_ids"],
        cashier_tokens=district["tokens"],
        scan_payloads=payloads,
        order_plan=order_plan,
        deliveries=deliveries,
        official_token=official_token,
        claim_month=claim_month,
        claims=len(canteens),
        meals_before=meals_before,
        orders_before=orders_before,
    )


# --- the load --------------------------------------------------------------------------


@dataclass
class Tally:
    """What one kind of caller saw: latencies, statuses and refusal codes, problems."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    problems: Counter = field(default_factory=Counter)
    created: set = field(default_factory=set)  # meal ids of scans, order ids of orders
    delivered: int = 0


class Soak:
    def __init__(self, options, rush: Rush):
        self.options = options
        self.rush = rush
        self.tallies = {kind: Tally() for kind in KINDS}
        self.lock = threading.Lock()
        self.stop_at = 0.0
        self.scans = scan.ScanSource(
            {
                "payloads": rush.scan_payloads,
                "canteen_ids": rush.canteen_ids,
                "tokens": rush.cashier_tokens,
            }
        )
        self.orders = itertools.cycle(rush.order_plan)
        self.deliveries = iter(rush.deliveries)
        self.ran_out_at: float | None = None
        self.finished: list[float] = []  # when each answer came, for the windows

    def running(self) -> bool:
        return time.perf_counter() < self.stop_at

    def call(self, kind: str, client, method, path, body=None, token=None, headers=None):
        began = time.perf_counter()
        status, raw = client.request(method, path, body, token, headers)
        elapsed = time.perf_counter() - began
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {}
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
        with self.lock:
            self.finished.append(began + elapsed)
            tally = self.tallies[kind]
            tally.latencies.append(elapsed)
            tally.statuses[f"{status} {code}" if code else str(status)] += 1
        return status, answer, raw

    def problem(self, kind: str, what: str) -> None:
        with self.lock:
            self.tallies[kind].problems[what] += 1

    def expect(self, kind: str, status: int, answer: dict, wanted: dict[int, set]) -> bool:
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
        if status not in wanted or (wanted[status] and code not in wanted[status]):
            self.problem(kind, f"{status} {code}" if code else str(status))
            return False
        return True

    # Each caller runs in its own thread with its own keep-alive connection.

    def cashier(self) -> None:
        client = scan.Client(self.options.port)
        while self.running():
            path, body, token = self.scans.next()
            key = {"Idempotency-Key": uuid.uuid4().hex}
            status, answer, _ = self.call("scan", client, "POST", path, body, token, key)
            wanted = {201: set(), 409: {"already_served"}}
            if self.expect("scan", status, answer, wanted) and status == 201:
                with self.lock:
                    self.tallies["scan"].created.add(answer["meal_id"])

    def family(self, seed: int) -> None:
        client, rng = scan.Client(self.options.port), random.Random(seed)
        while self.running():
            with self.lock:
                token, elder_id, menu_id, option_id, channel = next(self.orders)
            body = {
                "elder_id": elder_id,
                "menu_id": menu_id,
                "option_id": option_id,
                "channel": channel,
            }
            key = {"Idempotency-Key": uuid.uuid4().hex}
            status, answer, raw = self.call(
                "order", client, "POST", "/api/v1/orders", body, token, key
            )
            if not self.expect("order", status, answer, {201: set(), 409: {"already_ordered"}}):
                continue
            if status == 201:
                with self.lock:
                    self.tallies["order"].created.add(answer["id"])
            if rng.random() < REPLAY_SHARE:
                again = self.call("order", client, "POST", "/api/v1/orders", body, token, key)
                if again[0] != status or again[2] != raw:
                    self.problem("order", "replay answered differently")

    def platform(self, seed: int) -> None:
        client, rng = scan.Client(self.options.port), random.Random(seed)
        path = f"/api/v1/delivery/webhooks/{PLATFORM}"
        while self.running():
            with self.lock:
                order_id = next(self.deliveries, None)
                if order_id is None and self.ran_out_at is None:
                    self.ran_out_at = time.perf_counter()
            if order_id is None:
                return
            last = "failed" if rng.random() < NO_ANSWER_SHARE else "delivered"
            for status in ("accepted", "picked_up", last):
                report = {
                    "event_id": uuid.uuid4().hex,
                    "order_id": order_id,
                    "status": status,
                    "at": utcnow().isoformat(),
                    **({"reason": "no_answer"} if status == "failed" else {}),
                }
                for first in (True, False) if rng.random() < REPLAY_SHARE else (True,):
                    raw = json.dumps(report).encode()
                    stamp = str(int(utcnow().timestamp()))
                    headers = {
                        "X-Timestamp": stamp,
                        "X-Signature": sign(PLATFORM_SECRET, stamp, raw),
                    }
                    answer = self.call("webhook", client, "POST", path, raw, None, headers)
                    if not self.expect("webhook", answer[0], answer[1], {200: set()}):
                        continue
                    if answer[1].get("applied") is not first:
                        self.problem("webhook", f"applied {answer[1].get('applied')}")
                    elif first and status == "delivered":
                        with self.lock:
                            self.tallies["webhook"].delivered += 1

    def official(self, seed: int) -> None:
        client, rng = scan.Client(self.options.port), random.Random(seed)
        token, page = self.rush.official_token, 1
        while self.running():
            query = f"month={self.rush.claim_month}&page={page}&per_page=10"
            status, answer, _ = self.call(
                "claims", client, "GET", f"/api/v1/claims?{query}", None, token
            )
            if not self.expect("claims", status, answer, {200: set()}) or not answer["items"]:
                page = 1
                continue
            page = page + 1 if answer.get("next") else 1
            claim = rng.choice(answer["items"])
            for path in (f"/api/v1/claims/{claim['id']}", f"/api/v1/claims/{claim['id']}/lines"):
                status, answer, _ = self.call("claims", client, "GET", path, None, token)
                self.expect("claims", status, answer, {200: set()})

    def run(self) -> float:
        options = self.options
        callers = (
            [threading.Thread(target=self.cashier) for _ in range(options.cashiers)]
            + [threading.Thread(target=self.family, args=(n,)) for n in range(options.families)]
            + [threading.Thread(target=self.platform, args=(n,)) for n in range(options.platforms)]
            + [threading.Thread(target=self.official, args=(n,)) for n in range(options.officials)]
        )
        began = self.began = time.perf_counter()
        self.stop_at = began + options.seconds
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join()
        if self.ran_out_at is not None:
            print(
                f"note: the platform ran out of orders after {self.ran_out_at - began:.1f} s",
                flush=True,
            )
        return time.perf_counter() - began

    def windows(self, count: int = WINDOWS) -> list[float]:
        """Answers a second in each of `count` equal stretches of the rush: a soak that
        slows down as its tables grow shows it here."""
        width = self.options.seconds / count
        per_window = Counter(min(int((t - self.began) / width), count - 1) for t in self.finished)
        return [round(per_window[n] / width, 1) for n in range(count)]


def percentile_ms(latencies: list[float], cut: int) -> float:
    if len(latencies) < 2:
        return latencies[0] * 1000 if latencies else 0.0
    return statistics.quantiles(latencies, n=100)[cut - 1] * 1000


def database_counts(database_url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from mealservice import create_app
    from mealservice.core.db import db
    from mealservice.meals.models import Meal, Order

    with create_app(DATABASE_URL=database_url).app_context():
        count = db.session.scalar
        return {
            "meals": count(select(func.count()).select_from(Meal)),
            "orders": count(select(func.count()).select_from(Order)),
            "delivered": count(
                select(func.count()).select_from(Order).where(Order.status == "delivered")
            ),
        }


def measure(options, rush: Rush, database_url: str) -> int:
    port = options.port
    noop_rate, _, noop_errors = scan.closed_loop(
        port, options.floor_seconds, lambda: ("/api/v1/_floors/noop", None, None), {204}
    )
    print(f"floor, no-op endpoint:       {noop_rate:8.0f} requests/s")
    insert_rate, _, insert_errors = scan.closed_loop(
        port, options.floor_seconds, lambda: ("/api/v1/_floors/insert", None, None), {201}
    )
    print(f"floor, one INSERT + COMMIT:  {insert_rate:8.0f} requests/s")

    soak = Soak(options, rush)
    elapsed = soak.run()
    callers = options.cashiers + options.families + options.platforms + options.officials
    print(
        f"rush, {elapsed:.0f} s, {callers} callers ({options.cashiers} cashiers, "
        f"{options.families} families, {options.platforms} platform, "
        f"{options.officials} official):"
    )
    print(f"  {'kind':<8} {'requests':>8} {'per s':>8} {'p50 ms':>7} {'p99 ms':>7}  answers")
    kinds, total = {}, 0
    for kind, tally in soak.tallies.items():
        count = len(tally.latencies)
        total += count
        kinds[kind] = {
            "requests": count,
            "per_s": round(count / elapsed, 1),
            "p50_ms": round(percentile_ms(tally.latencies, 50), 1),
            "p99_ms": round(percentile_ms(tally.latencies, 99), 1),
            "statuses": dict(sorted(tally.statuses.items())),
        }
        answers = ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses.items()))
        print(
            f"  {kind:<8} {count:8d} {count / elapsed:8.1f} {kinds[kind]['p50_ms']:7.1f} "
            f"{kinds[kind]['p99_ms']:7.1f}  {answers}"
        )
    overall = total / elapsed
    writes = sum(kinds[kind]["requests"] for kind in ("scan", "order", "webhook")) / elapsed
    print(f"  {'overall':<8} {total:8d} {overall:8.1f}")
    windows = soak.windows()
    print(f"answers a second over the rush, in {WINDOWS} stretches: {windows}")

    errors = noop_errors + insert_errors
    for kind, tally in soak.tallies.items():
        for what, n in tally.problems.items():
            print(f"ERROR: {kind}: {what} x {n}")
            errors += n

    scans_201 = soak.tallies["scan"].statuses["201"]
    deliveries = soak.tallies["webhook"].delivered
    orders_201 = len(soak.tallies["order"].created)
    counts = database_counts(database_url)
    meals_added = counts["meals"] - rush.meals_before
    orders_added = counts["orders"] - rush.orders_before
    print(
        f"meals recorded: {meals_added} for {scans_201} scans answered 201 and {deliveries} "
        f"deliveries; orders recorded: {orders_added} for {orders_201} orders answered 201"
    )
    checks = []
    if len(soak.tallies["scan"].created) != scans_201:
        checks.append(
            f"{scans_201} scans answered 201 with {len(soak.tallies['scan'].created)} meal ids"
        )
    if meals_added != scans_201 + deliveries:
        checks.append(f"{meals_added} meals recorded for {scans_201 + deliveries} served")
    if orders_added != orders_201:
        checks.append(f"{orders_added} orders recorded for {orders_201} answered 201")
    if counts["delivered"] != deliveries:
        checks.append(f"{counts['delivered']} orders delivered for {deliveries} reported")
    for problem in checks:
        print(f"FAILED: {problem}")

    ratios = {
        "overall_to_noop_floor": round(overall / noop_rate, 3),
        "writes_to_insert_floor": round(writes / insert_rate, 3),
        "scans_to_insert_floor": round(kinds["scan"]["per_s"] / insert_rate, 3),
    }
    print(
        f"ratio_to_noop_floor={ratios['overall_to_noop_floor']:.2f} "
        f"writes_ratio_to_insert_floor={ratios['writes_to_insert_floor']:.2f} "
        f"scan_p99_ms={kinds['scan']['p99_ms']:.1f} errors={errors}"
    )
    summary = {
        "ok": not errors and not checks,
        "errors": errors,
        "checks": checks,
        "seconds": round(elapsed, 1),
        "kinds": kinds,
        "overall_per_s": round(overall, 1),
        "windows_per_s": windows,
        "scans_201": scans_201,
        "deliveries": deliveries,
        "meals_added": meals_added,
        "orders_201": orders_201,
        "orders_added": orders_added,
        "floors": {"noop_per_s": round(noop_rate, 1), "insert_per_s": round(insert_rate, 1)},
        "ratios": ratios,
    }
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
