"""Request body limits, judged before anything reads a body.

Every request may send at most MAX_CONTENT_LENGTH bytes; a view that takes more (an
upload) names its own limit with `@body_limit("CONFIG_KEY")`. The limit is judged in the
first hook of every request: a declared Content-Length over it is refused with 413 before
the CSRF check, the login or a webhook's signature reads a byte. A body sent without
Content-Length (chunked) is cut off by Werkzeug at the same limit as it streams in."""

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from mealservice.core.marks import mark_of


def body_limit(config_key: str):
    """Mark a view whose body may be larger than MAX_CONTENT_LENGTH: at most the value of
    the setting `config_key`. Put it next to the function, under the routing decorators."""

    def mark(view):
        view.body_limit = config_key
        return view

    return mark


def limit_request_body() -> None:
    """Before every other hook: the request's limit set for Werkzeug (which enforces it
    while reading), and a Content-Length over it refused at once."""
    key = mark_of("body_limit")
    if key is not None:
        request.max_content_length = current_app.config[key]
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    # First of all the app's hooks, ahead of those the extensions registered before.
    app.before_request_funcs.setdefault(None, []).insert(0, limit_request_body)
