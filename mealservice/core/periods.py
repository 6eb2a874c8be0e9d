"""Months, as the API and the pages name them ("YYYY-MM"), and the dates they span."""

import re
from calendar import monthrange
from datetime import date, timedelta

# "YYYY-MM": the form every month takes, in the API and in the pages' query strings. Only
# this century's: year 0 is no date at all, and the first and last months a date can hold
# have no month before or after them to compute with.
MONTH_PATTERN = r"20\d{2}-(0[1-9]|1[0-2])"


def is_month(text: str) -> bool:
    return re.fullmatch(MONTH_PATTERN, text) is not None


def month_bounds(month: str) -> tuple[date, date]:
    """ "2026-10" → (2026-10-01, 2026-10-31)."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, monthrange(year, number)[1])


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def previous_month(day: date) -> str:
    return month_of(day.replace(day=1) - timedelta(days=1))


def months_ending(month: str, count: int) -> list[str]:
    """ "2026-02", 3 → ["2025-12", "2026-01", "2026-02"]."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]
