from datetime import date

import pytest

from mealservice.core.idnumber import (
    InvalidIdNumber,
    age_on,
    birth_date_of,
    make_id_number,
    mask_id_number,
    normalise_id_number,
)
from tests import factories
from tests.core.test_errors import assert_error

# The worked example of GB 11643-1999's appendix.
STANDARD_EXAMPLE = "11010519491231002X"


def test_the_standards_own_example_passes():
    assert normalise_id_number(STANDARD_EXAMPLE) == STANDARD_EXAMPLE


def test_a_lower_case_x_is_accepted_and_made_upper_case():
    assert normalise_id_number("11010519491231002x") == STANDARD_EXAMPLE


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1101051949123100", "18 characters"),
        ("1101051949123100X2", "17 digits"),
        # Digits other than ASCII ones: int() reads some, and the person would be stored
        # twice under two spellings; int() fails on others.
        ("\uff11101051949123100\uff12X", "17 digits"),
        ("\u0661\u0661010519491231002X", "17 digits"),
        ("\u00b2\u00b2010519491231002X", "17 digits"),
        ("11010519491332002X", "real birth date"),
        ("110105194902300028", "real birth date"),
        ("110105209901010018", "possible birth date"),
        ("110105194912310021", "check character"),
        ("11010519491231003X", "check character"),
    ],
)
def test_bad_numbers_are_refused_with_the_reason(value, reason):
    with pytest.raises(InvalidIdNumber, match=reason):
        normalise_id_number(value, today=date(2026, 11, 24))


def test_the_birth_date_comes_from_characters_7_to_14():
    assert birth_date_of(STANDARD_EXAMPLE) == date(1949, 12, 31)


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(1949, 12, 31), date(2026, 12, 30), 76),
        (date(1949, 12, 31), date(2026, 12, 31), 77),
        (date(1956, 2, 29), date(2026, 2, 28), 69),
        (date(1956, 2, 29), date(2026, 3, 1), 70),
        (date(1956, 2, 29), date(2028, 2, 29), 72),
    ],
)
def test_age_is_counted_on_the_day_of_the_meal(born, on, age):
    assert age_on(born, on) == age


def test_masking_keeps_only_the_last_four():
    assert mask_id_number(STANDARD_EXAMPLE) == "**************002X"


def test_made_up_numbers_are_valid():
    number = make_id_number("330106", date(1946, 5, 17), 123)
    assert normalise_id_number(number) == number
    assert birth_date_of(number) == date(1946, 5, 17)


@pytest.mark.parametrize("number", ["\uff11\uff11010519491231002X", "\u00b2101051949123100\u00b2X"])
def test_an_elder_with_digits_other_than_ascii_ones_is_refused_naming_the_id_number(
    login_as, district, number
):
    body = factories.elder_data(district, id_number=number)
    error = assert_error(
        login_as("admin").post("/api/v1/elders", json=body), 422, "validation_error"
    )
    assert "id_number" in error["fields"]


@pytest.mark.now("2027-01-01T08:00:00+08:00")
def test_a_birth_date_after_today_on_the_services_clock_is_refused():
    born_today = make_id_number("110105", date(2027, 1, 1), 1)
    assert normalise_id_number(born_today) == born_today
    with pytest.raises(InvalidIdNumber, match="possible birth date"):
        normalise_id_number(make_id_number("110105", date(2027, 1, 2), 1))
