"""The current-user loader: before every request, who is calling. Registered by the
app factory; core's auth reads the answer from `g.user`."""

from flask import g, request, session

from mealservice.accounts.services import user_for_session, user_for_token
from mealservice.core.audit import actor_awaited, name_actor_now
from mealservice.core.auth import bearer_token
from mealservice.extensions import csrf


def load_current_user() -> None:
    """Before every request: who is calling, by bearer token or by session cookie.

    Requests carried by the session cookie must prove they came from our own pages
    (CSRF token in the form or the X-CSRFToken header); a bearer token is not sent
    by browsers on their own, so those calls need no CSRF token."""
    g.user = None
    g.bad_token = False
    # On PostgreSQL the transaction the look-up begins is named once, with the caller.
    with actor_awaited():
        _look_up_caller()
    name_actor_now(g.user.username if g.user is not None else None)
    if bearer_token() is not None:
        return
    if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and (
        g.user is not None or not request.path.startswith("/api/")
    ):
        csrf.protect()


def _look_up_caller() -> None:
    token = bearer_token()
    if token is not None:
        g.user = user_for_token(token)
        g.bad_token = g.user is None
        return
    if "user_id" in session:
        g.user = user_for_session(session["user_id"], session.get("epoch"))
        if g.user is None:
            session.clear()
