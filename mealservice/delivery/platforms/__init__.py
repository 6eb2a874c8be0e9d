"""The registry of delivery platforms: one adapter class per kind, one configured
platform per name in DELIVERY_PLATFORMS (redash's destinations are the model)."""

from mealservice.delivery.platforms import simulator
from mealservice.delivery.platforms.base import Platform, configured_platforms, parse_platforms
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


# A platform's secret is what stops anyone else signing its reports (`delivered` turns an
# order into a subsidised meal): shorter than this, or one published in this repository,
# is no secret.
MIN_SECRET_LENGTH = 16
PUBLISHED_SECRETS = frozenset(simulator.DEFAULTS[name] for name in ("api_key", "webhook_secret"))


def unsafe_platform_settings(raw: str | dict) -> list[str]:
    """What keeps DELIVERY_PLATFORMS from production, one sentence per problem naming the
    platform and the setting: an unknown adapter, or a secret that is missing, short or
    published (the simulator's defaults, which its adapter fills in when none is given)."""
    problems = []
    for name, settings in parse_platforms(raw).items():
        adapter = ADAPTERS.get(settings.get("adapter", "http"))
        if adapter is None:
            problems.append(
                f"platform {name!r}: adapter {settings.get('adapter')!r} is not one of "
                + ", ".join(ADAPTERS)
            )
            continue
        effective = adapter(name, settings).settings
        for key in adapter.SECRETS:
            value = effective.get(key)
            if not isinstance(value, str) or not value:
                problems.append(f"platform {name!r}: {key} is missing")
            elif value in PUBLISHED_SECRETS:
                problems.append(f"platform {name!r}: {key} is the simulator's published default")
            elif len(value) < MIN_SECRET_LENGTH:
                problems.append(
                    f"platform {name!r}: {key} is shorter than {MIN_SECRET_LENGTH} characters"
                )
    return problems
