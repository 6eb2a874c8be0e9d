"""Where one scan's time goes: cProfile over scans served in-process.

    python bench/profile_scan.py [--scans 400] [--database-url URL] [--top 25] [--dump FILE]
                                 [--replay]

Builds bench/scan.py's synthetic district (smaller by default), then serves --scans scans
through the WSGI app in this process, as production configures it, under cProfile. Prints
the statements a scan runs and the functions that take the most time, by their own time
and by cumulative time, per scan. The database at --database-url is emptied first.

With --replay, no profile: it prints the CPU per request, in this process, of the insert
floor, of one scan's own SQL replayed alone (bench/replay.py) and of the scan, in
alternating rounds.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import replay  # noqa: E402 - bench/replay.py, beside this file
import scan  # noqa: E402 - bench/scan.py, beside this file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=400)
    parser.add_argument("--elders", type=int, default=2_000)
    parser.add_argument("--canteens", type=int, default=10)
    parser.add_argument("--database-url", help="emptied first; default: a new SQLite file")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--statements", action="store_true", help="print one scan's SQL")
    parser.add_argument("--dump", metavar="FILE", help="also write the profile for pstats")
    parser.add_argument(
        "--replay", action="store_true", help="CPU per request: floor, the scan's SQL, scan"
    )
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mealservice-profile-"))
    database_url = options.database_url or f"sqlite:///{workdir / 'profile.sqlite'}"
    os.environ.update(scan.server_environment(database_url))
    district = scan.build_district(database_url, options.elders, options.canteens)

    from sqlalchemy import event

    from mealservice import create_app
    from mealservice.core.db import db

    app = create_app(DATABASE_URL=database_url, BENCHMARK_FLOORS=options.replay)
    replayed: list[tuple[str, object]] = []
    if options.replay:
        # Before the app's first request, which closes its setup; filled once a scan ran.
        app.register_blueprint(replay.blueprint(replayed))
    client = app.test_client()
    source = scan.ScanSource(district)

    def one_scan() -> int:
        path, body, token = source.next()
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        return response.status_code

    for _ in range(50):  # warm: caches, compiled statements, connections
        one_scan()

    if options.replay:
        token = district["tokens"][district["canteen_ids"][0]]
        return compare_with_replay(app, client, one_scan, token, replayed)

    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    statuses = [one_scan() for _ in range(20)]
    per_scan = len(statements) / 20
    verbs = [statement.split()[0] for statement in statements]
    kinds = {kind: verbs.count(kind) / 20 for kind in sorted(set(verbs))}
    print(
        f"statements a scan: {per_scan:.1f} ({', '.join(f'{k} {v:g}' for k, v in kinds.items())})"
    )

    if options.statements:
        for statement in statements[: len(statements) // 20]:
            print("  " + " ".join(statement.split())[:160])

    profile = cProfile.Profile()
    profile.enable()
    statuses += [one_scan() for _ in range(options.scans)]
    profile.disable()
    print(f"answers: {', '.join(f'{s}: {statuses.count(s)}' for s in sorted(set(statuses)))}")

    stats = pstats.Stats(profile)
    total = sum(row[2] for row in stats.stats.values())
    print(f"{options.scans} scans: {1000 * total / options.scans:.2f} ms of profiled time each")
    # Calls, unlike time, hold steady on a loaded machine: the figure to compare across runs.
    print(f"function calls a scan: {stats.total_calls / options.scans:.0f}")
    if options.dump:
        stats.dump_stats(options.dump)
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(options.top)
        print(f"\n--- by {order} ---")
        print(out.getvalue().split("\n\n", 2)[-1])
    return 0


def compare_with_replay(app, client, one_scan, token: str, statements: list) -> int:
    """CPU per request in this process: the insert floor, the scan's SQL replayed, the scan.
    `statements` is the list the app's replay endpoint runs, filled here."""
    statements[:] = replay.capture(app, one_scan)
    print(f"replayed: the {replay.counted(statements)} statements of one scan")
    phases = {
        "insert floor": lambda: client.post("/api/v1/_floors/insert").status_code,
        REPLAY: lambda: (
            client.post(replay.PATH, headers={"Authorization": f"Bearer {token}"}).status_code
        ),
        "scan": one_scan,
    }
    spent = {name: [] for name in phases}
    for call in phases.values():  # warm
        for _ in range(30):
            call()
    for _ in range(5):
        for name, call in phases.items():
            count = 150 if name == "scan" else 300
            started = time.process_time()
            statuses = {call() for _ in range(count)}
            spent[name].append(1000 * (time.process_time() - started) / count)
            if not statuses <= {201, 204}:
                raise RuntimeError(f"{name} answered {statuses}")
    medians = {name: statistics.median(times) for name, times in spent.items()}
    for name, ms in medians.items():
        print(f"{name + ':':24} {ms:6.2f} ms CPU a request")
    floor = medians["insert floor"]
    print(
        f"ratio_of_replay_to_insert_floor={floor / medians[REPLAY]:.2f} "
        f"ratio_of_scan_to_insert_floor={floor / medians['scan']:.2f}"
    )
    return 0


REPLAY = "the scan's SQL alone"


if __name__ == "__main__":
    sys.exit(main())
