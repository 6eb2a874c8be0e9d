"""Two do-little endpoints that `bench/scan.py` measures the scan against, in the same
app and server: one does nothing, one does a single INSERT and COMMIT through the same
engine. They exist only when BENCHMARK_FLOORS is set, never in a normal deployment."""

from flask import Blueprint
from sqlalchemy import text

from mealservice.core.clock import utcnow
from mealservice.core.db import db

# Made by the benchmark itself; it is not part of the service's schema.
FLOOR_TABLE = "bench_floor"

bp = Blueprint("floors", __name__, url_prefix="/api/v1/_floors")


@bp.post("/noop")
def noop():
    return "", 204


@bp.post("/insert")
def one_insert():
    db.session.execute(
        text(f"INSERT INTO {FLOOR_TABLE} (at) VALUES (:at)"), {"at": utcnow().isoformat()}
    )
    # The request's transaction commits in after_request, as a scan's does.
    return "", 201
