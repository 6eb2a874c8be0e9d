"""How fast a month's claims are made, against a floor measured in the same run.

    python bench/claims.py [--meals 3000000] [--canteens 300] [--database-url URL] [--explain]
                           [--profile]

Builds a synthetic district's October 2026 (bench/claims_data.py): --canteens canteens,
elders eating lunch at their own canteen every day (one in twenty delivered, with its
order), --meals meals in all, and a few hundred anomalies planted for each of the eight
checks, spread over the canteens. Then, in one run on the same data:

  floor    one raw SQL aggregate over the month, SUM ... GROUP BY canteen: run once to
           warm the cache before the claims, three times after; the best counts;
  claims   the scheduler's make_due_claims a week into November: every canteen's claim
           with every check (the two passes and the look-ups of claims.anomalies), stored
           and committed with the audit triggers on, as in production (in a process
           whose heap is settled as the scheduler's, core.scheduler.settle_heap); timed
           once.

It prints the anomalies the claims found by code; all eight must be found and the claims'
meals must add up to the month's, else the exit status is 1. The last line is
`ratio_to_aggregate_floor=<x> peak_mib=<y>`: claims time over floor time, and the peak of
Python memory (tracemalloc) while the same checks run once more, untimed. With --explain,
the totals and each pass of the checks are then timed alone, and their queries' plans
printed. With --profile, the timed run is also profiled (cProfile, which slows it, so the
ratio of such a run is not the figure) and the 25 costliest calls by cumulative time and
the statements by kind are printed.

The database at --database-url is emptied first (on PostgreSQL its public schema is
dropped); the default is a new SQLite file in a temporary folder.
"""

import argparse
import os
import resource
import secrets
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import claims_data as data  # noqa: E402

# A week into the next month, past its grace period: noon in Shanghai.
NOW = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
FLOOR_SQL = (
    "SELECT canteen_id, SUM(subsidy_fen), SUM(delivery_subsidy_fen), COUNT(*) FROM meals"
    " WHERE date BETWEEN :first AND :last GROUP BY canteen_id"
)
CODES = (
    "duplicate_in_slot",
    "two_places",
    "over_capacity",
    "holiday_subsidy",
    "delivery_unconfirmed",
    "card_not_valid",
    "elder_inactive",
    "offline_conflict",
)


def main() -> int:
    options = parse_arguments()
    workdir = Path(tempfile.mkdtemp(prefix="mealservice-bench-"))
    database_url = options.database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    os.environ.update(
        {
            "MEALSERVICE_ENV": "production",
            "DATABASE_URL": database_url,
            **{name: secrets.token_hex(32) for name in secret_names()},
        }
    )
    plan = data.Plan(options.meals, options.canteens)

    from mealservice import create_app

    empty_database(database_url)
    app = create_app(DATABASE_URL=database_url)
    try:
        with app.app_context():
            started = time.perf_counter()
            generation = build_month(plan)
            print(
                f"setup: {plan.meals:,} meals of {plan.elders:,} elders at {plan.canteens}"
                f" canteens in {data.MONTH}, {database_url.split(':', 1)[0]}: generated and"
                f" loaded in {generation:.1f} s, {time.perf_counter() - started:.1f} s with"
                " schema and ANALYZE",
                flush=True,
            )
            # The process is now as the scheduler's is when it starts: app made, its heap
            # settled out of the garbage collector's sight before the first job runs.
            from mealservice.core.scheduler import settle_heap

            settle_heap()
            return measure(plan, options.explain, options.profile)
    finally:
        # A month of meals is about 300 bytes each on disk: the default file does not stay.
        shutil.rmtree(workdir, ignore_errors=True)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meals", type=int, default=3_000_000)
    parser.add_argument("--canteens", type=int, default=300)
    parser.add_argument("--database-url", help="emptied first; default: a new SQLite file")
    parser.add_argument(
        "--explain", action="store_true", help="then time each pass alone and show its plan"
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the claims run (cProfile, statements)"
    )
    return parser.parse_args()


def secret_names():
    from config import SECRET_NAMES

    return SECRET_NAMES


# --- the database ----------------------------------------------------------------------


