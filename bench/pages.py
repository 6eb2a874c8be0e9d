"""How long the heavier pages take on the server: the demo district, served in-process.

    python bench/pages.py [--requests 30] [--database-url URL]

Seeds the demo (what `flask --app wsgi seed-demo` loads) into a new SQLite file in a
temporary folder, or into the database at --database-url after emptying it, then serves
through the WSGI app in this process, as production configures it, with Flask's test
client logged in as the demo's official and family:

  dashboard        the official's district dashboard page, then its three charts (the
                   SVG images the page links, fetched by the URLs in the page, as a
                   browser does after the page), --requests times in turn;
  claim review     the official reading one of the demo's claims, /claims/<id>;
  order            the family's `/order` page for the first of its two elders (the menus
                   of today and tomorrow, nearest place first, with prices).

Each line gives the median server time of one page over the --requests requests (after
--warm requests of each, unmeasured) and the statements it runs per request. The last line
is `dashboard_ms=<x> dashboard_charts_ms=<y> claim_review_ms=<z> order_ms=<w>`, where
dashboard_charts_ms is the median of the three charts' time together after each page.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scan  # noqa: E402 - bench/scan.py, beside this file

CHART_SOURCE = re.compile(r'src="([^"]*/dashboard/\w+\.svg[^"]*)"')
DISTRICT = "330106"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--database-url", help="emptied first; default: a new SQLite file")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mealservice-pages-"))
    database_url = options.database_url or f"sqlite:///{workdir / 'pages.sqlite'}"
    os.environ.update(scan.server_environment(database_url))

    from sqlalchemy import event

    from config import DevelopmentConfig
    from mealservice import create_app
    from mealservice.core.db import db

    started = time.perf_counter()
    # Seeded as `flask seed-demo` does, outside production: the demo's deliveries go
    # through the local simulator, which production's configuration leaves out.
    claim_id = seed_demo(create_app(DevelopmentConfig, DATABASE_URL=database_url))
    app = create_app(DATABASE_URL=database_url)
    print(f"demo seeded in {time.perf_counter() - started:.1f} s; claim {claim_id}")

    official = logged_in(app, "official")
    family = logged_in(app, "family")
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    timings: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}

    def timed(name: str, client, path: str) -> tuple[float, str]:
        statements.clear()
        start = time.perf_counter()
        response = client.get(path)
        elapsed = 1000 * (time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        timings.setdefault(name, []).append(elapsed)
        counts.setdefault(name, []).append(len(statements))
        return elapsed, response.get_data(as_text=True)

    dashboard = f"/districts/{DISTRICT}/dashboard"
    # The family looks after two elders: `/order` asks whose meal first, and the page with
    # the menus is the first elder's.
    picker = family.get("/order").get_data(as_text=True)
    order = unescape(re.search(r'href="(/order\?elder=\d+)"', picker).group(1))
    charts_together: list[float] = []
    for round_number in range(options.warm + options.requests):
        if round_number == options.warm:
            timings.clear(), counts.clear(), charts_together.clear()
        _elapsed, html = timed("dashboard", official, dashboard)
        sources = [unescape(source) for source in CHART_SOURCE.findall(html)]
        if len(sources) != 3:
            raise SystemExit(f"the dashboard links {len(sources)} charts, not 3")
        charts_together.append(
            sum(
                timed(re.search(r"(\w+)\.svg", source).group(1) + ".svg", official, source)[0]
                for source in sources
            )
        )
        timed("claim review", official, f"/claims/{claim_id}")
        timed("order", family, order)

    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, values in timings.items():
        per_request = sum(counts[name]) / len(counts[name])
        print(
            f"{name:<16} median {medians[name]:7.2f} ms"
            f"  statements {per_request:5.1f}  ({len(values)} requests)"
        )
    print(
        f"dashboard_ms={medians['dashboard']:.2f}"
        f" dashboard_charts_ms={statistics.median(charts_together):.2f}"
        f" claim_review_ms={medians['claim review']:.2f} order_ms={medians['order']:.2f}"
    )
    return 0


def seed_demo(app) -> int:
    """Empties the database, migrates it and loads the demo; returns a claim to review."""
    import flask_migrate
    from sqlalchemy import select, text

    from mealservice import demo
    from mealservice.claims.models import Claim, ClaimStatus
    from mealservice.core.audit import acting
    from mealservice.core.db import db

    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        with acting("seed-demo"):
            demo.seed()
            db.session.commit()
        # One awaiting the official's decision, as a review would be; any claim otherwise.
        return db.session.scalar(
            select(Claim.id).order_by(Claim.status != ClaimStatus.SUBMITTED, Claim.id).limit(1)
        )


def logged_in(app, username: str):
    from mealservice.demo import LOGINS

    password = next(login["password"] for login in LOGINS if login["username"] == username)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    answer = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    if answer.status_code != 302:
        raise SystemExit(f"log-in as {username}: {answer.status_code}")
    return client


if __name__ == "__main__":
    sys.exit(main())
