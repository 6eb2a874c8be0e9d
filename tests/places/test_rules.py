"""The pure rules of places, tested without HTTP."""

import pytest

from mealservice.places.geo import bounding_box, distance_m
from mealservice.places.models import DEFAULT_STANDARDS
from mealservice.places.services import slot_window_errors, standard_violations


@pytest.mark.parametrize(
    ("kind", "seats", "area", "fields"),
    [
        ("canteen", 50, 50, set()),
        ("canteen", 49, 50, {"seats_per_meal"}),
        ("canteen", 50, 49.9, {"dining_area_m2"}),
        ("canteen", 10, 20, {"seats_per_meal", "dining_area_m2"}),
        ("meal_point", 10, 20, set()),
        ("meal_point", 9, 20, {"seats_per_meal"}),
        ("meal_point", 10, 19, {"dining_area_m2"}),
        ("dining_table", 1, 0, set()),
        ("rural_point", 1, 0, set()),
    ],
)
def test_policy_standards_by_kind(kind, seats, area, fields):
    assert set(standard_violations(DEFAULT_STANDARDS, kind, seats, area)) == fields


def test_a_district_may_set_its_own_standard():
    strict = {**DEFAULT_STANDARDS, "meal_point": {"min_seats": 20, "min_dining_area_m2": 30}}
    errors = standard_violations(strict, "meal_point", 15, 40)
    assert errors == {"seats_per_meal": ["A meal point must serve at least 20 people per meal."]}


@pytest.mark.parametrize(
    ("windows", "errors"),
    [
        ({"breakfast": ["06:00", "09:30"], "lunch": ["10:30", "13:30"]}, {}),
        ({"lunch": ["13:30", "10:30"]}, {"lunch": ["The window must start before it ends."]}),
        (
            {"lunch": ["10:30", "13:30"], "dinner": ["13:00", "19:00"]},
            {"dinner": ["The window overlaps lunch."]},
        ),
        (
            {"breakfast": ["06:00", "11:00"], "dinner": ["10:00", "19:00"]},
            {"dinner": ["The window overlaps breakfast."]},
        ),
    ],
)
def test_slot_windows_must_be_ordered(windows, errors):
    assert slot_window_errors(windows) == errors


def test_distances_are_great_circle_metres():
    # West Lake's Broken Bridge to Leifeng Pagoda, about 2.9 km apart.
    assert 2800 < distance_m(30.2590, 120.1520, 30.2317, 120.1487) < 3100
    assert distance_m(30.0, 120.0, 30.0, 120.0) == 0


def test_the_bounding_box_holds_the_circle():
    south, north, west, east = bounding_box(30.27, 120.14, 1000)
    for lat, lng in ((south, 120.14), (north, 120.14), (30.27, west), (30.27, east)):
        assert 990 <= distance_m(30.27, 120.14, lat, lng) <= 1010
