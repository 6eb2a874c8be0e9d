"""The counter's scan: verify, judge, limit, seat, price, record — and every refusal."""

import json
import logging
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import JSON, bindparam, event, func, select, text, update
from sqlalchemy.exc import IntegrityError

from mealservice.balances.services import balance_of, top_up
from mealservice.core.clock import utcnow
from mealservice.core.db import db as _db
from mealservice.core.idempotency import IdempotentRequest, request_fingerprint
from mealservice.core.idnumber import make_id_number
from mealservice.elders.card_codec import CardClaims, encode_card
from mealservice.elders.cards import payload_of, revoke_card
from mealservice.elders.models import Card
from mealservice.elders.protection import decrypt_id_number
from mealservice.meals.models import Meal, SlotTally, SubsidyTally
from mealservice.places.models import nearest_slot, slot_at
from mealservice.places.registry import add_to_blacklist
from mealservice.places.services import counter_canteen
from tests import factories
from tests.core.test_errors import assert_error

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def today(district):
    return district.local_today()


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def lunch(canteen, today):
    return factories.create_menu(canteen, today, "lunch", seats=50)


@pytest.fixture
def card(elder):
    return factories.create_card(elder)


@pytest.fixture
def cashier(login_as):
    return login_as("cashier")


def scans_url(canteen) -> str:
    return f"/api/v1/canteens/{canteen.id}/scans"


def scan(client, canteen, card_or_payload, **fields):
    payload = card_or_payload if isinstance(card_or_payload, str) else payload_of(card_or_payload)
    headers = fields.pop("headers", None)
    body = {"qr_payload": payload, "slot": "lunch", **fields}
    return client.post(scans_url(canteen), json=body, headers=headers)


def meal_count(db, **where) -> int:
    query = select(func.count()).select_from(Meal)
    for column, value in where.items():
        query = query.where(getattr(Meal, column) == value)
    return db.session.scalar(query)


