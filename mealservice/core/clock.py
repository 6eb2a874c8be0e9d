"""The one clock every layer reads: "now" in UTC.

Nothing in the service asks the operating system or the database for the time; it asks
here. In the test suite a fixture moves this clock (time-machine patches the process's
clock underneath it). A process started by the tests or the demo tools — a live server,
the scheduler, the platform simulator — takes its instant from the environment:
`MEALSERVICE_NOW`, an ISO 8601 instant with an offset, from which its clock then runs on
at the normal pace. Production never sets it (config refuses it there)."""

import os
from datetime import UTC, datetime, timedelta

ENVIRONMENT_VARIABLE = "MEALSERVICE_NOW"

# How far this process's clock runs from the operating system's: zero unless the
# environment named an instant to start from.
_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant that names its offset ("2026-12-07T09:00:00+08:00")."""
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{ENVIRONMENT_VARIABLE} needs an offset or Z: {value!r}")
    return instant.astimezone(UTC)


def start_from_environment(environ=os.environ) -> None:
    """Start this process's clock at `MEALSERVICE_NOW`, when it is set; called once as a
    process starts (create_app, the simulator's main)."""
    global _offset
    value = environ.get(ENVIRONMENT_VARIABLE)
    _offset = parse_instant(value) - datetime.now(UTC) if value else timedelta(0)
