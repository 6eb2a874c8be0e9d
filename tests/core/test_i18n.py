from datetime import UTC, datetime

import pytest

from mealservice.core.i18n import local_time, yuan


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (1250, "¥12.50"),
        (1_500_000, "¥15,000.00"),
        (-300, "-¥3.00"),
        (None, ""),
    ],
)
def test_money_is_shown_in_yuan_from_integer_fen(fen, shown):
    assert yuan(fen) == shown


def test_times_are_shown_in_the_districts_zone(app):
    noon_utc = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    with app.app_context():
        assert local_time(noon_utc) == "2026-11-24 12:00"
        assert local_time(noon_utc, "Asia/Urumqi") == "2026-11-24 10:00"
        assert local_time(datetime(2026, 11, 24, 20, 0, tzinfo=UTC)) == "2026-11-25 04:00"
