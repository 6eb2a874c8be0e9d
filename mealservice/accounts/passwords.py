"""The password rules, after the usual practice of China's graded protection standard
(GB/T 22239, 等保 2.0) and NIST SP 800-63B: long enough, three kinds of character, not
made from the username, not one of the passwords every attacker tries first."""

import re

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from mealservice.core.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 256
KINDS_NEEDED = 3

# The most common passwords of China's and the world's leaked lists; the checks below
# also catch them with symbols added or dropped.
COMMON = frozenset(
    [
        "123456",
        "123456789",
        "12345678",
        "1234567890",
        "111111",
        "000000",
        "123123",
        "666666",
        "888888",
        "147258369",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "qwerty",
        "qwerty123",
        "qwe123",
        "abc123",
        "abc12345",
        "a123456",
        "a12345678",
        "aa123456",
        "1qaz2wsx",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "zxcvbnm",
        "iloveyou",
        "woaini",
        "woaini1314",
        "woaini520",
        "5201314",
        "1314520",
        "admin",
        "admin123",
        "admin@123",
        "root123",
        "test123",
        "welcome",
        "welcome1",
        "letmein",
        "changeme",
        "huawei123",
        "sunshine",
        "dragon",
    ]
)

_KINDS = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")

# Each refusal in words, translated for the pages and given in English on the API.
REASONS = {
    "too_short": _l("Use at least %(n)s characters.", n=MIN_LENGTH),
    "too_long": _l("Use at most %(n)s characters.", n=MAX_LENGTH),
    "too_few_kinds": _l(
        "Mix at least three of: lowercase letters, capital letters, digits, other characters."
    ),
    "from_username": _l("Do not make the password from the username."),
    "too_common": _l("This password is too common or too simple; choose another."),
    "wrong_current": _l("The current password is wrong."),
    "unchanged": _l("Choose a password different from the current one."),
}


def password_problems(password: str, username: str = "") -> list[str]:
    """The codes of the rules a new password breaks; empty when it is fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    if sum(1 for kind in _KINDS if re.search(kind, password)) < KINDS_NEEDED:
        problems.append("too_few_kinds")
    lowered = password.lower()
    letters = re.sub(r"[^a-z]", "", lowered)
    if username and letters in (username.lower(), username.lower()[::-1]):
        problems.append("from_username")
    stripped = re.sub(r"[^a-z0-9@]", "", lowered)
    if lowered in COMMON or stripped in COMMON or len(set(password)) <= 2:
        problems.append("too_common")
    return problems


def explain(codes: list[str]) -> list[str]:
    return [str(REASONS[code]) for code in codes]


class PasswordRefused(ValidationFailed):
    """A 422 naming the fields in English, keeping the codes for the pages' own words."""

    def __init__(self, codes_by_field: dict[str, list[str]]):
        self.codes_by_field = codes_by_field
        with force_locale("en"):
            super().__init__({field: explain(codes) for field, codes in codes_by_field.items()})