def local_moment(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def recent_local(hour: int, minute: int = 0) -> datetime:
    """The latest past moment at this local time, so it is less than 24 hours old."""
    now = utcnow().astimezone(SHANGHAI)
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return moment if moment <= now else moment - timedelta(days=1)


# --- the plain answer ------------------------------------------------------------------


def test_a_scan_records_a_subsidized_meal_and_answers_the_cashier(
    db, cashier, canteen, elder, card, policy, lunch, today
):
    response = scan(cashier, canteen, card)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["elder"] == {
        "id": elder.id,
        "name": elder.name,
        "age": (today.year - elder.birth_date.year)
        - ((today.month, today.day) < (elder.birth_date.month, elder.birth_date.day)),
        "diet_notes": "糖尿病，少糖",
    }
    assert (body["slot"], body["date"]) == ("lunch", today.isoformat())
    # The factory elder is 78 and lives alone: the 70+ dine-in tier of 5 yuan applies.
    assert (body["price_fen"], body["subsidy_fen"], body["elder_pays_fen"]) == (1800, 500, 1300)
    assert body["to_collect_fen"] == 1300
    assert (body["tier"], body["reason"]) == ("70岁以上", "tier")
    assert body["policy_version"] == policy.id
    assert body["option_name"] == "A套餐"
    assert body["conflict"] is None and body["offline"] is False
    assert body["payment_method"] == "cash"

    meal = db.session.get(Meal, body["meal_id"])
    assert (meal.price_fen, meal.subsidy_fen, meal.elder_pays_fen) == (1800, 500, 1300)
    assert (meal.policy_version, meal.tier, meal.card_id) == (policy.id, "70岁以上", card.id)
    db.session.refresh(lunch)
    assert lunch.seats_used == 1


def test_the_scan_answer_never_carries_the_id_number(db, cashier, canteen, card, lunch, policy):
    number = decrypt_id_number(card.elder.id_number_encrypted)
    text = scan(cashier, canteen, card).get_data(as_text=True)
    assert number not in text and number[-8:] not in text


def test_a_chosen_option_sets_the_price(cashier, canteen, card, lunch, policy):
    soft = lunch.options[1]
    body = scan(cashier, canteen, card, option_id=soft.id).get_json()
    assert (body["option_id"], body["price_fen"], body["elder_pays_fen"]) == (soft.id, 1200, 700)


def test_an_option_of_another_menu_is_named(cashier, canteen, card, lunch, policy, today):
    dinner = factories.create_menu(canteen, today, "dinner")
    response = scan(cashier, canteen, card, option_id=dinner.options[0].id)
    assert "option_id" in assert_error(response, 422, "validation_error")["fields"]


# --- diet warnings ---------------------------------------------------------------------


@pytest.fixture
def kung_pao_lunch(canteen, today):
    return factories.create_menu(
        canteen,
        today,
        "lunch",
        options=[
            {"name": "A套餐", "price_fen": 1800, "dishes": ["宫保鸡丁", "米饭"]},
            {"name": "软食套餐", "price_fen": 1200, "dishes": ["南瓜粥"], "tags": ["soft"]},
        ],
    )


def test_the_scan_warns_of_a_served_dish_the_elder_is_allergic_to_and_of_an_unmet_need(
    cashier, canteen, district, kung_pao_lunch, policy
):
    allergic = factories.create_elder(
        district, canteen.community, allergies=["花生"], diet_needs=["soft"]
    )
    body = scan(cashier, canteen, factories.create_card(allergic)).get_json()
    option = kung_pao_lunch.options[0]
    assert body["diet_warnings"] == [
        {
            "option_id": option.id,
            "option_name": "A套餐",
            "dish": "宫保鸡丁",
            "reason": "allergy",
            "allergy": "花生",
            "diet_need": None,
        },
        {
            "option_id": option.id,
            "option_name": "A套餐",
            "dish": None,
            "reason": "diet_need",
            "allergy": None,
            "diet_need": "soft",
        },
    ]


def test_the_scan_warns_of_nothing_when_the_served_option_suits_the_elder(
    cashier, canteen, district, card, kung_pao_lunch, policy
):
    # The factory elder has a free-text note only.
    assert scan(cashier, canteen, card).get_json()["diet_warnings"] == []
    soft_eater = factories.create_elder(district, canteen.community, diet_needs=["soft"])
    soft = kung_pao_lunch.options[1]
    body = scan(cashier, canteen, factories.create_card(soft_eater), option_id=soft.id).get_json()
    assert body["diet_warnings"] == []


def test_judging_the_diet_costs_the_scan_no_query(
    app, cashier, canteen, district, kung_pao_lunch, policy
):
    def scanned(**diet) -> tuple[dict, list[str]]:
        card = factories.create_card(factories.create_elder(district, canteen.community, **diet))
        statements = []

        def note(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(_db.engine, "before_cursor_execute", note)
        try:
            return scan(cashier, canteen, card).get_json(), statements
        finally:
            event.remove(_db.engine, "before_cursor_execute", note)

    scanned()  # the test's first request loads what any first request loads
    plain_body, plain = scanned()
    warned_body, warned = scanned(allergies=["花生"], diet_needs=["soft"])
    assert plain_body["diet_warnings"] == [] and len(warned_body["diet_warnings"]) == 2
    assert len(warned) == len(plain)


def test_an_elder_eligible_for_no_tier_eats_at_full_price(
    db, cashier, canteen, district, lunch, policy, today
):
    young = factories.create_elder(
        district,
        canteen.community,
        categories=[],
        id_number=make_id_number("330106", date(1966, 5, 1), 7),
    )
    body = scan(cashier, canteen, factories.create_card(young)).get_json()
    assert (body["subsidy_fen"], body["tier"], body["reason"]) == (0, None, "no_tier")
    assert body["elder_pays_fen"] == 1800


def test_an_elder_of_another_district_pays_full_price(db, cashier, canteen, lunch, policy):
    elsewhere = factories.create_district()
    visitor = factories.create_elder(elsewhere)
    factories.create_policy(elsewhere)
    body = scan(cashier, canteen, factories.create_card(visitor)).get_json()
    assert (body["subsidy_fen"], body["reason"]) == (0, "other_district")


def test_no_subsidy_on_a_statutory_holiday(db, cashier, canteen, card, lunch, policy, today):
    factories.create_holiday(today, "测试假日")
    body = scan(cashier, canteen, card).get_json()
    assert (body["subsidy_fen"], body["reason"]) == (0, "holiday")


def test_a_blacklisted_place_serves_at_full_price_from_its_first_day(
    db, cashier, canteen, card, lunch, policy, today
):
    add_to_blacklist(None, canteen, "虚报就餐人次", today)
    db.session.commit()
    body = scan(cashier, canteen, card).get_json()
    assert (body["subsidy_fen"], body["reason"]) == (0, "canteen_blacklisted")
    assert body["elder_pays_fen"] == body["price_fen"]
    assert db.session.scalar(select(func.count()).select_from(SubsidyTally)) == 0


def test_a_blacklisting_that_starts_tomorrow_leaves_today_subsidized(
    db, cashier, canteen, card, lunch, policy, today
):
    add_to_blacklist(None, canteen, "虚报就餐人次", today + timedelta(days=1))
    db.session.commit()
    assert scan(cashier, canteen, card).get_json()["reason"] == "tier"


def test_without_a_policy_the_meal_is_full_price(cashier, canteen, card, lunch):
    body = scan(cashier, canteen, card).get_json()
    assert (body["subsidy_fen"], body["reason"], body["policy_version"]) == (0, "no_policy", None)


# --- refusals --------------------------------------------------------------------------


def test_a_second_scan_in_the_slot_says_where_and_when(db, cashier, canteen, card, lunch, policy):
    first = scan(cashier, canteen, card).get_json()
    error = assert_error(scan(cashier, canteen, card), 409, "already_served")
    assert error["detail"]["meal_id"] == first["meal_id"]
    assert error["detail"]["canteen_name"] == canteen.name
    assert canteen.name in error["message"]
    assert datetime.fromisoformat(error["detail"]["served_at"]).utcoffset() == timedelta(hours=8)
    assert meal_count(db) == 1
    db.session.refresh(lunch)
    assert lunch.seats_used == 1


def test_the_slot_limit_holds_at_every_canteen(
    db, login_as, cashier, canteen, district, card, lunch, policy, today
):
    other = factories.create_canteen(district)
    factories.create_menu(other, today, "lunch")
    assert scan(cashier, canteen, card).status_code == 201
    there = login_as("cashier", canteen=other)
    assert_error(scan(there, other, card), 409, "already_served")


def test_dinner_is_another_slot(cashier, canteen, card, lunch, policy, today):
    factories.create_menu(canteen, today, "dinner")
    assert scan(cashier, canteen, card).status_code == 201
    assert scan(cashier, canteen, card, slot="dinner").status_code == 201


def test_a_limit_of_two_per_slot_allows_two(db, district, cashier, canteen, card, lunch):
    factories.create_policy(district, max_meals_per_slot=2)
    assert [scan(cashier, canteen, card).status_code for _ in range(3)] == [201, 201, 409]
    assert db.session.get(SlotTally, (card.elder_id, lunch.date, "lunch")).taken == 2


def test_beyond_the_limit_without_refusal_the_meal_is_full_price(
    district, cashier, canteen, card, lunch
):
    factories.create_policy(district, refuse_beyond_limit=False)
    assert scan(cashier, canteen, card).get_json()["subsidy_fen"] == 500
    second = scan(cashier, canteen, card)
    assert second.status_code == 201
    assert (second.get_json()["subsidy_fen"], second.get_json()["reason"]) == (0, "slot_limit")


def test_the_daily_limit_of_subsidized_meals(db, district, cashier, canteen, card, lunch, today):
    factories.create_policy(district, max_subsidized_per_day=1)
    factories.create_menu(canteen, today, "dinner")
    assert scan(cashier, canteen, card).get_json()["subsidy_fen"] == 500
    dinner = scan(cashier, canteen, card, slot="dinner").get_json()
    assert (dinner["subsidy_fen"], dinner["reason"]) == (0, "daily_limit")
    assert db.session.get(SubsidyTally, (card.elder_id, today)).taken == 1


@pytest.mark.parametrize("mess", ["", "hello", "MS1:", "MS1:%%%%", "MS1:" + "0" * 117])
def test_garbage_is_not_a_card(cashier, canteen, lunch, mess):
    response = scan(cashier, canteen, mess) if mess else scan(cashier, canteen, " ")
    assert_error(response, 422, "card_invalid")


def test_a_tampered_card_is_invalid(cashier, canteen, card, lunch):
    payload = payload_of(card)
    tampered = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    assert_error(scan(cashier, canteen, tampered), 422, "card_invalid")


def test_a_card_signed_by_a_stranger_is_invalid(cashier, canteen, card, lunch):
    claims = CardClaims(card.key_id, bytes.fromhex(card.id), card.generation, card.expires_on)
    forged = encode_card(claims, Ed25519PrivateKey.generate())
    assert_error(scan(cashier, canteen, forged), 422, "card_invalid")


def test_a_revoked_card_is_refused(db, cashier, canteen, card, lunch, policy):
    revoke_card(card, "lost")
    db.session.commit()
    assert_error(scan(cashier, canteen, card), 409, "card_revoked")
    assert meal_count(db) == 0


def test_an_old_card_is_superseded_by_the_new(db, cashier, canteen, elder, card, lunch, policy):
    newer = factories.create_card(elder)
    assert_error(scan(cashier, canteen, card), 409, "card_superseded")
    assert scan(cashier, canteen, newer).status_code == 201


def test_an_expired_card_is_refused(db, cashier, canteen, card, lunch, policy, today):
    db.session.execute(
        update(Card).where(Card.id == card.id).values(expires_on=today - timedelta(days=1))
    )
    db.session.commit()
    # The payload carries the expiry it was signed with; make one for the stored date.
    db.session.refresh(card)
    assert_error(scan(cashier, canteen, card), 409, "card_expired")


def test_an_inactive_elder_is_refused(db, cashier, canteen, elder, card, lunch, policy, today):
    elder.status, elder.status_since = "deceased", today
    db.session.commit()
    assert_error(scan(cashier, canteen, card), 409, "elder_inactive")


def test_a_refused_scan_names_the_elder_as_a_served_meal_does(
    db, cashier, canteen, elder, card, lunch, policy, today
):
    served = scan(cashier, canteen, card).get_json()
    again = assert_error(scan(cashier, canteen, card), 409, "already_served")
    assert again["detail"]["elder_name"] == served["elder"]["name"] == elder.name
    elder.status, elder.status_since = "deceased", today
    db.session.commit()
    gone = assert_error(scan(cashier, canteen, card), 409, "elder_inactive")
    assert gone["detail"] == {"elder_id": elder.id, "elder_name": elder.name}
    revoke_card(card, "lost")
    db.session.commit()
    revoked = assert_error(scan(cashier, canteen, card), 409, "card_revoked")
    assert revoked["detail"] == {"elder_id": elder.id, "elder_name": elder.name}


def test_no_published_menu_no_meal(db, cashier, canteen, card, policy, today):
    assert_error(scan(cashier, canteen, card), 409, "no_menu")
    factories.create_menu(canteen, today, "lunch", status="draft")
    assert_error(scan(cashier, canteen, card), 409, "no_menu")


def test_a_full_canteen_refuses_and_keeps_nothing(db, cashier, canteen, district, policy, today):
    menu = factories.create_menu(canteen, today, "lunch", seats=1)
    first, second = (factories.create_card(factories.create_elder(district)) for _ in range(2))
    assert scan(cashier, canteen, first).status_code == 201
    full = assert_error(scan(cashier, canteen, second), 409, "capacity_full")
    assert full["detail"]["elder_name"] == second.elder.name
    db.session.refresh(menu)
    assert menu.seats_used == 1
    # The refused scan's place in the slot limit was rolled back with it.
    assert db.session.get(SlotTally, (second.elder_id, today, "lunch")) is None
    assert meal_count(db) == 1


# --- who may scan, and where ------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager", "cashier"])
def test_admins_managers_and_cashiers_scan(login_as, role, canteen, card, lunch, policy):
    assert scan(login_as(role), canteen, card).status_code == 201


@pytest.mark.parametrize("role", ["official", "family", "elder"])
def test_other_roles_may_not_scan(login_as, role, canteen, card, lunch):
    assert_error(scan(login_as(role), canteen, card), 403, "forbidden")


def test_a_cashier_of_another_canteen_cannot_scan_here(login_as, district, canteen, card, lunch):
    elsewhere = login_as("cashier", canteen=factories.create_canteen(district))
    assert_error(scan(elsewhere, canteen, card), 404, "not_found")


# --- without a card: the counter look-up -------------------------------------------------


def lookup(client, canteen, **query):
    return client.get(f"/api/v1/canteens/{canteen.id}/elder-lookup", query_string=query)


def test_the_counter_finds_an_elder_by_name_and_phone(cashier, canteen, elder, caplog):
    caplog.set_level(logging.INFO)
    response = lookup(cashier, canteen, name=elder.name, phone_last4=elder.phone_last4)
    assert response.status_code == 200
    [found] = response.get_json()["items"]
    assert found["id"] == elder.id and found["id_number_masked"] == elder.id_number_masked
    assert found["id_number_masked"] == "*" * 14 + found["id_number_masked"][-4:]
    assert "phone" not in found and "address" not in found
    assert (found["age"], found["hukou"]) == (elder.age, "local")
    assert not {"birth_date", "hukou_district"} & set(found)
    assert "elder look-up" in caplog.text and elder.name not in caplog.text


def test_the_look_up_needs_the_right_phone_digits(cashier, canteen, elder):
    wrong = "0000" if elder.phone_last4 != "0000" else "1111"
    assert lookup(cashier, canteen, name=elder.name, phone_last4=wrong).get_json()["items"] == []
    bad = lookup(cashier, canteen, name=elder.name, phone_last4="12a4")
    assert "phone_last4" in assert_error(bad, 422, "validation_error")["fields"]


def test_the_look_up_stays_in_the_canteens_district(cashier, canteen):
    stranger = factories.create_elder(factories.create_district())
    found = lookup(cashier, canteen, name=stranger.name, phone_last4=stranger.phone_last4)
    assert found.get_json()["items"] == []


def test_a_meal_by_elder_id_is_served_and_logged(
    db, cashier, canteen, elder, lunch, policy, caplog
):
    caplog.set_level(logging.INFO)
    response = cashier.post(scans_url(canteen), json={"elder_id": elder.id, "slot": "lunch"})
    assert response.status_code == 201, response.get_json()
    meal = db.session.get(Meal, response.get_json()["meal_id"])
    assert (meal.source, meal.card_id) == ("lookup", None)
    assert f"elder id {elder.id} without a card" in caplog.text


def test_a_meal_by_elder_id_only_for_the_canteens_district(cashier, canteen, lunch):
    stranger = factories.create_elder(factories.create_district())
    response = cashier.post(scans_url(canteen), json={"elder_id": stranger.id, "slot": "lunch"})
    assert "elder_id" in assert_error(response, 422, "validation_error")["fields"]


@pytest.mark.parametrize(
    "body",
    [{"slot": "lunch"}, {"slot": "lunch", "elder_id": 1, "qr_payload": "MS1:x"}],
)
def test_a_scan_names_a_card_or_an_elder(cashier, canteen, body):
    response = cashier.post(scans_url(canteen), json=body)
    assert "qr_payload" in assert_error(response, 422, "validation_error")["fields"]


# --- payment ------------------------------------------------------------------------------


def test_an_e_payment_keeps_its_reference(cashier, canteen, card, lunch, policy):
    payment = {"method": "e_payment", "reference": "WX4200001234"}
    body = scan(cashier, canteen, card, payment=payment).get_json()
    assert (body["payment_method"], body["payment_reference"]) == ("e_payment", "WX4200001234")


@pytest.mark.parametrize(
    "payment, field",
    [({"method": "e_payment"}, "payment.reference"), ({"method": "cheque"}, "payment.method")],
)
def test_bad_payments_are_named(db, cashier, canteen, card, lunch, payment, field):
    response = scan(cashier, canteen, card, payment=payment)
    assert field in assert_error(response, 422, "validation_error")["fields"]
    assert meal_count(db) == 0


# --- the slot from the clock, and offline scans -------------------------------------------


def test_slot_windows_decide_the_slot():
    windows = {"breakfast": ["06:00", "09:30"], "lunch": ["10:30", "13:30"]}
    assert slot_at(windows, "06:00") == "breakfast"
    assert slot_at(windows, "13:30") == "lunch"
    assert slot_at(windows, "10:29") is None
    assert slot_at(windows, "18:00") is None


def test_without_a_slot_the_window_of_the_scan_time_decides(db, cashier, canteen, card, policy):
    moment = recent_local(12)
    factories.create_menu(canteen, moment.date(), "lunch")
    response = cashier.post(
        scans_url(canteen), json={"qr_payload": payload_of(card), "scanned_at": moment.isoformat()}
    )
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["slot"], response.get_json()["date"]) == (
        "lunch",
        moment.date().isoformat(),
    )


# The canteen and its district's clock come from the workers' cache (places.services,
# the "places" stamp): a write to them by any path is seen by the next scan, a write
# rolled back is not.


def _move_canteen(db, canteen, how: str) -> None:
    """Into another district, as only a hand or a migration could: out of the reach of
    the district's staff."""
    elsewhere = factories.create_district()
    community = factories.create_community(elsewhere)
    with db.session.begin_nested() as savepoint:
        if how == "orm":
            canteen.district_code, canteen.community_id = elsewhere.code, community.id
            db.session.flush()
        else:
            db.session.execute(
                text(
                    "UPDATE canteens SET district_code = :code, community_id = :community"
                    " WHERE id = :id"
                ),
                {"code": elsewhere.code, "community": community.id, "id": canteen.id},
            )
        if how == "rolled back":
            assert counter_canteen(canteen.id).district_code == elsewhere.code
            savepoint.rollback()


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_a_canteen_moved_by_any_path_is_seen_by_the_next_scan(
    db, cashier, canteen, district, lunch, policy, how
):
    first, second = (
        factories.create_card(factories.create_elder(district, canteen.community)) for _ in range(2)
    )
    assert scan(cashier, canteen, first).status_code == 201  # the cache holds the canteen
    _move_canteen(db, canteen, how)
    assert_error(scan(cashier, canteen, second), 404, "not_found")


def test_a_rolled_back_write_to_a_canteen_is_not_seen_by_the_next_scan(
    db, cashier, canteen, district, lunch, policy
):
    first, second = (
        factories.create_card(factories.create_elder(district, canteen.community)) for _ in range(2)
    )
    assert scan(cashier, canteen, first).status_code == 201
    _move_canteen(db, canteen, "rolled back")
    assert counter_canteen(canteen.id).district_code == district.code
    assert scan(cashier, canteen, second).status_code == 201


@pytest.mark.now("2026-11-25T14:10:00+08:00")
@pytest.mark.parametrize("how", ["orm", "sql"])
def test_a_districts_meal_window_changed_by_any_path_is_seen_by_the_next_scan(
    db, cashier, canteen, district, card, lunch, policy, how
):
    unnamed = {"qr_payload": payload_of(card)}
    assert_error(cashier.post(scans_url(canteen), json=unnamed), 422, "validation_error")
    windows = {**district.slot_windows, "lunch": ["10:30", "14:30"]}
    if how == "orm":
        district.slot_windows = windows
        db.session.flush()
    else:
        db.session.execute(
            text("UPDATE districts SET slot_windows = :windows WHERE code = :code").bindparams(
                bindparam("windows", type_=JSON)
            ),
            {"windows": windows, "code": district.code},
        )
    response = cashier.post(scans_url(canteen), json=unnamed)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["slot"] == "lunch"


def test_the_nearest_window_is_counted_to_its_nearest_edge_within_the_day():
    windows = {"breakfast": ["06:00", "09:30"], "lunch": ["10:30", "13:30"]}
    windows["dinner"] = ["16:30", "19:30"]
    assert nearest_slot(windows, "12:00") == "lunch"  # inside a window: that window
    assert nearest_slot(windows, "14:10") == "lunch"  # 40 minutes late, 140 early
    assert nearest_slot(windows, "16:00") == "dinner"
    assert nearest_slot(windows, "20:30") == "dinner"
    assert nearest_slot(windows, "23:59") == "dinner"  # never the next day's breakfast
    assert nearest_slot(windows, "03:00") == "breakfast"
    assert nearest_slot(windows, "10:00") == "breakfast"  # a tie: the earlier slot
    assert nearest_slot({"lunch": ["10:30", "13:30"]}, "20:00") == "lunch"
    assert nearest_slot({}, "12:00") is None


@pytest.mark.parametrize(
    ("hour", "minute", "slot"), [(14, 10, "lunch"), (20, 30, "dinner"), (3, 0, "breakfast")]
)
def test_an_offline_scan_outside_every_window_takes_the_nearest_windows_slot(
    db, cashier, canteen, card, policy, hour, minute, slot
):
    moment = recent_local(hour, minute)
    factories.create_menu(canteen, moment.date(), slot)
    response = cashier.post(
        scans_url(canteen), json={"qr_payload": payload_of(card), "scanned_at": moment.isoformat()}
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["slot"], body["date"], body["conflict"]) == (slot, moment.date().isoformat(), None)
    assert body["subsidy_fen"] == 500


def test_an_offline_scan_outside_every_window_keeps_the_slot_it_names(
    db, cashier, canteen, card, policy
):
    moment = recent_local(14, 10)
    factories.create_menu(canteen, moment.date(), "dinner")
    body = {"qr_payload": payload_of(card), "scanned_at": moment.isoformat(), "slot": "dinner"}
    answer = cashier.post(scans_url(canteen), json=body).get_json()
    assert (answer["slot"], answer["conflict"]) == ("dinner", None)


def test_an_offline_scan_outside_every_window_with_no_menu_is_a_conflict_meal(
    db, cashier, canteen, card, policy
):
    moment = recent_local(20, 30)
    response = cashier.post(
        scans_url(canteen), json={"qr_payload": payload_of(card), "scanned_at": moment.isoformat()}
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["slot"], body["conflict"], body["subsidy_fen"]) == ("dinner", "no_menu", 0)
    assert meal_count(db, conflict="no_menu", slot="dinner") == 1


@pytest.mark.now("2026-11-25T14:10:00+08:00")
def test_online_outside_every_window_the_slot_must_be_named(cashier, canteen, card, lunch):
    response = cashier.post(scans_url(canteen), json={"qr_payload": payload_of(card)})
    assert "slot" in assert_error(response, 422, "validation_error")["fields"]


@pytest.mark.now("2026-11-25T14:10:00+08:00")
def test_online_outside_every_window_a_named_slot_is_served(cashier, canteen, card, lunch, policy):
    response = cashier.post(
        scans_url(canteen), json={"qr_payload": payload_of(card), "slot": "lunch"}
    )
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["slot"], response.get_json()["conflict"]) == ("lunch", None)


