"""The counter's API: terminals with revocable tokens, the card list for offline checks,
the end-of-shift report, and the access log of card-less service."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from mealservice.accounts.models import User
from mealservice.balances.services import top_up
from mealservice.core.errors import ApiError
from mealservice.counter.models import Terminal
from mealservice.counter.services import revoke_terminal, shift_report
from mealservice.delivery.services import confirm_drop, run_orders
from mealservice.elders.cards import issue_card, revoke_card
from mealservice.elders.models import AccessLogEntry
from mealservice.elders.services import update_elder
from tests import factories
from tests.conftest import ApiClient
from tests.core.test_errors import assert_error
from tests.meals.test_scans import scan


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def lunch(canteen, district):
    return factories.create_menu(canteen, district.local_today(), "lunch", seats=50)


@pytest.fixture
def manager(login_as):
    return login_as("manager")


def register(client, canteen, name="收银台1"):
    return client.post(f"/api/v1/canteens/{canteen.id}/terminals", json={"name": name})


# Terminals


def test_a_manager_registers_a_terminal_whose_token_scans(
    app, manager, canteen, elder, lunch, policy
):
    response = register(manager, canteen)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["name"], body["canteen_id"], body["revoked_at"]) == ("收银台1", canteen.id, None)
    assert body["registered_by"] == manager.user.username
    assert body["token"] and body["token_expires_at"] > "2027"
    terminal = ApiClient(app.test_client(), body["token"])
    scanned = scan(terminal, canteen, factories.create_card(elder))
    assert scanned.status_code == 201, scanned.get_json()
    assert scanned.get_json()["recorded_by"] == body["username"]
    # The list never shows the token again.
    listed = manager.get(f"/api/v1/canteens/{canteen.id}/terminals").get_json()
    assert [t["name"] for t in listed] == ["收银台1"] and "token" not in listed[0]


def test_revoking_a_terminal_switches_its_token_off_and_nobody_elses(
    app, login_as, manager, canteen, elder, lunch, policy
):
    body = register(manager, canteen).get_json()
    cashier = login_as("cashier")
    response = manager.post(f"/api/v1/terminals/{body['id']}/revoke")
    assert response.status_code == 200
    assert response.get_json()["revoked_by"] == manager.user.username
    terminal = ApiClient(app.test_client(), body["token"])
    assert_error(scan(terminal, canteen, factories.create_card(elder)), 401, "unauthorized")
    assert scan(cashier, canteen, factories.create_card(elder)).status_code == 201
    assert_error(manager.post(f"/api/v1/terminals/{body['id']}/revoke"), 409, "terminal_revoked")


def test_of_two_revokes_of_a_terminal_at_once_the_first_stands_and_the_second_is_refused(
    db, manager, canteen
):
    terminal = factories.create_terminal(canteen)
    # Another manager's revoke, committed while this request held the terminal as live.
    db.session.execute(
        update(Terminal)
        .where(Terminal.id == terminal.id)
        .values(revoked_at=datetime(2026, 11, 25, 1, 0, tzinfo=UTC), revoked_by="first-manager")
        .execution_options(synchronize_session=False)
    )
    assert terminal.revoked_at is None
    with pytest.raises(ApiError) as refused:
        revoke_terminal(manager.user, terminal)
    assert (refused.value.status, refused.value.code) == (409, "terminal_revoked")
    assert refused.value.detail["revoked_by"] == "first-manager"
    db.session.expire_all()
    assert db.session.get(Terminal, terminal.id).revoked_by == "first-manager"


def test_a_terminal_name_is_unique_in_its_canteen(manager, canteen):
    register(manager, canteen)
    assert_error(register(manager, canteen), 409, "terminal_exists")
    response = register(manager, canteen, "  ")
    assert_error(response, 422, "validation_error")
    assert "name" in response.get_json()["error"]["fields"]


def test_a_manager_cannot_register_or_revoke_at_another_canteen(login_as, district, canteen):
    other = factories.create_canteen(district, name="另一家食堂")
    terminal = factories.create_terminal(other)
    manager = login_as("manager")
    assert_error(register(manager, other), 404, "not_found")
    assert_error(manager.post(f"/api/v1/terminals/{terminal.id}/revoke"), 404, "not_found")


# The card list


def test_the_card_list_names_revoked_and_superseded_cards_and_those_of_elders_gone(
    db, login_as, district, canteen, elder
):
    first = factories.create_card(elder)
    second = issue_card("test", elder)
    other_elder = factories.create_elder(district, canteen.community)
    lost = factories.create_card(other_elder)
    revoke_card(lost, "lost")
    live = factories.create_card(factories.create_elder(district, canteen.community))
    stranger = factories.create_elder(factories.create_district(code="330105"))
    revoke_card(factories.create_card(stranger), "lost")
    today = canteen.district.local_today()
    died = factories.create_elder(district, canteen.community)
    died_card = factories.create_card(died)
    update_elder(died, {"status": "deceased", "status_since": today})
    moving = factories.create_elder(district, canteen.community)
    moving_card = factories.create_card(moving)
    update_elder(moving, {"status": "moved", "status_since": today + timedelta(days=1)})
    db.session.commit()

    body = login_as("cashier").get(f"/api/v1/canteens/{canteen.id}/card-list").get_json()
    assert body["superseded"] == [{"card_id": first.id, "generation": 1}]
    assert body["revoked"] == [{"card_id": lost.id, "generation": 1}]
    # From the day the elder is gone, not before.
    assert body["inactive"] == [{"card_id": died_card.id, "generation": 1}]
    listed = {
        entry["card_id"] for key in ("revoked", "superseded", "inactive") for entry in body[key]
    }
    assert not listed & {second.id, live.id, moving_card.id}
    assert set(body) == {"as_of", "revoked", "superseded", "inactive"}


# Card-less service and the access log


def test_the_counter_look_up_is_written_to_the_access_log(db, login_as, canteen, elder):
    cashier = login_as("cashier")
    url = f"/api/v1/canteens/{canteen.id}/elder-lookup"
    found = cashier.get(url, query_string={"name": elder.name, "phone_last4": elder.phone_last4,
                                           "reason": "card_forgotten"})  # fmt: skip
    assert [item["id"] for item in found.get_json()["items"]] == [elder.id]
    cashier.get(url, query_string={"name": "无此人", "phone_last4": "0000"})
    entries = db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)).all()
    assert [(e.username, e.elder_id, e.action, e.reason) for e in entries] == [
        (cashier.user.username, elder.id, "counter_lookup", "card_forgotten"),
        (cashier.user.username, None, "counter_lookup", "card not at hand"),
    ]
    assert entries[0].canteen_id == canteen.id and entries[0].district_code == canteen.district_code


def test_a_card_less_scan_is_written_to_the_access_log(db, login_as, canteen, elder, lunch, policy):
    cashier = login_as("cashier")
    response = cashier.post(
        f"/api/v1/canteens/{canteen.id}/scans",
        json={"elder_id": elder.id, "slot": "lunch", "no_card_reason": "card_lost"},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["source"] == "lookup"
    entry = db.session.scalar(select(AccessLogEntry))
    assert (entry.elder_id, entry.action, entry.reason) == (elder.id, "cardless_scan", "card_lost")


def test_a_scan_with_the_card_is_not_logged_as_personal_data_access(
    db, login_as, canteen, elder, lunch, policy
):
    assert scan(login_as("cashier"), canteen, factories.create_card(elder)).status_code == 201
    assert db.session.scalar(select(AccessLogEntry)) is None


# The end-of-shift report


@pytest.fixture
def shift(db, login_as, district, canteen, lunch, policy):
    """Two cashiers' lunch: cash, balance and e-payment meals, top-ups, a void."""
    ann, bob = login_as("cashier", username="ann"), login_as("cashier", username="bob")
    elders = [factories.create_elder(district, canteen.community) for _ in range(4)]
    top_up(ann.user, canteen, elders[1], 5000, "cash")
    top_up(bob.user, canteen, elders[2], 2000, "e_payment", "ZFB-1")
    db.session.commit()
    cards = [factories.create_card(elder) for elder in elders]
    meals = [
        scan(ann, canteen, cards[0]),
        scan(ann, canteen, cards[1], payment={"method": "balance"}),
        scan(bob, canteen, cards[2], payment={"method": "e_payment", "reference": "WX-9"}),
        scan(bob, canteen, cards[3]),
    ]
    assert [m.status_code for m in meals] == [201] * 4
    void = login_as("manager").post(
        f"/api/v1/meals/{meals[3].get_json()['meal_id']}/void", json={"reason": "重复"}
    )
    assert void.status_code == 200
    return {"ann": ann, "bob": bob}


