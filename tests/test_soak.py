"""The lunch-rush soak (bench/soak.py), short: eight seconds of scans, orders, platform
reports and claim reading at once through gunicorn must give no error, a meal for every
scan answered 201 and every delivery reported, and an order for every order answered 201.

The soak empties the database it is given, so it never gets the suite's: on SQLite a file
of its own, on PostgreSQL a schema of its own in the suite's database, dropped afterwards."""

import json
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, make_url, text

from config import normalise_database_url
from mealservice.core.clock import utcnow
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.live


@pytest.fixture
def soak_database_url(database_url, tmp_path):
    if not database_url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'soak.sqlite'}"
        return
    # A schema of its own in the suite's database: the soak's connections see only it.
    schema = f"soak_{uuid.uuid4().hex[:12]}"
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def test_a_short_lunch_rush_loses_nothing_and_fails_nothing(soak_database_url):
    command = [
        sys.executable,
        "bench/soak.py",
        "--seconds",
        "8",
        "--floor-seconds",
        "1",
        "--elders",
        "500",
        "--canteens",
        "5",
        "--port",
        str(free_port()),
        "--database-url",
        soak_database_url,
        "--at",
        utcnow().isoformat(),
    ]
    # `--at` the test's instant, not the real one: the soak's district is built for the
    # day its clock says, and a rush across the district's midnight scanned tomorrow's
    # breakfasts, which had no menu (CI at 16:00 UTC).
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    output = result.stdout + result.stderr[-3000:]
    assert result.returncode == 0, output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ok"] and summary["errors"] == 0, output
    assert summary["meals_added"] == summary["scans_201"] + summary["deliveries"], output
    assert summary["orders_added"] == summary["orders_201"], output
    # Every kind of caller got through, and some of each write landed.
    assert all(kind["requests"] > 0 for kind in summary["kinds"].values()), output
    assert min(summary["scans_201"], summary["orders_201"], summary["deliveries"]) > 0, output
