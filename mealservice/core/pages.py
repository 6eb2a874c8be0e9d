from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request, session, url_for

from mealservice.core.auth import current_user

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    if current_user() is None:
        return redirect(url_for("accounts_pages.login"))
    return redirect(url_for("places_pages.canteen_list"))


@bp.get("/lang/<code>")
def switch_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.args.get("next") or request.referrer or url_for("core.home")
    # Only ever send people back to a page of this site.
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        target = url_for("core.home")
    return redirect(parts._replace(scheme="", netloc="").geturl() or "/")
