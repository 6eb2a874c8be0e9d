"""The local simulator (`python -m tools.delivery_simulator`) spoken to as any HTTP
platform, with the defaults it starts with, so a bare {"adapter": "simulator"} works."""

from mealservice.delivery.platforms.http import HttpPlatform

DEFAULTS = {
    "base_url": "http://127.0.0.1:5055",
    "api_key": "simulator-key",
    "webhook_secret": "simulator-secret",
}


class SimulatorPlatform(HttpPlatform):
    adapter = "simulator"

    def __init__(self, name: str, settings: dict):
        super().__init__(name, {**DEFAULTS, **settings})