def empty_database(database_url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from config import normalise_database_url

    url = make_url(normalise_database_url(database_url))
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(url.database + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def build_month(plan: data.Plan) -> float:
    """The schema, the district, and the month's rows; the seconds the bulk load took."""
    import flask_migrate
    from sqlalchemy import select

    from mealservice.core import audit
    from mealservice.core.db import db
    from mealservice.demo import POLICY
    from mealservice.places.models import Community
    from mealservice.places.services import create_community, create_district
    from mealservice.policy.services import create_policy, set_holiday

    flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    district = create_district({"code": data.DISTRICT, "name": "基准测试区"})
    for n in range(data.COMMUNITIES):
        create_community(
            district,
            {
                "code": f"{data.DISTRICT}C{n:03d}",
                "name": f"基准社区{n}",
                "street": f"基准街道{n % 5}",
                "location": {"lat": 30.25 + n / 1000, "lng": 120.12 + n / 1000},
            },
        )
    # The demo district's tiers, one meal a slot, no subsidy on holidays.
    policy = create_policy("bench", district, {**POLICY, "max_meals_per_slot": 1})
    set_holiday(*data.HOLIDAY)
    community_ids = db.session.scalars(select(Community.id).order_by(Community.id)).all()
    policy_id = policy.id
    db.session.commit()

    started = time.perf_counter()
    now = data.ts(datetime(2026, 9, 1, tzinfo=UTC))
    engine = db.engine
    with engine.begin() as connection, audit.protection_lifted(connection, audit=False):
        writer = data.Writer(connection)
        writer.write("canteens", data.CANTEEN_COLUMNS, data.canteen_rows(plan, community_ids, now))
        writer.write("elders", data.ELDER_COLUMNS, data.elder_rows(plan, community_ids, now))
        writer.write("cards", data.CARD_COLUMNS, data.card_rows(plan))
        writer.write("menus", data.MENU_COLUMNS, data.menu_rows(plan, now))
        writer.write("menu_options", data.OPTION_COLUMNS, data.option_rows(plan))
        meals = 0
        for orders, batch in data.meal_batches(plan, policy_id):
            if orders:
                writer.write("orders", data.ORDER_COLUMNS, orders)
            meals += writer.write("meals", data.MEAL_COLUMNS, batch)
        if meals != plan.meals:
            raise SystemExit(f"generated {meals} meals, not {plan.meals}")
        # Today's facts: some menus' seats were corrected down after the month.
        menus = ", ".join(str(menu) for menu in data.over_capacity_menus(plan))
        connection.exec_driver_sql(
            "UPDATE menus SET seats = (SELECT count(*) FROM meals WHERE meals.menu_id = menus.id"
            " AND meals.channel = 'dine_in' AND meals.voided_at IS NULL) - 3"
            f" WHERE id IN ({menus})"
        )
        if connection.dialect.name == "postgresql":
            for table in ("canteens", "elders", "menus", "menu_options", "orders"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
    loaded = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        # Autovacuum would long have been by a month-old table: visibility map and statistics.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        # Outside any transaction: the whole load moves from the write-ahead log to the file.
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    return loaded


# --- the measurement -------------------------------------------------------------------


def floor_seconds() -> float:
    from sqlalchemy import Date, bindparam, text

    from mealservice.core.db import db

    query = text(FLOOR_SQL).bindparams(
        bindparam("first", type_=Date), bindparam("last", type_=Date)
    )
    with db.engine.connect() as connection:
        started = time.perf_counter()
        rows = connection.execute(query, {"first": data.FIRST, "last": data.LAST}).all()
        elapsed = time.perf_counter() - started
    assert len(rows) > 0
    return elapsed


def measure(plan: data.Plan, explain: bool, profile: bool = False) -> int:
    from sqlalchemy import func, select

    from mealservice.claims.anomalies import check_month
    from mealservice.claims.models import Claim, ClaimAnomaly
    from mealservice.claims.services import make_due_claims
    from mealservice.core import audit
    from mealservice.core.db import db
    from mealservice.meals.models import Meal

    floor_seconds()  # warms the cache for what follows
    db.session.close()

    profiler, statements = profiled(db.engine) if profile else (None, None)
    started = time.perf_counter()
    with audit.acting("bench"):
        made = make_due_claims(now=NOW)
        db.session.commit()
    claims_time = time.perf_counter() - started
    if profiler is not None:
        report_profile(profiler, statements, db.engine)
    db.session.close()
    # Memory apart from time (tracing every allocation slows Python down several times):
    # the same checks and totals once more, traced; writing 300 claims adds nothing that
    # grows with the meals.
    tracemalloc.start()
    check_month(data.FIRST, data.LAST, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.close()

    floor = min(floor_seconds() for _ in range(3))

    found = dict(
        db.session.execute(
            select(ClaimAnomaly.code, func.count()).group_by(ClaimAnomaly.code)
        ).all()
    )
    claimed = db.session.scalar(select(func.sum(Claim.meals))) or 0
    kept = db.session.scalar(select(func.count()).select_from(Meal).where(Meal.voided_at.is_(None)))
    db.session.close()

    problems = []
    if made != plan.canteens:
        problems.append(f"{made} claims made for {plan.canteens} canteens")
    if claimed != kept:
        problems.append(f"the claims count {claimed:,} meals, the month has {kept:,}")
    problems += [f"no {code} anomaly found" for code in CODES if not found.get(code)]

    if explain:
        explain_passes()

    max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ratio = claims_time / floor
    print(f"floor: SUM ... GROUP BY canteen over {plan.meals:,} meals, best of 3: {floor:.3f} s")
    print(f"claims: {made} claims with every check, committed: {claims_time:.3f} s")
    print("anomalies: " + " ".join(f"{code}={found.get(code, 0)}" for code in CODES))
    print(f"process max RSS (whole run, load included): {max_rss_mib:.0f} MiB")
    for problem in problems:
        print(f"FAILED: {problem}")
    print(f"ratio_to_aggregate_floor={ratio:.2f} peak_mib={peak / 2**20:.1f}")
    return 1 if problems else 0


def profiled(engine):
    """A running profiler and a tally of the statements the engine runs meanwhile."""
    import cProfile
    from collections import Counter

    from sqlalchemy import event

    statements = Counter()

    def count(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements[statement.lstrip().split(None, 1)[0].upper()] += 1

    event.listen(engine, "before_cursor_execute", count)
    profiler = cProfile.Profile()
    profiler.enable()
    return profiler, (statements, count)


def report_profile(profiler, statements, engine) -> None:
    import pstats

    from sqlalchemy import event

    profiler.disable()
    tally, listener = statements
    event.remove(engine, "before_cursor_execute", listener)
    print("statements: " + " ".join(f"{kind}={n}" for kind, n in tally.most_common()))
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def explain_passes() -> None:
    """The totals and each pass of the checks alone, timed, then their queries' plans."""
    from sqlalchemy import event

    from mealservice.claims import anomalies
    from mealservice.core.db import db

    first, last = data.FIRST, data.LAST
    passes = {
        "menus (totals, over_capacity)": lambda *a: anomalies._menu_pass(*a)[1],
        "crowded days (duplicate_in_slot, two_places)": anomalies._crowded_days,
        "conflicts": anomalies._conflicts,
        "undelivered": anomalies._undelivered,
        "invalid cards": anomalies._invalid_cards,
        "inactive elders": anomalies._inactive_elders,
        "holiday subsidies": anomalies._holiday_subsidies,
    }
    captured: list = []

    def capture(_conn, _cursor, statement, parameters, _context, executemany):
        # The SETs too: the passes set the planner's memory and grouping per transaction.
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "SET")):
            captured.append((statement, parameters))

    plans = {}
    for name, run in passes.items():
        db.session.close()
        captured.clear()
        event.listen(db.engine, "before_cursor_execute", capture)
        started = time.perf_counter()
        # As the scheduler runs them for every canteen: no canteen list.
        result = run(first, last, None)
        elapsed = time.perf_counter() - started
        event.remove(db.engine, "before_cursor_execute", capture)
        print(f"pass {name}: {elapsed:.3f} s, {len(result)} rows or anomalies", flush=True)
        plans[name] = list(captured)
    db.session.close()

    postgresql = db.engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS)" if postgresql else "EXPLAIN QUERY PLAN"
    with db.engine.connect() as connection:
        for name, statements in plans.items():
            for statement, parameters in statements:
                if statement.lstrip().upper().startswith("SET"):
                    connection.exec_driver_sql(statement, parameters)
                    continue
                if "FROM meals" not in statement:
                    continue
                print(f"--- {name}: {' '.join(statement.split())[:160]}...")
                rows = connection.exec_driver_sql(f"{prefix} {statement}", parameters).all()
                for row in rows:
                    line = row[0] if postgresql else row[-1]
                    print("    " + (line if len(line) <= 150 else line[:147] + "..."))
        connection.rollback()


if __name__ == "__main__":
    sys.exit(main())
