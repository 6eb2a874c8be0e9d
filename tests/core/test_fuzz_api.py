"""Schemathesis against the service's own OpenAPI document, in process: every operation is
called as an admin with generated input, valid and invalid, and no answer may be a 5xx,
carry a status the operation does not declare, differ from its declared body or headers,
or refuse input the document calls valid (unless a rule no schema can state refuses it:
RULES_NO_SCHEMA_CAN_SAY). Every path's undeclared methods answer 405 with `Allow`
(tests/core/test_method_not_allowed.py walks them).

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
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mealservice.delivery.platforms.base import configured_platforms
from tests import factories

# Of each kind (valid input, invalid input): about 600 calls for the 100-odd operations.
EXAMPLES_PER_OPERATION = 3
# Most generated ids name an object of the `world` below; the rest exercise the 404s.
EXISTING_ID_PROBABILITY = 0.8

# Input the schema allows that a rule no JSON Schema can state still refuses, by operation
# and field: the rule needs the database, the clock or a check character. Every other
# rule is in the OpenAPI document (patterns, lengths, NUL, enums, "one of"), so input
# generated as valid is accepted.
RULES_NO_SCHEMA_CAN_SAY = {
    "POST /api/v1/districts": {"slot_windows": "windows that do not overlap"},
    "PATCH /api/v1/districts/{code}": {"slot_windows": "windows that do not overlap"},
    "POST /api/v1/auth/password": {"current_password": "the account's own password"},
    "POST /api/v1/users": {
        "password": "three kinds of character, not the username",
        "district": "an official's or inspector's, in the caller's reach",
        "canteen_id": "a canteen role's, in the caller's reach",
        "elder_ids": "elders in the caller's reach",
        "username": "not taken",
    },
    "POST /api/v1/users/{user_id}/password": {"password": "three kinds of character"},
    "POST /api/v1/canteens": {
        "district": "a district in the caller's reach",
        "community": "a community of the district",
        "dining_area_m2": "the district's standard for the kind of place",
        "seats_per_meal": "the district's standard for the kind of place",
    },
    "PATCH /api/v1/canteens/{canteen_id}": {
        "dining_area_m2": "the district's standard for the kind of place",
        "seats_per_meal": "the district's standard for the kind of place",
    },
    "POST /api/v1/elders": {
        "id_number": "a real birth date and the check character",
        "hukou_district": "a district in the caller's reach",
        "community": "a community of the district",
        "consent": "given by now",
        "emergency_contact": "its consent given by now",
    },
    "PATCH /api/v1/elders/{elder_id}": {
        "community": "a community of the district",
        "emergency_contact": "its consent given by now",
        "status_since": "not before registration, not in the future",
    },
    "POST /api/v1/elders/import": {"file": "a workbook that can be read"},
    "POST /api/v1/canteens/{canteen_id}/menus": {
        "seats": "the canteen's seats per meal",
        "order_cutoff": "before the slot ends",
        "date": "a day the canteen can still serve",
    },
    "PATCH /api/v1/menus/{menu_id}": {
        "seats": "the canteen's seats per meal, at least the seats taken",
        "order_cutoff": "before the slot ends",
        "date": "a menu's date never changes",
        "slot": "a menu's slot never changes",
        "delivery_capacity": "at least the deliveries taken",
        "options": "an option's id is one of the menu's",
    },
    "POST /api/v1/canteens/{canteen_id}/menus/copy-week": {
        "from_week": "a Monday",
        "to_week": "a Monday",
    },
    "GET /api/v1/elders/{elder_id}/quote": {"option_id": "an option of that day's menu"},
    "POST /api/v1/canteens/{canteen_id}/scans": {
        "slot": "named when the scan is outside every meal window",
        "scanned_at": "an offline scan of the last 24 hours",
        "card_invalid": "a card signed with the district's key",
    },
    # The stored scan is judged again as POST .../scans judges it: the world's is no card.
    "POST /api/v1/refused-scans/{refused_scan_id}/retry": {
        "card_invalid": "a stored scan of a card signed with the district's key",
        "scanned_at": "a stored scan of the last 24 hours",
    },
    "POST /api/v1/canteens/{canteen_id}/top-ups": {
        "card_invalid": "a card signed with the district's key",
        "elder_id": "an elder of the canteen's district",
    },
    "POST /api/v1/canteens/{canteen_id}/payouts": {
        "card_invalid": "a card signed with the district's key",
        "elder_id": "an elder of the canteen's district",
    },
    "POST /api/v1/canteens/{canteen_id}/blacklist": {"ends_on": "not before starts_on"},
    "POST /api/v1/orders": {
        "elder_id": "an elder in the caller's reach",
        "menu_id": "a published menu",
        "option_id": "an option of the menu",
    },
    "POST /api/v1/orders/{order_id}/drop": {"at": "on the meal's date or a day either side"},
    "POST /api/v1/claims/{claim_id}/review": {"line_reasons": "keyed by the claim's meal ids"},
    "GET /api/v1/canteens/{canteen_id}/capacity": {"to": "not before `from` (today by default)"},
    "POST /api/v1/standing-orders": {
        "canteen_id": "a canteen in the caller's reach",
        "elder_id": "an elder in the caller's reach",
    },
    "POST /api/v1/standing-orders/{standing_order_id}/holds": {
        "ends_on": "not over before today",
        "starts_on": "not after ends_on",
    },
    "POST /api/v1/canteens/{canteen_id}/delivery-runs": {
        "volunteer_id": "an active volunteer of the canteen",
    },
    "POST /api/v1/districts/{code}/inspections/draw": {"count": "at most the district's places"},
    "POST /api/v1/districts/{code}/subsidy-policies": {
        "tiers": "each tier's name once",
        "effective_from": "after the versions already in force",
    },
}


@schemathesis.check
def valid_data_accepted_unless_a_rule_no_schema_can_say(ctx, response, case):
    """schemathesis's positive_data_acceptance, except a 422 whose every field is refused
    by a rule of RULES_NO_SCHEMA_CAN_SAY for that operation, or a key the generator sent
    before with another body (a key names one request)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        rules = RULES_NO_SCHEMA_CAN_SAY.get(case.operation.label, {})
        if "Idempotency-Key" in (case.headers or {}):
            rules = {**rules, "idempotency_key_reused": "one key, one request"}
        error = response.json().get("error", {}) if response.status_code == 422 else {}
        # A refusal by field names its fields; one of the whole request, its code.
        refused = {field.split(".")[0] for field in error.get("fields", ())} or {error.get("code")}
        if refused <= rules.keys():
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    valid_data_accepted_unless_a_rule_no_schema_can_say,
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
    refused = factories.create_refused_scan(canteen)
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
        "refused_scan_id": [refused.id],
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
