"""One error format: domain refusals and HTTP errors become the API's JSON error body,
or an HTML page for people, depending on where the request was sent."""

import logging

from flask import (
    Flask,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as NoSuchRoute

from mealservice.core import logs

log = logging.getLogger(__name__)

DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}


class ApiError(Exception):
    """A refusal the caller can act on: status, snake_case code, a human sentence."""

    # Headers the answer carries besides the body: 405's Allow, 429's Retry-After.
    headers: dict[str, str] | None = None

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict | None = None,
        detail: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.detail = detail

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        if self.detail:
            error["detail"] = self.detail
        return {"error": error}


class NotFound(ApiError):
    def __init__(self, what: str = "object"):
        super().__init__(404, "not_found", f"No such {what}.")


class Forbidden(ApiError):
    def __init__(self, message: str = "Your role may not do this."):
        super().__init__(403, "forbidden", message)


class Unauthorized(ApiError):
    def __init__(self, message: str = "Log in or send a valid bearer token."):
        super().__init__(401, "unauthorized", message)


class Conflict(ApiError):
    def __init__(self, code: str, message: str, detail: dict | None = None):
        super().__init__(409, code, message, detail=detail)


class ValidationFailed(ApiError):
    def __init__(self, fields: dict[str, list[str]], message: str | None = None):
        names = ", ".join(sorted(fields))
        super().__init__(
            422, "validation_error", message or f"Invalid input: {names}.", fields=fields
        )


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as `{"location.lat": ["..."]}`."""
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "_schema": list(messages)}
        flat: dict[str, list[str]] = {}
        for index, item in enumerate(messages):
            flat.update(flatten_messages(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    if isinstance(messages, dict):
        flat = {}
        for key, value in messages.items():
            flat.update(flatten_messages(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "_schema": [str(messages)]}


def names_no_route(exc: MethodNotAllowed) -> bool:
    """Whether a 405 is really a path that names nothing. Werkzeug judges the method before
    the path's converters, so `GET /claims/0/samples` is "405, POST only" because a POST
    rule has the same shape, although no rule takes 0 as an id."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in exc.valid_methods or ():
        try:
            adapter.match(method=method)
        except (NoSuchRoute, MethodNotAllowed):
            continue
        except HTTPException:
            pass  # a redirect: the path exists in another form
        return False
    return bool(exc.valid_methods)


def from_http_exception(exc: HTTPException) -> ApiError:
    if isinstance(exc, MethodNotAllowed) and names_no_route(exc):
        exc = NoSuchRoute()
    error = _refusal_of(exc)
    # What werkzeug's own answer would carry (a 405's Allow), the body's type aside.
    error.headers = {
        name: value for name, value in exc.get_headers() if name.lower() != "content-type"
    }
    return error


def _refusal_of(exc: HTTPException) -> ApiError:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if exc.code in (400, 422) and messages and not isinstance(exc, CSRFError):
        # webargs nests messages under the location (json, query, files...).
        fields: dict[str, list[str]] = {}
        for location, location_messages in messages.items():
            if isinstance(location_messages, list):
                # The body as a whole (e.g. not JSON at all) is named by its location.
                fields[location] = [str(m) for m in location_messages]
            else:
                fields.update(flatten_messages(location_messages))
        return ValidationFailed(fields)
    if isinstance(exc, CSRFError):
        # A request carried by the session cookie without proof it came from our pages.
        return ApiError(403, "csrf_failed", f"CSRF check failed: {exc.description}")
    code = exc.code or 500
    return ApiError(code, DEFAULT_CODES.get(code, "error"), exc.description or exc.name)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(error: ApiError):
    if error.status == 401 and not wants_json():
        return redirect(url_for("accounts_pages.login", next=request.full_path.rstrip("?")))
    if wants_json():
        response = jsonify(error.body())
        response.status_code = error.status
    else:
        html = render_template(
            "errors/error.html", status=error.status, message=_page_message(error)
        )
        response = make_response(html, error.status)
    if error.status == 401 and wants_json():
        response.headers["WWW-Authenticate"] = "Bearer"
    response.headers.update(error.headers or {})
    return response


