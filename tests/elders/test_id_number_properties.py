"""Properties of the GB 11643 check over generated numbers: every well-formed number with
its check character passes and tells its birth date, and no single mistyped character
slips through (the weights are all non-zero mod 11, so one changed digit always moves the
check character)."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mealservice.core.idnumber import (
    InvalidIdNumber,
    birth_date_of,
    make_id_number,
    normalise_id_number,
)

TODAY = date(2026, 11, 25)
bounded = settings(derandomize=True, max_examples=300, deadline=None, database=None)

regions = st.text(alphabet="0123456789", min_size=6, max_size=6)
births = st.dates(min_value=date(1880, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)
numbers = st.builds(make_id_number, regions, births, sequences)

# What a hand, a scanner or an input method might put in place of a character: other
# digits, X either way, letters, spaces, and digits that are not ASCII.
replacements = st.one_of(
    st.sampled_from("0123456789Xx"),
    st.sampled_from(" -/Oo\uff10\uff11\uff19\u0661\u00b2\u2460"),
    st.characters(codec="utf-8"),
)


@bounded
@given(regions, births, sequences)
def test_a_well_formed_number_passes_and_tells_its_birth_date(region, born, sequence):
    number = make_id_number(region, born, sequence)
    assert normalise_id_number(number, today=TODAY) == number
    assert normalise_id_number(number.lower(), today=TODAY) == number
    assert normalise_id_number(f" {number}\n", today=TODAY) == number
    assert birth_date_of(number) == born


@bounded
@given(numbers, st.integers(min_value=0, max_value=17), replacements)
def test_any_single_changed_character_is_refused(number, position, replacement):
    if replacement.upper() == number[position]:
        return  # the same character (a lower-case x for X), not a change
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidIdNumber):
        normalise_id_number(changed, today=TODAY)


@bounded
@given(numbers, st.integers(min_value=0, max_value=15))
def test_two_neighbouring_digits_swapped_are_refused_unless_equal(number, position):
    # Neighbours always have different weights, so mod 11 also catches this other slip.
    if number[position] == number[position + 1]:
        return
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    with pytest.raises(InvalidIdNumber):
        normalise_id_number(swapped, today=TODAY)


@bounded
@given(regions, st.dates(min_value=TODAY.replace(day=26), max_value=date(2099, 12, 31)), sequences)
def test_a_birth_date_after_today_is_refused(region, born, sequence):
    with pytest.raises(InvalidIdNumber, match="possible birth date"):
        normalise_id_number(make_id_number(region, born, sequence), today=TODAY)
