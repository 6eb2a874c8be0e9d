from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request, session, url_for

from mealservice.core.auth import current_user

bp = Blueprint("core", __name__)

# Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so a
# path holding one may leave the site (`/\t/evil.example` becomes `//evil.example`).
UNSAFE_IN_PATH = frozenset("\t\r\n\\")


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, to send someone back to; else None."""
    if not target or not target.isprintable() or UNSAFE_IN_PATH & set(target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return target if not (parts.scheme or parts.netloc) else None


# Each role's home: the page a person of that role starts from, after logging in and from
# every "back to the start". The package that owns the homes fills this in (core knows no
# business pages); a role without one starts at the meal places.
HOMES: dict[str, Callable[[object], str]] = {}


def home_url(user) -> str:
    """Where `user` starts: their role's home."""
    url_of = HOMES.get(user.role)
    return url_of(user) if url_of is not None else url_for("places_pages.canteen_list")


@bp.get("/")
def home():
    user = current_user()
    if user is None:
        return redirect(url_for("accounts_pages.login"))
    return redirect(home_url(user))


@bp.get("/lang/<code>")
def switch_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.args.get("next") or request.referrer or ""
    # Only ever send people back to a page of this site: the path of whatever was given.
    path = urlsplit(target)._replace(scheme="", netloc="").geturl()
    return redirect(local_path(path) or url_for("core.home"))