def _page_message(error: ApiError) -> str:
    if error.code == "csrf_failed":
        return _("The form has expired. Please go back, reload the page and try again.")
    by_status = {
        401: _("Please log in first."),
        403: _("You are not allowed to do this."),
        404: _("The page you asked for does not exist or is not yours to see."),
        429: _(
            "Too many login attempts. Wait a quarter of an hour and try again, or ask your"
            " manager to check your account."
        ),
        500: _("Something went wrong on our side. Please try again."),
    }
    return by_status.get(error.status, error.message)


def _rollback() -> None:
    # Before an error page is drawn: a failed statement leaves PostgreSQL's transaction
    # refusing every further query. Reached through the app, as errors sit below core.db.
    current_app.extensions["sqlalchemy"].session.rollback()


# PostgreSQL's query_canceled (the request's statement_timeout) and lock_not_available.
DEADLINE_SQLSTATES = {"57014": "request_deadline", "55P03": "lock_timeout"}


def busy_refusal(exc: OperationalError) -> ApiError | None:
    """A 503 for a request that ran out of time waiting for the database (its deadline on
    PostgreSQL, the busy timeout on SQLite): nothing was written, and a repeat may succeed.
    None for any other database failure."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    why = DEADLINE_SQLSTATES.get(sqlstate)
    if why is None and "database is locked" in str(exc.orig):
        why = "database_locked"
    if why is None:
        return None
    return ApiError(503, "busy", "The service is busy; try again in a moment.", detail={"why": why})


def too_large() -> ApiError:
    """413 naming the limit the request went over: its body's (MAX_CONTENT_LENGTH or the
    view's own, core.limits), else a form field's or the number of a form's parts."""
    limit = request.max_content_length
    declared = request.content_length
    if limit is not None and (declared is None or declared > limit):
        return ApiError(
            413,
            "payload_too_large",
            f"The request body is larger than the limit of {limit} bytes.",
            detail={"limit_bytes": limit, "limit": _size(limit)},
        )
    fields = request.max_form_memory_size
    return ApiError(
        413,
        "payload_too_large",
        f"A form field is larger than {fields} bytes, or the form has too many parts.",
        detail={"limit_bytes": fields, "limit": _size(fields), "max_parts": request.max_form_parts},
    )


def _size(count: int | None) -> str:
    if count is None:
        return "?"
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.3g} MB"
    return f"{count / 1024:.3g} KB"


def register_error_handlers(app: Flask) -> None:

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        _rollback()
        return error_response(error)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        _rollback()
        return error_response(from_http_exception(exc))

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(exc: RequestEntityTooLarge):
        _rollback()
        error = too_large()
        if not wants_json():
            error.message = _(
                "What you sent is larger than this page takes (at most %(size)s)."
                " Go back and send a smaller file, or split it into several.",
                size=error.detail["limit"],
            )
        return error_response(error)

    @app.errorhandler(DataError)
    def handle_data_error(exc: DataError):
        # A value the schemas let through but the database cannot hold: still the
        # caller's input, so a 422 rather than a 500.
        _rollback()
        # The route, not the path; the error without the values it was given.
        log.warning(
            "database refused a value on %s %s: %s",
            request.method,
            logs.route(),
            logs.describe_exception(exc),
        )
        return error_response(
            ApiError(422, "validation_error", "A value is out of range or malformed.")
        )

    @app.errorhandler(OperationalError)
    def handle_operational_error(exc: OperationalError):
        busy = busy_refusal(exc)
        if busy is None:
            return handle_unexpected(exc)
        _rollback()
        log.warning("%s %s gave up waiting: %s", request.method, logs.route(), busy.detail)
        response = error_response(busy)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        _rollback()
        log.exception("unhandled error on %s %s", request.method, logs.route())
        return error_response(ApiError(500, "internal_error", "Something went wrong on our side."))
