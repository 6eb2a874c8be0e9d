"""The registry of delivery platforms: one adapter class per kind, one configured
platform per name in DELIVERY_PLATFORMS (redash's destinations are the model)."""

from mealservice.delivery.platforms.base import Platform, configured_platforms
from mealservice.delivery.platforms.http import HttpPlatform
from mealservice.delivery.platforms.simulator import SimulatorPlatform
from mealservice.delivery.platforms.volunteer import VolunteerPlatform

ADAPTERS: dict[str, type[Platform]] = {
    "http": HttpPlatform,
    "simulator": SimulatorPlatform,
    "volunteer": VolunteerPlatform,
}


def platform_for(name: str) -> Platform:
    """The configured platform called `name`; KeyError when none is (the webhook answers
    404, a run for it is refused). Built per call: configuration may differ per app."""
    settings = configured_platforms()[name]
    adapter = ADAPTERS[settings.get("adapter", "http")]
    return adapter(name, settings)
