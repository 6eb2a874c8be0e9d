"""Logs without personal data: one JSON object a line (LOG_FORMAT=json, the production
default) or a readable line (LOG_FORMAT=text, elsewhere), and one line per request.

A request is logged by its route template (`/api/v1/canteens/<id:canteen_id>/elder-lookup`),
never its path or query string, which can carry an elder's name or phone digits; the
caller by user id and role. Exceptions are written without SQL parameters or the
database's row details, which would repeat the request's values. The JSON line holds
the fields named here and nothing else, so a stray `extra=` cannot leak a name into it."""

import json
import logging
import re
import sys
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import (
    Flask,
    Response,
    g,
    has_request_context,
    request,
    request_finished,
    request_started,
)
from flask.logging import default_handler

from mealservice.core.idnumber import check_character, mask_id_number

# One line per request, under a name of its own so it can be routed or silenced alone.
request_log = logging.getLogger("mealservice.requests")

FORMATS = ("json", "text")

# The fields of a request's line, after time, level, logger, message and request_id.
REQUEST_FIELDS = ("method", "route", "status", "duration_ms", "user_id", "role")

# A caller's own request id is kept when it looks like one; anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# Exception text is cut here: enough for a message, never a whole document.
MAX_EXCEPTION_MESSAGE = 500
MAX_STATEMENT = 1000

# A backstop for a careless message: a resident ID number (one that passes its check) is
# masked, and a mainland mobile number replaced, wherever they appear. Names and
# addresses cannot be caught this way; keeping them out is the log calls' job.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17})([\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def redact(text: str) -> str:
    def id_number(match: re.Match) -> str:
        if check_character(match[1]) != match[2].upper():
            return match[0]
        return mask_id_number(match[0])

    return _MOBILE.sub("[phone]", _ID_NUMBER.sub(id_number, text))


# Formatting.


def describe_exception(exc: BaseException) -> str:
    """One exception's type and message, without the values a database error repeats."""
    from sqlalchemy.exc import StatementError

    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if isinstance(exc, StatementError):
        # str() would add "[parameters: (...)]": the very values of the request.
        orig = exc.orig
        cause = f"({type(orig).__module__}.{type(orig).__name__}) " if orig else ""
        statement = " ".join((exc.statement or "").split())[:MAX_STATEMENT]
        return f"{name}: {cause}{_database_detail(orig)}\n[SQL: {statement}]"
    if _is_database_error(exc):
        return f"{name}: {_database_detail(exc)}"
    return f"{name}: {str(exc)[:MAX_EXCEPTION_MESSAGE]}"


def _is_database_error(exc) -> bool:
    module = type(exc).__module__
    return module == "sqlite3" or module.startswith("psycopg")


def _database_detail(orig) -> str:
    if orig is None:
        return ""
    diag = getattr(orig, "diag", None)
    if diag is not None:
        # PostgreSQL's message can hold a value ("invalid input syntax ...: "<value>"") and
        # its detail the whole failing row: name what failed, not with what.
        named = {
            "sqlstate": getattr(orig, "sqlstate", None),
            "table": diag.table_name,
            "column": diag.column_name,
            "constraint": diag.constraint_name,
        }
        return " ".join(f"{key}={value}" for key, value in named.items() if value)
    # SQLite names the constraint or column, never the value.
    return str(orig)[:MAX_EXCEPTION_MESSAGE]


def format_exception(exc: BaseException) -> str:
    """The traceback as Python prints it (frames and chained causes), each exception
    described by `describe_exception`."""
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    parts = []
    for exc in reversed(chain):
        if parts:
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if exc.__cause__ is not None
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(exc.__traceback__))
        parts.append(describe_exception(exc))
    return "".join(parts)


def _request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class _Formatter(logging.Formatter):
    def message_of(self, record: logging.LogRecord) -> str:
        return redact(record.getMessage())

    def exception_of(self, record: logging.LogRecord) -> str | None:
        if not record.exc_info or record.exc_info[1] is None:
            return None
        return redact(format_exception(record.exc_info[1]))


class JsonFormatter(_Formatter):
    """time (UTC, ISO 8601), level, logger, message, request_id; a request's fields;
    the exception, when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.message_of(record),
            "request_id": getattr(record, "request_id", None) or _request_id(),
        }
        for field in REQUEST_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        exception = self.exception_of(record)
        if exception:
            line["exception"] = exception
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(_Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        request_id = getattr(record, "request_id", None) or _request_id()
        where = f" [{request_id}]" if request_id else ""
        text = f"{moment} {record.levelname} {record.name}{where}: {self.message_of(record)}"
        exception = self.exception_of(record)
        return f"{text}\n{exception}" if exception else text


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format not in FORMATS:
        raise RuntimeError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def log_format_of(app: Flask) -> str:
    default = "json" if app.config.get("ENV_NAME") == "production" else "text"
    return app.config.get("LOG_FORMAT") or default


# Installing it.


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (as logging.lastResort
    does), so a replaced stderr (a test's capture, a daemon's redirect) is followed."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class _DropServerRequestLines(logging.Filter):
    """The development server's own request line carries the raw path and query string;
    our request line replaces it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.endswith('"%s" %s %s\n'))


def configure_logging(log_format: str) -> bool:
    """Send every logger's INFO and above to stderr in `log_format`, as basicConfig
    would: only when nothing has configured the root logger yet (a test runner, a
    process manager's logging config), so this never doubles their lines. True when it
    installed the handler."""
    formatter = formatter_for(log_format)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _DropServerRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(_DropServerRequestLines())
    root = logging.getLogger()
    if root.handlers:
        return False
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Flask gives the app's logger (named after the package) a handler of its own when it
    # finds none; ours on the root is the one, lest every line be written twice.
    logging.getLogger("mealservice").removeHandler(default_handler)
    # Each scheduled run is logged once by core.scheduler, not again by APScheduler.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    return True


def init_app(app: Flask) -> None:
    """Log every request, and configure the logs of a process when it serves its first
    one (a command such as seed-demo keeps Python's quiet default; the scheduler
    configures them itself). Called after the hook that loads the caller, so the
    caller's id and role are noted while they are fresh."""
    request_started.connect(_start_request, app)
    app.before_request(_note_caller)
    app.after_request(_send_request_id)
    request_finished.connect(_log_request, app)


_configured = False
_configuring = threading.Lock()


def _start_request(app: Flask, **_extra) -> None:
    global _configured
    if not _configured:
        with _configuring:
            if not _configured:
                configure_logging(log_format_of(app))
                _configured = True
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _note_caller() -> None:
    user = g.get("user")
    if user is not None:
        g.log_caller = (user.id, str(user.role))


def _send_request_id(response: Response) -> Response:
    if g.get("request_id"):
        response.headers["X-Request-ID"] = g.request_id
    return response


def _log_request(_sender, response: Response, **_extra) -> None:
    """After every after_request hook, so the status is the one sent (the commit hook
    can still turn a 200 into a 409)."""
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    route = request.url_rule.rule if request.url_rule is not None else None
    user_id, role = g.get("log_caller") or (None, None)
    # A load balancer asks /healthz every few seconds; only its failures are news.
    quiet = request.endpoint == "health.healthz" and response.status_code == 200
    request_log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s %s %sms",
        request.method,
        route or "(no route)",
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": user_id,
            "role": role,
        },
    )


def route() -> str | None:
    """The current request's route template, for log lines that name where they were."""
    return request.url_rule.rule if has_request_context() and request.url_rule else None
