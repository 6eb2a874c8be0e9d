"""Where one scan's time goes: cProfile over scans served in-process.

    python bench/profile_scan.py [--scans 400] [--database-url URL] [--top 25] [--dump FILE]

Builds bench/scan.py's synthetic district (smaller by default), then serves --scans scans
through the WSGI app in this process, as production configures it, under cProfile. Prints
the statements a scan runs and the functions that take the most time, by their own time
and by cumulative time, per scan. The database at --database-url is emptied first.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

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
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mealservice-profile-"))
    database_url = options.database_url or f"sqlite:///{workdir / 'profile.sqlite'}"
    os.environ.update(scan.server_environment(database_url))
    district = scan.build_district(database_url, options.elders, options.canteens)

    from sqlalchemy import event

    from mealservice import create_app
    from mealservice.core.db import db

    app = create_app(DATABASE_URL=database_url)
    client = app.test_client()
    source = scan.ScanSource(district)

    def one_scan() -> int:
        path, body, token = source.next()
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        return response.status_code

    for _ in range(50):  # warm: caches, compiled statements, connections
        one_scan()

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


if __name__ == "__main__":
    sys.exit(main())
