"""What pages read from people: a number (an id, a page), a date, an amount typed in yuan."""

import re
from datetime import date

from flask import request
from flask_babel import gettext as _
from wtforms import StringField

from mealservice.core.schemas import MAX_ID

# Up to 9,999,999.99 yuan, at most two decimals.
YUAN = re.compile(r"(\d{1,7})(?:\.(\d{1,2}))?")
# A whole number typed or sent by a page: ASCII digits (str.isdigit() also takes "²",
# which int() refuses), no more of them than an id has, so a wall of pasted digits is "not
# a number" rather than a 500 from int() or a value no column holds.
WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")
MAX_PAGE = 1_000_000


def number_of(text: str | None, maximum: int = MAX_ID) -> int | None:
    """`text` as a whole number from 0 to `maximum` (an id's range by default); None when
    it is missing or anything else."""
    text = (text or "").strip()
    if WHOLE_NUMBER.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= maximum else None


def kept_query_args(names, **changes) -> dict:
    """A list page's filters (`names`) from the query string, with `changes` made and the
    empty ones left out: the arguments of its pager's links."""
    kept = {name: request.args.get(name) for name in names}
    return {name: value for name, value in {**kept, **changes}.items() if value}


def page_arg() -> int:
    """The `page` of the query string; 1 when it is missing or not a page number."""
    return max(number_of(request.args.get("page"), MAX_PAGE) or 1, 1)


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
