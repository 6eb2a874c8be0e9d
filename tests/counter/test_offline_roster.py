"""The offline roster: what a terminal answers a scan from while the network is down —
the keys, today's menus, the district's working cards with names and amounts, the day's
meals — with nothing personal beyond the name, in a few statements whatever its size."""

import base64
import json
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mealservice.core.idnumber import make_id_number
from mealservice.counter.services import offline_roster
from mealservice.elders.card_codec import decode_card
from mealservice.elders.cards import payload_of, revoke_card, signing_key
from mealservice.elders.services import update_elder
from mealservice.meals.services import void_meal
from tests import factories
from tests.core.test_errors import assert_error


@pytest.fixture
def today(district):
    return district.local_today()


@pytest.fixture
def menus(canteen, today):
    return {slot: factories.create_menu(canteen, today, slot) for slot in ("lunch", "dinner")}


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


def roster_url(canteen) -> str:
    return f"/api/v1/canteens/{canteen.id}/offline-roster"


def by_elder(body: dict) -> dict:
    return {entry["elder_id"]: entry for entry in body["elders"]}


def test_the_roster_names_each_elder_with_what_they_pay_for_todays_menus(
    db, login_as, district, canteen, elder, today, menus, policy
):
    card = factories.create_card(elder)  # 78: the 70+ tier, 5 yuan
    poor = factories.create_elder(district, categories=["minimum_allowance"])  # 15 yuan
    poor_card = factories.create_card(poor)
    young = factories.create_elder(
        district, id_number=make_id_number("330106", date(1975, 5, 1), 9001)
    )
    young_card = factories.create_card(young)
    response = login_as("cashier").get(roster_url(canteen))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["date"] == today.isoformat() and body["as_of"].endswith("+00:00")
    lunch_option = menus["lunch"].options[0]
    assert body["menus"] == {
        slot: {
            "menu_id": menu.id,
            "option_id": menu.options[0].id,
            "option_name": "A套餐",
            "price_fen": 1800,
        }
        for slot, menu in menus.items()
    }
    assert lunch_option.name == "A套餐"
    assert by_elder(body) == {
        elder.id: {
            "card_id": card.id,
            "generation": 1,
            "elder_id": elder.id,
            "name": elder.name,
            "pays_fen": {"lunch": 1300, "dinner": 1300},
        },
        poor.id: {
            "card_id": poor_card.id,
            "generation": 1,
            "elder_id": poor.id,
            "name": poor.name,
            "pays_fen": {"lunch": 300, "dinner": 300},
        },
        young.id: {
            "card_id": young_card.id,
            "generation": 1,
            "elder_id": young.id,
            "name": young.name,
            "pays_fen": {"lunch": 1800, "dinner": 1800},  # eligible for no tier: full price
        },
    }


def test_the_roster_tells_nothing_personal_beyond_the_name(
    db, login_as, district, canteen, elder, menus, policy
):
    factories.create_card(elder)
    body = login_as("cashier").get(roster_url(canteen)).get_json()
    text = json.dumps(body, ensure_ascii=False)
    for personal in (elder.phone, elder.address, elder.id_number_masked, elder.diet_notes):
        assert personal not in text
    assert elder.birth_date.isoformat() not in text
    assert set(body["elders"][0]) == {"card_id", "generation", "elder_id", "name", "pays_fen"}
    assert elder.name in text


def test_only_working_cards_of_active_elders_of_the_district_are_listed(
    db, login_as, district, canteen, elder, today, menus, policy
):
    kept = factories.create_card(elder)
    revoked = factories.create_elder(district)
    revoke_card(factories.create_card(revoked), "遗失")
    replaced = factories.create_elder(district)
    factories.create_card(replaced)
    newest = factories.create_card(replaced)
    gone = factories.create_elder(district)
    factories.create_card(gone)
    update_elder(gone, {"status": "deceased", "status_since": today - timedelta(days=1)})
    leaving = factories.create_elder(district)  # moves away tomorrow: still served today
    leaving_card = factories.create_card(leaving)
    update_elder(leaving, {"status": "moved", "status_since": today + timedelta(days=1)})
    factories.create_elder(district)  # no card at all
    elsewhere = factories.create_district()
    factories.create_card(factories.create_elder(elsewhere))
    db.session.commit()
    listed = {
        entry["elder_id"]: (entry["card_id"], entry["generation"])
        for entry in login_as("cashier").get(roster_url(canteen)).get_json()["elders"]
    }
    assert listed == {
        elder.id: (kept.id, 1),
        replaced.id: (newest.id, 2),
        leaving.id: (leaving_card.id, 1),
    }