@pytest.mark.parametrize("offset", [timedelta(minutes=10), -timedelta(hours=25)])
def test_offline_scans_are_from_the_last_day_only(cashier, canteen, card, lunch, offset):
    at = (utcnow() + offset).isoformat()
    response = scan(cashier, canteen, card, scanned_at=at)
    assert "scanned_at" in assert_error(response, 422, "validation_error")["fields"]


def test_an_offline_scan_is_judged_as_the_card_stood_then(
    db, cashier, canteen, card, lunch, policy
):
    before_revocation = utcnow() - timedelta(minutes=5)
    revoke_card(card, "lost")
    db.session.commit()
    body = scan(cashier, canteen, card, scanned_at=before_revocation.isoformat()).get_json()
    assert body["conflict"] is None and body["subsidy_fen"] == 500 and body["offline"] is True


def test_an_offline_scan_of_a_revoked_card_is_a_conflict_meal(
    db, cashier, canteen, card, lunch, policy
):
    revoke_card(card, "lost")
    db.session.commit()
    response = scan(cashier, canteen, card, scanned_at=utcnow().isoformat())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["conflict"], body["subsidy_fen"], body["to_collect_fen"]) == (
        "card_revoked",
        0,
        1800,
    )
    assert meal_count(db, conflict="card_revoked") == 1


