"""How fast the counter's scan is, against floors measured in the same run.

    python bench/scan.py [--seconds 20] [--database-url URL]

Builds a synthetic district (10,000 elders of mixed tiers with cards, 50 canteens with
real seats and today's menus, a cashier per canteen), starts the service under gunicorn
with 2 workers, then measures with the same server and client:

  latency    p50 / p99 at a fixed offered load of 200 scans/s (open loop: latency runs
             from the moment a scan was due, so a stalled server cannot hide its queue),
             after a warm-up and once the machine's one-minute load has settled under 1
             (or --settle-seconds have passed); the load is printed beside the p99;
  floors     closed-loop throughput of an endpoint that does nothing, and of one that
             does a single INSERT and COMMIT through the same engine;
  replay     the statements of one scan, replayed alone by an endpoint the benchmark adds
             to the service it serves (bench/replay.py): a scan with no ORM, parsing,
             judging, pricing or answer, the floor that cutting the scan's Python can reach;
  scans      closed-loop throughput of 16 cashiers scanning, in --rounds rounds that
             alternate with the insert floor and the replay, so all see the same machine;
             at least 90 % of the answers must be 201, and the meals recorded must equal
             the 201s;
  CPU        the server's CPU per request in each phase, read from /proc: the gunicorn
             workers' and, on PostgreSQL, the database backends' serving them. A ratio
             of CPU per request holds on a loaded machine where throughput ratios do not.

Before it, `cpu_ratio_of_scan_to_its_sql=<a> cpu_ratio_of_its_sql_to_insert_floor=<b>`: the
replay's CPU per request over the scan's, and the insert floor's over the replay's.
The last line is `ratio_to_insert_floor=<x> cpu_ratio_to_insert_floor=<y>
p99_ms_at_200=<z> load=<l> errors=<n>`: the floor's requests/s or CPU per request over the
scan's, and errors count every 5xx, every unexpected status and every failed connection.
The database at --database-url is emptied first; the default is a new SQLite file in a
temporary folder.
"""

import argparse
import http.client
import itertools
import json
import os
import pickle
import queue
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import replay  # noqa: E402 - bench/replay.py, beside this file

CASHIERS = 16
OPEN_LOOP_RATE = 200
SLOTS = ("breakfast", "lunch", "dinner")
# Two meals a slot, so 10,000 elders give 60,000 scans that should all be served: a run
# faster than the 30,000 of a one-meal policy must not turn into a run of refusals.
MEALS_PER_SLOT = 2
SEATS = 2000


def main() -> int:
    options = parse_arguments()
    workdir = Path(tempfile.mkdtemp(prefix="mealservice-bench-"))
    database_url = options.database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    environment = server_environment(database_url)
    os.environ.update(environment)

    started = time.perf_counter()
    district = build_district(database_url, options.elders, options.canteens)
    print(
        f"setup: {options.elders} elders with cards, {options.canteens} canteens, "
        f"{database_url.split(':', 1)[0]} in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    replay_file = workdir / "replay.pickle"
    replay_file.write_bytes(pickle.dumps(scan_to_replay(database_url, district)))
    server = start_server(
        {**environment, "BENCH_REPLAY_FILE": str(replay_file)},
        options.port,
        options.threads,
        workdir,
        # The service with the replay endpoint added: bench/replay.py.
        application=("--pythonpath", str(ROOT / "bench"), "replay:app"),
    )
    try:
        report = measure(options, district, database_url, CpuMeter(server.pid, database_url))
    finally:
        server.terminate()
        server.wait(timeout=15)
    return report


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=24, help="closed-loop scans in all")
    parser.add_argument("--floor-seconds", type=float, default=12, help="each floor in all")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of floor and scans")
    parser.add_argument(
        "--settle-seconds", type=float, default=120, help="longest wait for a load under 1"
    )
    parser.add_argument("--open-seconds", type=float, default=10, help="the open-loop phase")
    parser.add_argument("--rate", type=int, default=OPEN_LOOP_RATE, help="its scans a second")
    parser.add_argument("--database-url", help="emptied first; default: a new SQLite file")
    parser.add_argument("--elders", type=int, default=10_000)
    parser.add_argument("--canteens", type=int, default=50)
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    return parser.parse_args()


