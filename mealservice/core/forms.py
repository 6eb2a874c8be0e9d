"""What pages read from people: a page number, a date, an amount typed in yuan."""

import re
from datetime import date

from flask import request
from flask_babel import gettext as _
from wtforms import StringField

# Up to 9,999,999.99 yuan, at most two decimals.
YUAN = re.compile(r"(\d{1,7})(?:\.(\d{1,2}))?")


def page_arg() -> int:
    """The `page` of the query string; 1 when it is missing or not a page number."""
    text = request.args.get("page", "")
    return max(int(text), 1) if text.isdigit() else 1


def date_arg(default: date, errors: list[str], name: str = "date") -> date:
    """The query string's date, else `default`; a date that does not parse is said in
    `errors` and the default is used."""
    text = request.args.get(name)
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(_("The date must look like 2026-11-24."))
        return default


def yuan_error() -> str:
    return _("Enter an amount in yuan, such as 12.50.")


def yuan_to_fen(text: str) -> int:
    """ "12.5" → 1250: digits only, never through a float, so no cent is lost."""
    match = YUAN.fullmatch(text.strip().replace("¥", "").replace("￥", ""))
    if match is None:
        raise ValueError(text)
    whole, cents = match.groups()
    return int(whole) * 100 + int((cents or "").ljust(2, "0"))


def fen_to_yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class YuanField(StringField):
    """An amount typed in yuan, held as integer fen (None when left empty)."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.raw_text = text
        if not text:
            self.data = None
            return
        try:
            self.data = yuan_to_fen(text)
        except ValueError:
            self.data = None
            raise ValueError(yuan_error()) from None

    def _value(self):
        if getattr(self, "raw_text", None) is not None:
            return self.raw_text
        return "" if self.data is None else fen_to_yuan_text(self.data)