def test_offline_scans_beyond_the_limit_and_the_seats_are_conflicts(
    db, cashier, canteen, district, card, policy, today
):
    factories.create_menu(canteen, today, "lunch", seats=1)
    now = utcnow().isoformat()
    earlier = (utcnow() - timedelta(seconds=30)).isoformat()  # two scans, not one sent twice
    assert scan(cashier, canteen, card, scanned_at=earlier).get_json()["conflict"] is None
    assert scan(cashier, canteen, card, scanned_at=now).get_json()["conflict"] == "already_served"
    other = factories.create_card(factories.create_elder(district))
    assert scan(cashier, canteen, other, scanned_at=now).get_json()["conflict"] == "capacity_full"
    assert meal_count(db) == 3


def test_an_offline_scan_sent_again_without_a_key_answers_its_first_meal(
    db, login_as, cashier, canteen, card, lunch, policy
):
    top_up(login_as("cashier").user, canteen, card.elder, 2000, "cash")
    db.session.commit()
    at = (utcnow() - timedelta(minutes=3)).isoformat()
    paid = {"method": "balance"}
    first = scan(cashier, canteen, card, scanned_at=at, payment=paid).get_json()
    again = scan(cashier, canteen, card, scanned_at=at, payment=paid)
    assert again.status_code == 201
    assert again.get_json()["meal_id"] == first["meal_id"]
    assert again.get_json()["conflict"] is None
    assert meal_count(db) == 1
    assert balance_of(card.elder.id) == 2000 - first["elder_pays_fen"]  # charged once


