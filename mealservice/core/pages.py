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


@bp.get("/")
def home():
    if current_user() is None:
        return redirect(url_for("accounts_pages.login"))
    return redirect(url_for("places_pages.canteen_list"))


@bp.get("/lang/<code>")
def switch_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.args.get("next") or request.referrer or ""
    # Only ever send people back to a page of this site: the path of whatever was given.
    path = urlsplit(target)._replace(scheme="", netloc="").geturl()
    return redirect(local_path(path) or url_for("core.home"))
