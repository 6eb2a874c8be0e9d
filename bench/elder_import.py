"""How long an official's spreadsheet import of elders takes, through the API.

    python bench/elder_import.py [--rows 5000] [--database-url URL] [--profile]

Builds a district with 20 communities and an official, writes a valid workbook of --rows
elders (the template's Chinese headers, every row registrable), and sends it once to
`POST /api/v1/elders/import` as the official, in production's configuration (audit
triggers on, the request committing what was accepted). Prints the seconds the workbook
took to read and to import, and the request's whole time; the exit status is 1 unless
every row was accepted. With --profile, the request runs under cProfile and the 25
functions with the most cumulative time are printed.

The database at --database-url is emptied first (on PostgreSQL its public schema is
dropped); the default is a new SQLite file in a temporary folder.
"""

import argparse
import cProfile
import os
import pstats
import secrets
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from claims import empty_database, secret_names  # noqa: E402

DISTRICT = "330106"
COMMUNITIES = 20


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
    from mealservice import create_app

    empty_database(database_url)
    app = create_app(DATABASE_URL=database_url)
    try:
        with app.app_context():
            token, communities = build_district()
            content = workbook(options.rows, communities)
        print(f"setup: a workbook of {options.rows} rows, {len(content) / 1024:.0f} KB")
        return measure(app, token, content, options)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--database-url", help="emptied first; default: a new SQLite file")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 25")
    parser.add_argument("--sort", default="cumulative", help="the profile's order (tottime...)")
    return parser.parse_args()


def build_district() -> tuple[str, list[str]]:
    import flask_migrate

    from mealservice.accounts.services import create_user, issue_token
    from mealservice.core.db import db
    from mealservice.places.services import create_community, create_district

    flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    district = create_district({"code": DISTRICT, "name": "基准测试区"})
    codes = []
    for n in range(COMMUNITIES):
        code = f"{DISTRICT}C{n:03d}"
        create_community(
            district,
            {
                "code": code,
                "name": f"基准社区{n}",
                "street": "基准街道",
                "location": {"lat": 30.25 + n / 1000, "lng": 120.12 + n / 1000},
            },
        )
        codes.append(code)
    official = create_user(
        None,
        username="bench-official",
        password="bench-import-42",
        role="official",
        district=DISTRICT,
    )
    token, _ = issue_token(official, timedelta(hours=1))
    db.session.commit()
    return token, codes


def workbook(rows: int, communities: list[str]) -> bytes:
    from openpyxl import Workbook

    from mealservice.core.idnumber import make_id_number
    from mealservice.elders.importing import COLUMNS

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([column.header for column in COLUMNS])
    for n in range(rows):
        born = date(1930, 1, 1) + timedelta(days=n % 9000)
        cells = {
            "name": f"老人{n}",
            "id_number": make_id_number(DISTRICT, born, n % 999 + 1),
            "phone": f"138{n:08d}",
            "address": f"测试路{n}号",
            "community": communities[n % len(communities)],
            "categories": "独居、低保" if n % 3 else "",
            "ability_level": "轻度失能",
            "hukou_district": DISTRICT,
            "diet_notes": "少糖" if n % 5 == 0 else None,
            "lng": 120.15,
            "lat": 30.27,
        }
        sheet.append([cells[column.field] for column in COLUMNS])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def measure(app, token: str, content: bytes, options) -> int:
    from mealservice.elders import importing

    timings: dict[str, float] = {}

    def timed(name, function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[name] = time.perf_counter() - started

        return run

    importing.read_workbook = timed("read", importing.read_workbook)
    importing.import_rows = timed("import", importing.import_rows)
    client = app.test_client()
    profile = cProfile.Profile() if options.profile else None
    started = time.perf_counter()
    if profile:
        profile.enable()
    response = client.post(
        "/api/v1/elders/import",
        headers={"Authorization": f"Bearer {token}"},
        data={"file": (BytesIO(content), "elders.xlsx"), "consent_confirmed": "true"},
        content_type="multipart/form-data",
    )
    if profile:
        profile.disable()
    total = time.perf_counter() - started
    body = response.get_json()
    if response.status_code != 200:
        print(f"the import answered {response.status_code}: {str(body)[:500]}")
        return 1
    print(
        f"read_s={timings['read']:.2f} import_s={timings['import']:.2f} request_s={total:.2f}"
        f" accepted={body['accepted']} rejected={body['rejected']}"
    )
    if profile:
        pstats.Stats(profile).sort_stats(options.sort).print_stats(25)
    if body["rejected"]:
        reasons = {str(r["errors"]) for r in body["rows"] if r["status"] == "rejected"}
        print("rejected:", sorted(reasons)[:5])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