def server_environment(database_url: str) -> dict[str, str]:
    from config import SECRET_NAMES

    return {
        "MEALSERVICE_ENV": "production",
        "DATABASE_URL": database_url,
        "SESSION_COOKIE_SECURE": "0",
        "BENCHMARK_FLOORS": "1",
        **{name: secrets.token_hex(32) for name in SECRET_NAMES},
    }


# --- the synthetic district -------------------------------------------------------------


def password() -> str:
    """A throwaway password the password rules accept (three kinds of character)."""
    return "Bench-" + secrets.token_hex(12)


def build_district(database_url: str, elder_count: int, canteen_count: int) -> dict:
    import flask_migrate
    from sqlalchemy import text

    from mealservice import create_app
    from mealservice.accounts.services import create_user, issue_token
    from mealservice.core.clock import utcnow
    from mealservice.core.db import db
    from mealservice.core.floors import FLOOR_TABLE
    from mealservice.core.idnumber import make_id_number
    from mealservice.demo import POLICY
    from mealservice.elders.cards import issue_card, payload_of
    from mealservice.elders.services import create_elder
    from mealservice.menus.services import create_menu, slot_end
    from mealservice.places.registry import set_filing
    from mealservice.places.services import create_canteen, create_community, create_district
    from mealservice.policy.services import create_policy

    # Settings were read when config was first imported; the URL is handed over directly.
    app = create_app(DATABASE_URL=database_url)
    rng = random.Random(2026)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            connection.execute(text(f"DROP TABLE IF EXISTS {FLOOR_TABLE}"))
            id_column = (
                "id SERIAL PRIMARY KEY"
                if db.engine.dialect.name == "postgresql"
                else "id INTEGER PRIMARY KEY"
            )
            connection.execute(text(f"CREATE TABLE {FLOOR_TABLE} ({id_column}, at TEXT)"))
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))

        district = create_district({"code": "990001", "name": "基准测试区"})
        communities = [
            create_community(
                district,
                {
                    "code": f"990001C{n:03d}",
                    "name": f"基准社区{n}",
                    "street": f"基准街道{n % 5}",
                    "location": {"lat": 30.25 + n / 1000, "lng": 120.12 + n / 1000},
                },
            )
            for n in range(25)
        ]
        # The demo district's real tiers, with room for two meals a slot (see MEALS_PER_SLOT).
        create_policy("bench", district, {**POLICY, "max_meals_per_slot": MEALS_PER_SLOT})
        today = district.local_today()
        canteen_ids, tokens = [], {}
        for n in range(canteen_count):
            canteen = create_canteen(
                None,
                {
                    "name": f"基准老年食堂{n}",
                    "kind": "canteen",
                    "district": district.code,
                    "community": communities[n % len(communities)].code,
                    "seats_per_meal": SEATS,
                    "dining_area_m2": 400.0,
                    "functions": ["cooking", "dine_in"],
                    "operator_type": "public_private",
                    "address": f"基准路{n}号",
                    "location": {"lat": 30.25 + n / 500, "lng": 120.12 + n / 500},
                },
            )
            # Filed with civil affairs, as a place must be to claim.
            set_filing(None, canteen, "filed", f"基准备{n:03d}号", today)
            for slot in SLOTS:
                create_menu(
                    canteen,
                    {
                        "date": today,
                        "slot": slot,
                        "seats": SEATS,
                        "order_cutoff": slot_end(canteen, today, slot) - timedelta(hours=2),
                        "options": [
                            {"name": "营养套餐", "price_fen": 1800},
                            {"name": "软食套餐", "price_fen": 1500},
                        ],
                    },
                )
            cashier = create_user(
                None,
                username=f"bench-cashier-{n}",
                password=password(),
                role="cashier",
                canteen_id=canteen.id,
            )
            tokens[canteen.id] = issue_token(cashier, timedelta(hours=2))[0]
            canteen_ids.append(canteen.id)
        db.session.commit()

        payloads = []
        categories = ["minimum_allowance", "living_alone", "empty_nest", "extreme_poverty"]
        for n in range(elder_count):
            age = rng.choice([62, 66, 71, 74, 77, 81, 85, 90])
            birth = today.replace(year=today.year - age) - timedelta(days=rng.randrange(300))
            elder = create_elder(
                None,
                {
                    "name": f"基准老人{n}",
                    # The sequence part holds 1,000 numbers; the region part tells batches apart.
                    "id_number": make_id_number(str(990000 + n // 1000), birth, n),
                    "phone": f"139{n:08d}",
                    "address": f"基准路{n % 97}号",
                    "community": communities[n % len(communities)].code,
                    "hukou_district": district.code,
                    "categories": rng.sample(categories, rng.choice([0, 0, 1, 1, 2])),
                    "ability_level": rng.choice(["intact", "mild", "moderate"]),
                    "consent": {"given_at": utcnow(), "recorded_by": "bench"},
                },
            )
            payloads.append(payload_of(issue_card("bench", elder)))
            if n % 1000 == 999:
                db.session.commit()
        db.session.commit()
    return {"canteen_ids": canteen_ids, "tokens": tokens, "payloads": payloads}


# --- the server and the client ---------------------------------------------------------


def start_server(
    environment: dict,
    port: int,
    threads: int,
    workdir: Path,
    application: tuple[str, ...] = ("wsgi:app",),
):
    """Gunicorn serving the app its `application` arguments name: the service by default."""
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            *application,
        ],
        cwd=ROOT,
        env={**os.environ, **environment},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("POST", "/api/v1/_floors/noop")
            if connection.getresponse().status == 204:
                print(f"server: gunicorn gthread, 2 workers x {threads} threads, log in {log.name}")
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the server did not start; see {log.name}")


class Client:
    """One keep-alive connection, as a cashier's terminal would hold."""

    def __init__(self, port: int):
        self.port = port
        self.connection = None

    def post(self, path: str, body: dict | None, token: str | None) -> int:
        return self.request("POST", path, body, token)[0]

    def request(
        self,
        method: str,
        path: str,
        body: dict | bytes | None = None,
        token: str | None = None,
        headers: dict | None = None,
    ) -> tuple[int, bytes]:
        """The status and raw body; status 0 when the connection failed twice."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode() if body is not None else b""
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.connection.request(method, path, data, headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive connection: one fresh try.
                self.connection.close()
                self.connection = None
                if attempt:
                    return 0, b""
        return 0, b""


class ScanSource:
    """Scans in an order that serves every elder once per slot before any twice."""

    def __init__(self, district: dict):
        self.district = district
        pairs = [(payload, slot) for slot in SLOTS for payload in district["payloads"]]
        random.Random(7).shuffle(pairs)
        self.pairs = itertools.cycle(pairs)
        self.lock = threading.Lock()
        self.rng = random.Random(11)

    def next(self) -> tuple[str, dict, str]:
        with self.lock:
            payload, slot = next(self.pairs)
            canteen_id = self.rng.choice(self.district["canteen_ids"])
        path = f"/api/v1/canteens/{canteen_id}/scans"
        return path, {"qr_payload": payload, "slot": slot}, self.district["tokens"][canteen_id]


def closed_loop(port: int, seconds: float, make_request, expected: set[int]):
    """CASHIERS threads each send the next request as soon as the last is answered."""
    statuses: list[int] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def cashier():
        client, mine = Client(port), []
        while time.perf_counter() < stop_at:
            mine.append(client.post(*make_request()))
        with lock:
            statuses.extend(mine)

    threads = [threading.Thread(target=cashier) for _ in range(CASHIERS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    errors = sum(1 for status in statuses if status not in expected)
    return len(statuses) / elapsed, statuses, errors


def open_loop(port: int, seconds: float, rate: int, source: ScanSource):
    """Scans due at a fixed rate, whatever the server does; latency from when each was due."""
    due: queue.Queue = queue.Queue()
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def sender():
        client = Client(port)
        while (item := due.get()) is not None:
            when, request = item
            status = client.post(*request)
            finished = time.perf_counter()
            with lock:
                latencies.append(finished - when)
                statuses.append(status)

    senders = [threading.Thread(target=sender) for _ in range(32)]
    for thread in senders:
        thread.start()
    start = time.perf_counter() + 0.2
    for n in range(int(seconds * rate)):
        when = start + n / rate
        time.sleep(max(0.0, when - time.perf_counter()))
        due.put((when, source.next()))
    for _ in senders:
        due.put(None)
    for thread in senders:
        thread.join()
    return latencies, statuses


def scan_to_replay(database_url: str, district: dict) -> list[tuple[str, object]]:
    """The statements of one scan served in this process, for the replay (bench/replay.py).
    Its meal is one of the meals recorded before the rounds."""
    from mealservice import create_app

    app = create_app(DATABASE_URL=database_url)
    client = app.test_client()
    path, body, token = ScanSource(district).next()

    def one_scan() -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return client.post(path, json=body, headers=headers).status_code

    return replay.capture(app, one_scan)


def meal_count(database_url: str) -> int:
    from sqlalchemy import func, select

    from mealservice import create_app
    from mealservice.core.db import db
    from mealservice.meals.models import Meal

    with create_app(DATABASE_URL=database_url).app_context():
        return db.session.scalar(select(func.count()).select_from(Meal))


class CpuMeter:
    """The CPU seconds the server has spent: its gunicorn workers' and, on PostgreSQL, the
    backends of the benchmark's database (the database runs on this machine), read from
    /proc. A backend or worker that starts between two samples counts from zero."""

    TICKS = os.sysconf("SC_CLK_TCK")

    def __init__(self, server_pid: int, database_url: str):
        self.server_pid = server_pid
        self.database = None
        if database_url.startswith("postgresql"):
            from sqlalchemy import create_engine

            from config import normalise_database_url

            self.database = create_engine(normalise_database_url(database_url)).connect()

    def sample(self) -> dict[str, dict[int, float]]:
        return {
            "app": {pid: self.cpu_of(pid) for pid in self.workers()},
            "database": {pid: self.cpu_of(pid) for pid in self.backends()},
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        return {
            side: sum(cpu - before[side].get(pid, 0.0) for pid, cpu in after[side].items())
            for side in after
        }

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.server_pid}/task/{self.server_pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def backends(self) -> list[int]:
        if self.database is None:
            return []
        from sqlalchemy import text

        rows = self.database.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        )
        self.database.commit()
        return [row.pid for row in rows]

    @classmethod
    def cpu_of(cls, pid: int) -> float:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return 0.0
        # The fields after the command's closing parenthesis start at the third; user and
        # system time are the 14th and 15th.
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / cls.TICKS


class Phase:
    """What one kind of phase has added up over its rounds: requests, seconds, CPU."""

    def __init__(self):
        self.requests = 0
        self.seconds = 0.0
        self.cpu = {"app": 0.0, "database": 0.0}
        self.statuses: list[int] = []
        self.errors = 0

    def run(self, meter: CpuMeter, port: int, seconds: float, make_request, expected):
        before = meter.sample()
        began = time.perf_counter()
        _, statuses, errors = closed_loop(port, seconds, make_request, expected)
        self.seconds += time.perf_counter() - began
        for side, cpu in meter.spent(before, meter.sample()).items():
            self.cpu[side] += cpu
        self.requests += len(statuses)
        self.statuses.extend(statuses)
        self.errors += errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def cpu_ms(self, side: str | None = None) -> float:
        """CPU milliseconds per request, of one side or both."""
        total = self.cpu[side] if side else sum(self.cpu.values())
        return 1000 * total / max(self.requests, 1)


def settle(seconds: float) -> float:
    """Wait until the one-minute load is under 1, or `seconds` have passed; the load."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] >= 1 and time.monotonic() < deadline:
        time.sleep(2)
    return os.getloadavg()[0]


def measure(options, district: dict, database_url: str, meter: CpuMeter) -> int:
    port = options.port
    source = ScanSource(district)
    rate = options.rate

    # Latency first, on a machine as idle as it gets, after a warm-up of each worker.
    warm = Phase()
    warm.run(meter, port, 2, source.next, {201, 409})
    load = settle(options.settle_seconds)
    latencies, open_statuses = open_loop(port, options.open_seconds, rate, source)
    open_errors = sum(1 for status in open_statuses if status not in (201, 409))
    cuts = statistics.quantiles(latencies, n=100)
    p50_ms, p99_ms = cuts[49] * 1000, cuts[98] * 1000
    print(
        f"latency at {rate} scans/s, open loop, load {load:.2f} before: "
        f"p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms"
    )

    noop = Phase()
    noop.run(
        meter, port, options.floor_seconds / 2, lambda: ("/api/v1/_floors/noop", None, None), {204}
    )
    print(
        f"floor, no-op endpoint:       {noop.rate:8.0f} requests/s, {noop.cpu_ms():.2f} ms CPU each"
    )

    insert, replayed, scans = Phase(), Phase(), Phase()
    # Any cashier's token: the replay does its own canteen's scan whoever sends it.
    replay_request = (replay.PATH, None, district["tokens"][district["canteen_ids"][0]])
    for _ in range(options.rounds):
        insert.run(
            meter,
            port,
            options.floor_seconds / options.rounds,
            lambda: ("/api/v1/_floors/insert", None, None),
            {201},
        )
        replayed.run(
            meter, port, options.floor_seconds / options.rounds, lambda: replay_request, {201}
        )
        scans.run(meter, port, options.seconds / options.rounds, source.next, {201, 409})
    for name, phase in (
        ("floor, one INSERT + COMMIT:", insert),
        ("a scan's SQL alone, replayed:", replayed),
        (f"scans, {CASHIERS} cashiers:", scans),
    ):
        print(
            f"{name:28} {phase.rate:8.0f} requests/s, CPU per request {phase.cpu_ms():.2f} ms "
            f"(app {phase.cpu_ms('app'):.2f}, database {phase.cpu_ms('database'):.2f})"
        )
    served = scans.statuses.count(201)
    share = served / scans.requests if scans.requests else 0.0
    # Each replay writes the replayed scan's meal again.
    recorded = meal_count(database_url) - replayed.statuses.count(201)
    warmed = 1 + warm.statuses.count(201) + open_statuses.count(201)
    print(
        f"scans in {options.rounds} rounds of {options.seconds / options.rounds:.0f} s: "
        f"201: {served} ({share:.1%}), 409: {scans.statuses.count(409)}, "
        f"meals recorded: {recorded} (of which {warmed} before the rounds)"
    )

    errors = warm.errors + noop.errors + insert.errors + replayed.errors + scans.errors
    errors += open_errors
    checks = []
    if share < 0.9:
        checks.append(f"only {share:.1%} of the scans were served (201); at least 90 % must be")
    if recorded != served + warmed:
        checks.append(f"{recorded} meals recorded for {served + warmed} scans answered 201")
    for problem in checks:
        print(f"FAILED: {problem}")
    print(f"ratio_to_noop_floor={scans.rate / noop.rate:.2f}")
    # How near the scan is to its own SQL, and how near that SQL alone is to the aim.
    print(
        f"cpu_ratio_of_scan_to_its_sql={replayed.cpu_ms() / scans.cpu_ms():.2f} "
        f"cpu_ratio_of_its_sql_to_insert_floor={insert.cpu_ms() / replayed.cpu_ms():.2f}"
    )
    print(
        f"ratio_to_insert_floor={scans.rate / insert.rate:.2f} "
        f"cpu_ratio_to_insert_floor={insert.cpu_ms() / scans.cpu_ms():.2f} "
        f"p99_ms_at_{rate}={p99_ms:.1f} load={load:.2f} errors={errors}"
    )
    return 1 if errors or checks else 0


if __name__ == "__main__":
    sys.exit(main())
