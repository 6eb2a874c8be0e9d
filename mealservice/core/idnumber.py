"""The 18-character resident ID number (身份证号, GB 11643-1999).

Characters 1-6 are the region code, 7-14 the birth date (YYYYMMDD), 15-17 a sequence
number (odd for men, even for women) and 18 a check character: the sum of the first 17
digits weighted 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, mod 11, indexes "10X98765432".
"""

import re
from datetime import date

from mealservice.core.clock import utcnow

# ASCII only: str.isdigit() also takes full-width, Arabic-Indic and superscript digits,
# which would store the same person under a second spelling (or fail int()).
FORM = re.compile(r"[0-9]{17}[0-9X]")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


class InvalidIdNumber(ValueError):
    """The reason, in a sentence fit for the caller."""


def check_character(first17: str) -> str:
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise_id_number(value: str, today: date | None = None) -> str:
    """The number in its canonical form (upper-case X), or InvalidIdNumber saying why."""
    number = value.strip().upper()
    if len(number) != 18:
        raise InvalidIdNumber("An ID number has 18 characters.")
    if not FORM.fullmatch(number):
        raise InvalidIdNumber("An ID number is 17 digits and a digit or X.")
    try:
        born = birth_date_of(number)
    except ValueError:
        raise InvalidIdNumber("Characters 7-14 are not a real birth date.") from None
    if born > (today or utcnow().date()) or born.year < 1880:
        raise InvalidIdNumber("Characters 7-14 are not a possible birth date.")
    if check_character(number[:17]) != number[17]:
        raise InvalidIdNumber("The check character does not match; is a digit mistyped?")
    return number


def birth_date_of(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years on a date; someone born on 29 February turns a year older on
    1 March in common years."""
    had_birthday = (on.month, on.day) >= (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (0 if had_birthday else 1)


MASKED_LENGTH = 18
SHOWN = 4


def mask_id_number(number: str) -> str:
    """The only form ever shown: the last four characters, e.g. **************1234.

    Nothing of the region (characters 1-6) or the birth date (7-14) is kept: with the age
    and the district every role may see, a mask holding more narrows the number to a
    handful of people (PIPL art. 6; API.md, "Personal data")."""
    return "*" * (MASKED_LENGTH - SHOWN) + number[-SHOWN:]


def make_id_number(region: str, birth_date: date, sequence: int) -> str:
    """A valid number for demo and test data (never a real person's by construction:
    callers use made-up sequences)."""
    first17 = f"{region}{birth_date:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_character(first17)