def test_the_roster_lists_todays_meals_here_not_voided(
    db, login_as, district, canteen, elder, menus, policy
):
    other = factories.create_elder(district)
    eaten = factories.create_meal(canteen, elder, "lunch")
    voided = factories.create_meal(canteen, other, "lunch")
    manager = login_as("manager")
    void_meal(manager.user, voided, "扫错了人")
    elsewhere = factories.create_canteen(district)
    factories.create_meal(elsewhere, other, "dinner")
    db.session.commit()
    served = login_as("cashier").get(roster_url(canteen)).get_json()["served"]
    assert served == [
        {
            "elder_id": elder.id,
            "slot": "lunch",
            "served_at": eaten.served_at.isoformat(),
        }
    ]


def test_the_roster_keys_verify_the_cards_offline(db, login_as, canteen, elder, app):
    card = factories.create_card(elder)
    keys = login_as("manager").get(roster_url(canteen)).get_json()["keys"]
    current = app.config["CARD_KEY_ID"]
    public = signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert {
        "key_id": current,
        "public_key": base64.urlsafe_b64encode(public).decode().rstrip("="),
    } in keys
    for entry in keys:
        raw = base64.urlsafe_b64decode(entry["public_key"] + "=" * (-len(entry["public_key"]) % 4))
        assert len(raw) == 32 and "=" not in entry["public_key"]
    # The payload a card carries is verified by those keys alone.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    verifying = {
        entry["key_id"]: Ed25519PublicKey.from_public_bytes(
            base64.urlsafe_b64decode(entry["public_key"] + "=" * (-len(entry["public_key"]) % 4))
        )
        for entry in keys
    }
    assert decode_card(payload_of(card), verifying).card_id.hex() == card.id


def test_without_menus_today_the_roster_prices_nothing(db, login_as, canteen, elder, policy):
    factories.create_card(elder)
    body = login_as("cashier").get(roster_url(canteen)).get_json()
    assert body["menus"] == {} and by_elder(body)[elder.id]["pays_fen"] == {}


def test_the_roster_costs_the_same_statements_for_three_elders_or_thirty(
    db, district, canteen, elder, menus, policy, statements
):
    factories.create_card(elder)

    def counted() -> int:
        offline_roster(canteen)  # the caches warm, as in any worker after its first scan
        statements.clear()
        body = offline_roster(canteen)
        assert all(entry["pays_fen"] for entry in body["elders"])
        return len(statements)

    for _ in range(2):
        factories.create_card(factories.create_elder(district, canteen.community))
    few = counted()
    for _ in range(27):
        factories.create_card(factories.create_elder(district, canteen.community))
    many = counted()
    assert len(offline_roster(canteen)["elders"]) == 30
    assert many == few <= 6, statements


@pytest.mark.parametrize(("role", "status", "code"), [("official", 403, "forbidden")])
def test_roles_without_the_card_list_may_not_read_the_roster(login_as, canteen, role, status, code):
    assert_error(login_as(role).get(roster_url(canteen)), status, code)


@pytest.mark.parametrize("role", ["cashier", "manager"])
def test_staff_of_another_canteen_find_no_roster_there(login_as, district, role):
    other = factories.create_canteen(district)
    client = login_as(role)
    assert_error(client.get(roster_url(other)), 404, "not_found")
    # As the card list answers them.
    assert_error(client.get(f"/api/v1/canteens/{other.id}/card-list"), 404, "not_found")
