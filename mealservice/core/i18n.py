"""Language and time for people: Chinese by default with an English switch, times shown
in the district's zone, money shown in yuan."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, session
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from mealservice.core.auth import current_user, may


def select_locale() -> str:
    lang = session.get("lang")
    return (
        lang
        if lang in current_app.config["LANGUAGES"]
        else current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def local_time(
    value: datetime | None, timezone: str | None = None, fmt: str = "%Y-%m-%d %H:%M"
) -> str:
    if value is None:
        return ""
    zone = ZoneInfo(timezone or current_app.config["TIMEZONE"])
    return value.astimezone(zone).strftime(fmt)


def yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def tel_href(phone: str) -> str:
    """The link that dials a phone number as people write it: a tel: URI allows dashes
    between the digits but no spaces."""
    return "tel:" + "".join(phone.split())


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(yuan, "yuan")
    app.add_template_filter(label, "label")
    app.add_template_filter(tel_href, "tel_href")
    app.add_template_global(SLOT_WORDS, "slot_words")
    app.add_template_global(TAG_WORDS, "tag_words")
    app.add_template_global(generate_csrf, "csrf_token")

    @app.context_processor
    def page_context():
        return {"current_user": current_user(), "may": may, "locale": select_locale()}


# The meal slots and the menu options' diet tags as people read them, on every page.
SLOT_WORDS = {"breakfast": _l("Breakfast"), "lunch": _l("Lunch"), "dinner": _l("Dinner")}
TAG_WORDS = {
    "soft": _l("Soft"),
    "low_salt": _l("Low salt"),
    "low_sugar": _l("Low sugar"),
    "low_fat": _l("Low fat"),
    "vegetarian": _l("Vegetarian"),
    "halal": _l("Halal"),
}

# How stored codes read to people; codes stay English in the API.
LABELS = {
    "canteen": _l("Elder canteen"),
    "meal_point": _l("Community meal point"),
    "dining_table": _l("Elder dining table"),
    "rural_point": _l("Rural meal point"),
    "cooking": _l("Cooking"),
    "dine_in": _l("Dine-in"),
    "delivery": _l("Delivery"),
    "public_run": _l("Public-run"),
    "public_private": _l("Public-built, privately run"),
    "commissioned": _l("Commissioned"),
    "private": _l("Private"),
    "charity": _l("Charity"),
    "village_collective": _l("Village collective"),
    "admin": _l("Administrator"),
    "official": _l("District official"),
    "manager": _l("Canteen manager"),
    "cashier": _l("Cashier"),
    "family": _l("Family"),
    "elder": _l("Elder"),
    "volunteer": _l("Volunteer"),
    "inspector": _l("Inspector"),
}


def label(code: str) -> str:
    return str(LABELS.get(code, code))