def test_the_database_keeps_one_meal_per_offline_scan(db, cashier, canteen, card, lunch, policy):
    at = (utcnow() - timedelta(minutes=3)).isoformat()
    first = scan(cashier, canteen, card, scanned_at=at).get_json()
    meal = db.session.get(Meal, first["meal_id"])
    row = {column: getattr(meal, column) for column in ("canteen_id", "elder_id", "served_at")}
    insert = Meal.__table__.insert().values(
        date=meal.date,
        slot="dinner",
        channel="dine_in",
        source="card",
        recorded_by="forgetful path",
        reason="no_policy",
        price_fen=0,
        subsidy_fen=0,
        elder_pays_fen=0,
        to_collect_fen=0,
        offline=True,
        recorded_at=meal.recorded_at,
    )
    # A row like it a second later is a meal of its own; at the same moment it is refused.
    db.session.execute(insert.values(**row | {"served_at": meal.served_at + timedelta(seconds=1)}))
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(insert.values(**row))


def test_an_offline_scan_without_a_menu_is_a_conflict(db, cashier, canteen, card, policy):
    body = scan(cashier, canteen, card, scanned_at=utcnow().isoformat()).get_json()
    assert (body["conflict"], body["price_fen"], body["option_id"]) == ("no_menu", 0, None)