def test_the_canteen_shift_report_reconciles_the_till(login_as, canteen, district, shift):
    # The whole day: the top-ups count to whichever shift the clock is in now.
    response = login_as("manager").get(f"/api/v1/canteens/{canteen.id}/shift-report")
    body = response.get_json()
    assert (body["date"], body["slot"], body["cashier"]) == (
        district.local_today().isoformat(),
        None,
        None,
    )
    # Three live meals at 18 yuan with 5 yuan subsidy each; one voided.
    assert (body["meals"], body["price_fen"], body["subsidy_fen"]) == (3, 5400, 1500)
    assert body["taken"] == {"cash": 1300, "e_payment": 1300, "balance": 1300}
    assert body["voids"] == {"count": 1, "elder_pays_fen": 1300}
    assert (body["top_ups"]["cash"], body["top_ups"]["e_payment"]) == (5000, 2000)
    assert body["till"] == {"cash": 6300, "e_payment": 3300}
    rows = {row["cashier"]: row for row in body["cashiers"]}
    assert (rows["ann"]["meals"], rows["ann"]["cash_fen"], rows["ann"]["balance_fen"]) == (
        2,
        1300,
        1300,
    )
    assert (rows["bob"]["meals"], rows["bob"]["voids"], rows["bob"]["top_ups_fen"]) == (1, 1, 2000)


