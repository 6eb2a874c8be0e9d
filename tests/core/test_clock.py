"""The one clock: tests set it, processes the tests start take it from MEALSERVICE_NOW,
production never moves it."""

from datetime import UTC, datetime, timedelta

import pytest

from config import ProductionConfig
from mealservice import create_app
from mealservice.core import clock
from tests.core.test_config import with_secrets


@pytest.fixture
def restored_clock():
    yield
    clock.start_from_environment({})


@pytest.mark.now("2027-01-01T08:00:00+08:00")
def test_a_test_states_its_instant_and_the_clock_runs_from_it():
    assert abs(clock.utcnow() - datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) < timedelta(seconds=5)


def test_a_process_started_with_an_instant_runs_from_it(restored_clock):
    clock.start_from_environment({clock.ENVIRONMENT_VARIABLE: "2028-02-29T12:00:00+08:00"})
    assert abs(clock.utcnow() - datetime(2028, 2, 29, 4, 0, tzinfo=UTC)) < timedelta(seconds=5)
    clock.start_from_environment({})
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(seconds=1)


def test_an_instant_without_an_offset_is_refused(restored_clock):
    with pytest.raises(ValueError, match="offset"):
        clock.start_from_environment({clock.ENVIRONMENT_VARIABLE: "2027-01-01T08:00:00"})


def test_production_refuses_a_moved_clock(monkeypatch):
    with_secrets(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv(clock.ENVIRONMENT_VARIABLE, "2027-01-01T08:00:00+08:00")
    with pytest.raises(RuntimeError, match="never in production"):
        create_app(ProductionConfig)
