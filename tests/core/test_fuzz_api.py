"""Schemathesis against the service's own OpenAPI document, in process: every operation is
called as an admin with generated input, valid and invalid, and no answer may be a 5xx,
carry a status the operation does not declare, or differ from its declared body.

The calls go through the `db` fixture's app context and connection, so whatever they
write is rolled back with the test. Bounded and deterministic: derandomized generation, a
few examples of each kind per operation.

The operations are run from a plain loop with subtests rather than through
`schemathesis.pytest.from_fixture`, which fails on pytest 9.2 (it sets `Node._nodeid`,
gone from pytest's nodes)."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mealservice.delivery.platforms.base import configured_platforms
from tests import factories

# Of each kind (valid input, invalid input): about 600 calls for the 100-odd operations.
EXAMPLES_PER_OPERATION = 3
# Most generated ids name an object of the `world` below; the rest exercise the 404s.
EXISTING_ID_PROBABILITY = 0.8

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def world(db, district, canteen, elder):
    """One of every object a path or a body names, so generated calls get past the 404."""
    other_elder = factories.create_elder(district, canteen.community)
    third_elder = factories.create_elder(district, canteen.community)
    factories.create_policy(district)
    card = factories.create_card(elder)
    sample = factories.create_sample(canteen, elder)
    order = factories.create_order(canteen, elder)
    alert = factories.create_alert(canteen, other_elder)
    standing = factories.create_standing_order(canteen, third_elder)
    terminal = factories.create_terminal(canteen)
    holiday = factories.create_holiday(date_in_october(district), "国庆节")
    blacklisted = factories.create_canteen(district, canteen.community)
    entry = factories.create_blacklist_entry(blacklisted)
    inspection = factories.create_inspection(district)
    run = factories.create_volunteer_run(canteen, factories.create_elder(district))
    cashier = factories.create_user("cashier", canteen=canteen)
    return {
        "code": [district.code],
        "community_code": [canteen.community.code],
        "district": [district.code],
        "community": [canteen.community.code],
        "canteen_id": [canteen.id, blacklisted.id],
        "elder_id": [elder.id, other_elder.id, third_elder.id],
        "card_id": [card.id],
        "day": [holiday.day.isoformat()],
        "menu_id": [order.menu_id],
        "option_id": [order.option_id],
        "meal_id": [sample.meal_id],
        "order_id": [order.id, alert.order_id],
        "standing_order_id": [standing.id],
        "hold_id": [hold.id for hold in standing.holds],
        "terminal_id": [terminal.id],
        "run_id": [run.id],
        "platform": sorted(configured_platforms()),
        "alert_id": [alert.id],
        "claim_id": [sample.claim_id],
        "sample_id": [sample.id],
        "entry_id": [entry.id],
        "inspection_id": [inspection.id],
        "user_id": [cashier.id],
    }


def date_in_october(district):
    return district.local_today().replace(month=10, day=1)


def fuzz_config(world: dict) -> SchemathesisConfig:
    """Parameters and body fields named like the world's objects draw from them."""
    dictionaries = {name: {"values": values} for name, values in world.items() if values}
    parameters = {}
    for name in dictionaries:
        binding = {"dictionary": name, "probability": EXISTING_ID_PROBABILITY}
        parameters[name] = parameters[f"body.{name}"] = binding
    return SchemathesisConfig.from_dict({"dictionaries": dictionaries, "parameters": parameters})


@pytest.fixture
def api_schema(app, world):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=fuzz_config(world))


def test_no_generated_call_fails_or_breaks_the_contract(api_schema, login_as, subtests):
    admin = login_as("admin")
    statuses = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        strategy = st.one_of(operation.as_strategy(generation_mode=mode) for mode in GenerationMode)

        @settings(
            max_examples=EXAMPLES_PER_OPERATION * len(GenerationMode),
            derandomize=True,
            database=None,
            deadline=None,
        )
        @given(case=strategy)
        def call(case):
            # A fresh token each time: some calls log out or revoke the admin's access.
            headers = {"Authorization": f"Bearer {factories.token_for(admin.user)}"}
            response = case.call_and_validate(session=admin.client, headers=headers, checks=CHECKS)
            statuses[response.status_code] += 1
            # Stricter than status_code_conformance, which any status passes once an
            # operation has a `default` response: each status must be named.
            declared = case.operation.definition.raw["responses"]
            assert str(response.status_code) in declared, (
                f"{case.operation.label} answered {response.status_code}, which it does not "
                f"declare: {response.text[:500]}\n{case.as_curl_command()}"
            )

        with subtests.test(operation=operation.label):
            call()
    assert statuses.total() >= 3 * len(operations), statuses
    assert sum(n for status, n in statuses.items() if status < 300) >= len(operations), statuses