def test_a_cashier_sees_only_their_own_shift(canteen, shift):
    body = (
        shift["bob"]
        .get(f"/api/v1/canteens/{canteen.id}/shift-report", query_string={"cashier": "ann"})
        .get_json()
    )
    assert body["cashier"] == "bob"
    assert [row["cashier"] for row in body["cashiers"]] == ["bob"]
    assert body["till"] == {"cash": 0, "e_payment": 3300}


def test_another_day_has_an_empty_report(login_as, canteen, shift):
    body = shift_report(login_as("manager").user, canteen, date(2026, 1, 5))
    assert (body["meals"], body["till"], body["cashiers"]) == (0, {"cash": 0, "e_payment": 0}, [])


def test_a_dinner_report_leaves_out_lunch(login_as, canteen, shift):
    body = shift_report(
        login_as("manager").user, canteen, canteen.district.local_today(), slot="dinner"
    )
    assert body["meals"] == 0 and body["voids"]["count"] == 0


def test_the_report_lists_only_people_at_the_counter_and_its_rows_add_up(
    db, now, login_as, canteen, district, policy
):
    # Tomorrow's lunch: a volunteer delivers an order, a cashier serves one elder, and a
    # name no account has (as the demo loader or a platform records) serves another.
    elders = [factories.create_elder(district, canteen.community) for _ in range(2)]
    poor = factories.create_elder(district, canteen.community, categories=["minimum_allowance"])
    elders.insert(0, poor)  # a meal subsidy and the delivery subsidy
    run = factories.create_volunteer_run(canteen, elders[0])
    [order] = run_orders(run)
    now.move_to("2026-11-26T11:30:00+08:00")
    volunteer = db.session.get(User, run.volunteer_id)
    confirm_drop(volunteer, order, order.delivery_code)
    db.session.commit()
    ann = login_as("cashier", username="ann")
    assert scan(ann, canteen, factories.create_card(elders[1])).status_code == 201
    factories.create_meal(canteen, elders[2], payment={"method": "cash"})

    body = shift_report(login_as("manager").user, canteen, order.date)

    assert [row["cashier"] for row in body["cashiers"]] == ["ann"]
    others = body["not_at_counter"]
    assert others["recorded_by"] == sorted(["factory-cashier", volunteer.username])
    assert (others["meals"], others["cash_fen"]) == (2, 1300)
    # The delivered meal's fee and its subsidy are on the report, so the money adds up.
    assert (body["delivery_fee_fen"], body["delivery_subsidy_fen"]) == (500, 300)
    assert body["elder_pays_fen"] == (
        body["price_fen"]
        + body["delivery_fee_fen"]
        - body["subsidy_fen"]
        - body["delivery_subsidy_fen"]
    )
    rows = [*body["cashiers"], others]
    assert sum(row["meals"] for row in rows) == body["meals"] == 3
    assert sum(row["subsidy_fen"] for row in rows) == body["subsidy_fen"]
    for column, total in [("cash_fen", "cash"), ("e_payment_fen", "e_payment"),
                          ("balance_fen", "balance")]:  # fmt: skip
        assert sum(row[column] for row in rows) == body["taken"][total]


def test_a_report_of_counter_meals_only_has_no_row_for_others(login_as, canteen, shift):
    body = login_as("manager").get(f"/api/v1/canteens/{canteen.id}/shift-report").get_json()
    assert body["not_at_counter"] is None
    assert (body["delivery_fee_fen"], body["delivery_subsidy_fen"]) == (0, 0)


@pytest.mark.parametrize(
    ("moment", "slot"),
    [("06:00", "breakfast"), ("09:59", "lunch"), ("12:00", "lunch"), ("13:31", "dinner"),
     ("21:00", "dinner")],
)  # fmt: skip
def test_a_top_up_counts_to_the_shift_of_the_next_meal_window(moment, slot):
    from mealservice.counter.services import shift_of

    windows = {
        "breakfast": ["06:30", "09:00"],
        "lunch": ["10:30", "13:30"],
        "dinner": ["16:30", "19:00"],
    }
    assert shift_of(windows, moment) == slot