def test_an_offline_scan_with_a_bad_signature_is_still_refused(cashier, canteen, lunch):
    response = scan(cashier, canteen, "MS1:ABCDEF", scanned_at=utcnow().isoformat())
    assert_error(response, 422, "card_invalid")


# --- Idempotency-Key -----------------------------------------------------------------------


def test_a_repeated_key_returns_the_first_answer_and_changes_nothing(
    db, cashier, canteen, card, lunch, policy
):
    headers = {"Idempotency-Key": "scan-0001"}
    body = {"qr_payload": payload_of(card), "slot": "lunch"}
    first = cashier.post(scans_url(canteen), json=body, headers=headers)
    again = cashier.post(scans_url(canteen), json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert meal_count(db) == 1


def test_a_repeated_refusal_is_the_same_refusal(db, cashier, canteen, card, policy, today):
    headers = {"Idempotency-Key": "scan-0002"}
    first = scan(cashier, canteen, card, headers=headers)
    factories.create_menu(canteen, today, "lunch")
    again = scan(cashier, canteen, card, headers=headers)
    assert (first.status_code, again.status_code) == (409, 409)
    assert again.get_json() == first.get_json()
    assert meal_count(db) == 0


def test_a_repeated_invalid_body_gets_the_same_422(db, cashier, canteen, card, lunch):
    headers = {"Idempotency-Key": "scan-0005"}
    first = scan(cashier, canteen, card, headers=headers, slot="brunch")
    again = scan(cashier, canteen, card, headers=headers, slot="brunch")
    assert (first.status_code, again.status_code) == (422, 422)
    assert again.get_json() == first.get_json()
    assert "slot" in first.get_json()["error"]["fields"]


def test_a_key_reused_for_another_body_is_refused(db, cashier, canteen, card, lunch, policy):
    headers = {"Idempotency-Key": "scan-0003"}
    assert scan(cashier, canteen, card, headers=headers).status_code == 201
    other = scan(cashier, canteen, card, headers=headers, option_id=lunch.options[1].id)
    assert_error(other, 422, "idempotency_key_reused")
    assert meal_count(db) == 1


def test_a_key_still_running_is_refused_until_it_goes_stale(
    db, cashier, canteen, card, lunch, policy
):
    # A claim with no answer yet: the first request is running, or its worker died.
    claim = IdempotentRequest(
        user_id=cashier.user.id, key="scan-0004", fingerprint=fingerprint_of(canteen, card)
    )
    db.session.add(claim)
    db.session.commit()
    headers = {"Idempotency-Key": "scan-0004"}
    assert_error(scan(cashier, canteen, card, headers=headers), 409, "idempotency_in_progress")
    assert meal_count(db) == 0
    # A minute on, the claim is taken to be dead and the repeat does the work.
    claim.claimed_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    assert scan(cashier, canteen, card, headers=headers).status_code == 201
    assert meal_count(db) == 1


def fingerprint_of(canteen, card) -> str:
    body = {"qr_payload": payload_of(card), "slot": "lunch"}
    return request_fingerprint(scans_url(canteen), json.dumps(body).encode())


def test_keys_belong_to_their_caller(db, login_as, canteen, district, card, lunch, policy):
    headers = {"Idempotency-Key": "shared-key"}
    other_card = factories.create_card(factories.create_elder(district))
    assert scan(login_as("cashier"), canteen, card, headers=headers).status_code == 201
    assert scan(login_as("cashier"), canteen, other_card, headers=headers).status_code == 201
    assert meal_count(db) == 2


# --- voids -----------------------------------------------------------------------------------


def void(client, meal_id, reason="扫错了"):
    return client.post(f"/api/v1/meals/{meal_id}/void", json={"reason": reason})


def test_a_void_gives_back_the_seat_and_the_limit(
    db, login_as, cashier, canteen, card, lunch, district, today
):
    factories.create_policy(district, max_subsidized_per_day=1)
    meal_id = scan(cashier, canteen, card).get_json()["meal_id"]
    response = void(login_as("manager"), meal_id)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["void_reason"] == "扫错了"
    db.session.refresh(lunch)
    assert lunch.seats_used == 0
    assert db.session.get(SubsidyTally, (card.elder_id, today)).taken == 0
    # The elder may now be served again, subsidized again.
    assert scan(cashier, canteen, card).get_json()["subsidy_fen"] == 500


def test_a_meal_is_voided_once(login_as, cashier, canteen, card, lunch, policy):
    meal_id = scan(cashier, canteen, card).get_json()["meal_id"]
    manager = login_as("manager")
    assert void(manager, meal_id).status_code == 200
    assert_error(void(manager, meal_id), 409, "already_voided")


def test_a_meal_is_voided_only_on_its_own_day(db, login_as, cashier, canteen, card, lunch, policy):
    meal_id = scan(cashier, canteen, card).get_json()["meal_id"]
    db.session.execute(
        update(Meal).where(Meal.id == meal_id).values(date=lunch.date - timedelta(days=1))
    )
    db.session.commit()
    assert_error(void(login_as("manager"), meal_id), 409, "void_window_passed")


def test_cashiers_do_not_void(cashier, canteen, card, lunch, policy):
    meal_id = scan(cashier, canteen, card).get_json()["meal_id"]
    assert_error(void(cashier, meal_id), 403, "forbidden")


def test_a_void_needs_a_reason(login_as, cashier, canteen, card, lunch, policy):
    meal_id = scan(cashier, canteen, card).get_json()["meal_id"]
    response = void(login_as("manager"), meal_id, reason="")
    assert "reason" in assert_error(response, 422, "validation_error")["fields"]


# --- reading meals ----------------------------------------------------------------------------


def test_the_canteens_meals_latest_first(
    login_as, cashier, canteen, district, lunch, policy, today
):
    cards = [factories.create_card(factories.create_elder(district)) for _ in range(3)]
    ids = [scan(cashier, canteen, c).get_json()["meal_id"] for c in cards]
    listed = login_as("official").get(
        f"/api/v1/canteens/{canteen.id}/meals", query_string={"date": today.isoformat()}
    )
    assert [m["meal_id"] for m in listed.get_json()["items"]] == ids[::-1]
    one = cashier.get(f"/api/v1/meals/{ids[0]}").get_json()
    assert one["meal_id"] == ids[0]


def test_meals_of_another_district_are_not_found(login_as, cashier, canteen, card, lunch, policy):
    meal_id = scan(cashier, canteen, card).get_json()["meal_id"]
    outsider = login_as("official", district=factories.create_district())
    assert_error(outsider.get(f"/api/v1/meals/{meal_id}"), 404, "not_found")


# --- the policy cannot reach back over priced meals ----------------------------------------------


def test_a_new_policy_version_cannot_reprice_served_meals(
    login_as, cashier, canteen, card, lunch, policy, district, today
):
    assert scan(cashier, canteen, card).status_code == 201
    official = login_as("official")
    body = {
        "effective_from": today.isoformat(),
        "delivery_subsidy_fen": 0,
        "tiers": [{"name": "all", "channel": "any", "amount_fen": 100}],
    }
    url = f"/api/v1/districts/{district.code}/subsidy-policies"
    error = assert_error(official.post(url, json=body), 422, "validation_error")
    assert "effective_from" in error["fields"]
    body["effective_from"] = (today + timedelta(days=1)).isoformat()
    assert official.post(url, json=body).status_code == 201


def test_a_version_that_takes_effect_while_a_scan_reads_prices_its_meal(
    db, canteen, card, lunch, policy, district, today
):
    from mealservice.meals import services

    cashier = SimpleNamespace(username="cashier", role="cashier")
    data = {"qr_payload": payload_of(card), "slot": "lunch"}
    plan = services.plan_scan(cashier, counter_canteen(canteen.id), data)
    assert plan.in_force.version == policy.id
    newer = factories.create_policy(district, effective_from=today)
    assert services.record_scan(plan).policy_version == newer.id


def test_a_void_passes_the_slot_to_a_meal_served_beyond_the_limit(
    db, login_as, district, cashier, canteen, card, lunch, today
):
    factories.create_policy(district, refuse_beyond_limit=False)
    first = scan(cashier, canteen, card).get_json()
    beyond = scan(cashier, canteen, card).get_json()
    assert beyond["reason"] == "slot_limit"
    assert void(login_as("manager"), first["meal_id"]).status_code == 200
    # The meal still eaten now holds the slot: a third is beyond the limit again.
    assert db.session.get(Meal, beyond["meal_id"]).holds_slot is True
    assert db.session.get(SlotTally, (card.elder_id, today, "lunch")).taken == 1
    assert scan(cashier, canteen, card).get_json()["reason"] == "slot_limit"


def test_a_void_passes_the_seat_to_an_offline_meal_that_had_none(
    db, login_as, cashier, canteen, district, policy, today
):
    menu = factories.create_menu(canteen, today, "lunch", seats=1)
    first, second = (factories.create_card(factories.create_elder(district)) for _ in range(2))
    seated = scan(cashier, canteen, first).get_json()
    standing = scan(cashier, canteen, second, scanned_at=utcnow().isoformat()).get_json()
    assert standing["conflict"] == "capacity_full"
    assert void(login_as("manager"), seated["meal_id"]).status_code == 200
    db.session.refresh(menu)
    assert menu.seats_used == 1
    assert db.session.get(Meal, standing["meal_id"]).holds_seat is True


def test_an_offline_scan_keeps_its_meal_when_the_option_is_gone(
    db, cashier, canteen, card, lunch, policy
):
    response = scan(cashier, canteen, card, option_id=999_999, scanned_at=utcnow().isoformat())
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["option_id"] == lunch.options[0].id


def test_a_failure_lets_the_key_go_at_once(db, cashier, canteen, card, lunch, policy, monkeypatch):
    from mealservice.meals import services

    def broken(*args, **kwargs):
        raise RuntimeError("the kitchen printer caught fire")

    monkeypatch.setattr(services, "record_scan", broken)
    failed = scan(cashier, canteen, card, headers={"Idempotency-Key": "scan-0006"})
    assert_error(failed, 500, "internal_error")
    claims = select(func.count()).select_from(IdempotentRequest)
    assert db.session.scalar(claims.where(IdempotentRequest.key == "scan-0006")) == 0
    monkeypatch.undo()
    assert scan(cashier, canteen, card, headers={"Idempotency-Key": "scan-0006"}).status_code == 201


def test_a_deeply_nested_body_with_a_key_is_a_clear_422(cashier, canteen):
    response = cashier.client.post(
        scans_url(canteen),
        data="[" * 100_000,
        content_type="application/json",
        headers={"Authorization": f"Bearer {cashier.token}", "Idempotency-Key": "deep"},
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:200]


def test_a_meal_shows_the_elders_age_today_not_on_the_meals_day(db, login_as, canteen, now):
    """Ages of meals on either side of a birthday would tell the birthday itself."""
    born_today = factories.create_elder(
        canteen.district,
        canteen.community,
        id_number=make_id_number("330106", date(1946, 11, 25), 7),
    )
    now.move_to("2026-11-24T12:00:00+08:00")
    meal = factories.create_meal(canteen, born_today)
    now.move_to("2026-11-25T10:00:00+08:00")
    body = login_as("manager").get(f"/api/v1/meals/{meal.id}").get_json()
    assert body["date"] == "2026-11-24"
    assert body["elder"]["age"] == 80 == born_today.age, "80 today; the meal's day said 79"


def test_a_scan_is_one_transaction_on_postgresql_and_reads_no_near_static_table(
    app, cashier, canteen, district, lunch, policy
):
    """SQLite splits a scan in a read transaction and a write one, so that the write lock
    is held only for the writes; PostgreSQL's reads wait for no writer, so a scan is one
    transaction there. Policies, holidays, the blacklist, closed months and the canteen
    with its district come from the workers' caches once warm (core.stamps)."""
    statements, commits = [], []

    def note(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    def committed(session):
        commits.append(session)

    def scanned():
        statements.clear()
        commits.clear()
        card = factories.create_card(factories.create_elder(district, canteen.community))
        # The test's own reads (the canteen's id for the URL, the card) before listening.
        url, body = scans_url(canteen), {"qr_payload": payload_of(card), "slot": "lunch"}
        event.listen(_db.engine, "before_cursor_execute", note)
        event.listen(_db.session, "after_commit", committed)
        try:
            assert cashier.post(url, json=body).status_code == 201
        finally:
            event.remove(_db.engine, "before_cursor_execute", note)
            event.remove(_db.session, "after_commit", committed)

    scanned()  # warms the caches
    scanned()
    assert len(commits) == (1 if _db.engine.dialect.name == "postgresql" else 2)
    # The write phase's re-check of the version in force is the policy stamp's, read
    # afresh: the versions are asked only when a policy was written meanwhile.
    near_static = (
        "subsidy_policies",
        "policy_tiers",
        "holidays",
        "blacklist_entries",
        "month_closures",
        # The canteen and its district are not read: the card's statement joins the elder's
        # district (for the answer's age), not the canteen's.
        "FROM canteens",
        "FROM districts",
    )
    assert not [s for s in statements if any(table in s for table in near_static)], statements
