"""`GET /healthz` for load balancers and monitors: no login, one SELECT.

200 `{"status": "ok", "database": "ok", "revision": ..., "head": ...}` when the database
answers and its schema is the migrations' head; 503 `{"status": "unavailable", ...}`
otherwise (unreachable, or a revision that is not this code's), so a deployment whose
`flask db upgrade` has not run yet takes no traffic."""

import functools
import logging

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mealservice.core.db import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@functools.cache
def _head_of(directory: str) -> str:
    heads = ScriptDirectory(directory).get_heads()
    return "+".join(sorted(heads))


def migration_head() -> str:
    """The revision this code's migrations end at (read from the files once)."""
    return _head_of(current_app.extensions["migrate"].directory)


def applied_revision(connection) -> str | None:
    """The database's revision; SQLAlchemyError when it cannot be read."""
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return "+".join(sorted(rows)) or None


def check() -> tuple[int, dict]:
    head = migration_head()
    reachable = False
    try:
        # A connection of its own, not the request's session: on PostgreSQL a session's
        # transaction first names the audit actor, a second statement for nothing here.
        with db.engine.connect() as connection:
            reachable = True
            revision = applied_revision(connection)
    except SQLAlchemyError as error:
        log.warning(
            "health check: %s (%s)",
            "no migration history" if reachable else "database unreachable",
            type(getattr(error, "orig", None) or error).__name__,
        )
        return 503, {
            "status": "unavailable",
            "database": "ok" if reachable else "unreachable",
            "revision": None,
            "head": head,
        }
    if revision != head:
        log.warning("health check: database at revision %s, code at %s", revision, head)
        return 503, {"status": "unavailable", "database": "ok", "revision": revision, "head": head}
    return 200, {"status": "ok", "database": "ok", "revision": revision, "head": head}


@bp.get("/healthz")
def healthz():
    status, body = check()
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
