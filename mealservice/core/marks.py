"""The marks decorators set on view functions (a larger body limit, reads before writes,
the login limits), read for the request being served."""

from flask import current_app, request


def mark_of(name: str, default=None):
    """The mark `name` of the view serving this request, else `default`. A MethodView's
    methods carry the mark, not the view function Flask registered."""
    view = current_app.view_functions.get(request.endpoint)
    method = getattr(getattr(view, "view_class", None), request.method.lower(), view)
    return getattr(method, name, default)
