"""The "Who may do what" table of API.md, walked for every role on every guarded operation."""

from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from mealservice.core.auth import PERMISSIONS, Role
from mealservice.core.db import db
from tests import factories
from tests.core.test_errors import assert_error

STAFF_READ = {"admin", "official", "manager"}
EVERYONE_WHO_READS_CANTEENS = {"admin", "official", "manager", "cashier", "family", "elder"}
ELDER_READERS = {"admin", "official", "manager", "family", "elder"}

# (method, path, roles allowed), transcribed from API.md's table.
TABLE = [
    ("GET", "/api/v1/districts", STAFF_READ),
    ("POST", "/api/v1/districts", {"admin"}),
    ("GET", "/api/v1/districts/{district}", STAFF_READ),
    ("PATCH", "/api/v1/districts/{district}", {"admin"}),
    ("PUT", "/api/v1/districts/{district}/standards", {"admin", "official"}),
    ("GET", "/api/v1/districts/{district}/communities", STAFF_READ),
    ("GET", "/api/v1/districts/{district}/communities/{community}", STAFF_READ),
    ("POST", "/api/v1/districts/{district}/communities", {"admin"}),
    ("GET", "/api/v1/canteens", EVERYONE_WHO_READS_CANTEENS),
    ("POST", "/api/v1/canteens", {"admin", "official"}),
    ("GET", "/api/v1/canteens/{canteen}", EVERYONE_WHO_READS_CANTEENS),
    ("PATCH", "/api/v1/canteens/{canteen}", {"admin", "official", "manager"}),
    ("GET", "/api/v1/users", {"admin", "official", "manager"}),
    ("POST", "/api/v1/users", {"admin", "official", "manager"}),
    ("GET", "/api/v1/users/{user}", {"admin", "official", "manager"}),
    ("POST", "/api/v1/users/{user}/revoke-access", {"admin", "official", "manager"}),
    ("POST", "/api/v1/users/{user}/deactivate", {"admin", "official", "manager"}),
    ("POST", "/api/v1/users/{inactive}/reactivate", {"admin", "official", "manager"}),
    ("POST", "/api/v1/users/{user}/password", {"admin", "official", "manager"}),
    ("GET", "/api/v1/elders", ELDER_READERS),
    ("POST", "/api/v1/elders", {"admin", "official"}),
    ("POST", "/api/v1/elders/import", {"admin", "official"}),
    ("GET", "/api/v1/elders/{elder}", ELDER_READERS),
    ("PATCH", "/api/v1/elders/{elder}", {"admin", "official"}),
    ("GET", "/api/v1/districts/{district}/subsidy-policies", STAFF_READ),
    ("POST", "/api/v1/districts/{district}/subsidy-policies", {"admin", "official"}),
    ("GET", "/api/v1/holidays", STAFF_READ),
    ("PUT", "/api/v1/holidays/2026-10-01", {"admin"}),
    ("DELETE", "/api/v1/holidays/2026-10-01", {"admin"}),
    ("GET", "/api/v1/canteens/{canteen}/menus", EVERYONE_WHO_READS_CANTEENS),
    ("POST", "/api/v1/canteens/{canteen}/menus", {"admin", "manager"}),
    ("GET", "/api/v1/menus", EVERYONE_WHO_READS_CANTEENS),
    ("POST", "/api/v1/elders/{elder}/cards", {"admin", "official", "manager"}),
    ("POST", "/api/v1/cards/{card}/revoke", {"admin", "official", "manager"}),
    ("GET", "/api/v1/cards/{card}/qr.png", {"admin", "official", "manager", "family", "elder"}),
    ("POST", "/api/v1/canteens/{canteen}/scans", {"admin", "manager", "cashier"}),
    ("GET", "/api/v1/canteens/{canteen}/meals", {"admin", "official", "manager", "cashier"}),
    ("GET", "/api/v1/meals/{meal}", {"admin", "official", "manager", "cashier"}),
    ("POST", "/api/v1/meals/{meal}/void", {"admin", "manager"}),
    (
        "GET",
        "/api/v1/canteens/{canteen}/elder-lookup?name=x&phone_last4=1234",
        {"admin", "official", "manager", "cashier"},
    ),
    (
        "GET",
        "/api/v1/elders/{elder}/quote?canteen_id={canteen}&date={today}&slot=lunch",
        {"admin", "official", "manager", "cashier", "family", "elder"},
    ),
    ("POST", "/api/v1/canteens/{canteen}/top-ups", {"admin", "manager", "cashier"}),
    ("POST", "/api/v1/canteens/{canteen}/payouts", {"admin", "manager", "cashier"}),
    ("GET", "/api/v1/elders/{elder}/balance", ELDER_READERS),
    ("GET", "/api/v1/canteens/{canteen}/terminals", STAFF_READ),
    ("POST", "/api/v1/canteens/{canteen}/terminals", {"admin", "manager"}),
    ("POST", "/api/v1/terminals/{terminal}/revoke", {"admin", "manager"}),
    ("GET", "/api/v1/canteens/{canteen}/card-list", {"admin", "manager", "cashier"}),
    ("GET", "/api/v1/canteens/{canteen}/offline-roster", {"admin", "manager", "cashier"}),
    ("GET", "/api/v1/canteens/{canteen}/refused-scans", {"admin", "manager", "cashier"}),
    ("POST", "/api/v1/canteens/{canteen}/refused-scans", {"admin", "manager", "cashier"}),
    ("POST", "/api/v1/refused-scans/{refused}/retry", {"admin", "manager", "cashier"}),
    ("POST", "/api/v1/refused-scans/{refused}/dismiss", {"admin", "manager", "cashier"}),
    ("GET", "/api/v1/canteens/{canteen}/shift-report", {"admin", "official", "manager", "cashier"}),
    ("POST", "/api/v1/orders", {"admin", "manager", "family", "elder"}),
    ("GET", "/api/v1/orders", ELDER_READERS),
    ("GET", "/api/v1/orders/{order}", ELDER_READERS),
    ("POST", "/api/v1/orders/{order}/cancel", {"admin", "manager", "family", "elder"}),
    ("POST", "/api/v1/meals/{meal}/rating", {"family", "elder"}),
    ("GET", "/api/v1/canteens/{canteen}/ratings", STAFF_READ),
    ("GET", "/api/v1/menus/{menu}", EVERYONE_WHO_READS_CANTEENS),
    ("PATCH", "/api/v1/menus/{menu}", {"admin", "manager"}),
    ("POST", "/api/v1/menus/{menu}/publish", {"admin", "manager"}),
    ("POST", "/api/v1/canteens/{canteen}/menus/copy-week", {"admin", "manager"}),
    (
        "GET",
        "/api/v1/canteens/{canteen}/kitchen-counts?date={today}&slot=lunch",
        {"admin", "official", "manager", "cashier"},
    ),
    ("POST", "/api/v1/canteens/{canteen}/delivery-runs", {"admin", "manager"}),
    # Volunteers reach only the runs given to them: the delivery tests walk that.
    ("GET", "/api/v1/delivery-runs/{run}", STAFF_READ),
    ("GET", "/api/v1/canteens/{canteen}/deliveries", STAFF_READ | {"volunteer"}),
    ("POST", "/api/v1/orders/{failed}/redispatch", {"admin", "manager"}),
    ("POST", "/api/v1/orders/{order}/drop", {"admin", "manager"}),
    ("GET", "/api/v1/alerts", STAFF_READ),
    ("POST", "/api/v1/alerts/{alert}/follow-up", STAFF_READ),
    ("GET", "/api/v1/canteens/{canteen}/capacity", STAFF_READ),
    ("POST", "/api/v1/canteens/{canteen}/claims", {"admin", "manager"}),
    ("GET", "/api/v1/canteens/{canteen}/claims/preview?month=2026-10", STAFF_READ),
    ("GET", "/api/v1/claims", STAFF_READ),
    ("GET", "/api/v1/claims/{claim}", STAFF_READ),
    ("GET", "/api/v1/claims/{claim}/lines", STAFF_READ),
    ("GET", "/api/v1/claims/{claim}.xlsx", STAFF_READ),
    ("POST", "/api/v1/claims/{claim}/review", {"admin", "official"}),
    ("POST", "/api/v1/claims/{rejected}/resubmit", {"admin", "manager"}),
    ("GET", "/api/v1/districts/{district}/claims-summary?month=2026-10", {"admin", "official"}),
    (
        "GET",
        "/api/v1/districts/{district}/claims-summary.xlsx?month=2026-10",
        {"admin", "official"},
    ),
    ("GET", "/api/v1/districts/{district}/dashboard", STAFF_READ),
    ("GET", "/api/v1/districts/{district}/satisfaction?month=2026-10", STAFF_READ),
    ("GET", "/api/v1/access-log", STAFF_READ),
    ("GET", "/api/v1/districts/{district}/risk?month=2026-10", STAFF_READ),
    ("POST", "/api/v1/claims/{claim}/samples", {"admin", "official"}),
    ("GET", "/api/v1/claims/{claim}/samples", STAFF_READ),
    ("POST", "/api/v1/samples/{sample}/outcome", {"admin", "official"}),
    ("PUT", "/api/v1/canteens/{canteen}/filing", {"admin", "official"}),
    ("PUT", "/api/v1/canteens/{canteen}/grade", {"admin", "official"}),
    ("GET", "/api/v1/canteens/{canteen}/oversight", STAFF_READ),
    ("POST", "/api/v1/canteens/{canteen}/blacklist", {"admin", "official"}),
    ("POST", "/api/v1/blacklist/{blacklist}/lift", {"admin", "official"}),
    ("POST", "/api/v1/districts/{district}/inspections/draw", {"admin", "official"}),
    ("GET", "/api/v1/inspections", {"admin", "official", "inspector"}),
    ("POST", "/api/v1/inspections/{inspection}/result", {"admin", "inspector"}),
    ("POST", "/api/v1/standing-orders", {"admin", "manager", "family", "elder"}),
    ("GET", "/api/v1/standing-orders", ELDER_READERS),
    ("GET", "/api/v1/standing-orders/{standing}", ELDER_READERS),
    ("POST", "/api/v1/standing-orders/{standing}/stop", {"admin", "manager", "family", "elder"}),
    (
        "POST",
        "/api/v1/standing-orders/{standing}/holds",
        {"admin", "manager", "family", "elder"},
    ),
    (
        "DELETE",
        "/api/v1/standing-orders/{standing}/holds/{hold}",
        {"admin", "manager", "family", "elder"},
    ),
]


# Objects a role never reaches, whatever its permission: not found rather than forbidden
# (a volunteer's runs are the runs given to them; delivery drops and welfare alerts are
# the canteen's and the district's business, not the family's).
OUT_OF_REACH = {
    ("GET", "/api/v1/delivery-runs/{run}"): {"volunteer"},
    ("POST", "/api/v1/orders/{order}/drop"): {"volunteer", "family", "elder"},
    ("POST", "/api/v1/alerts/{alert}/follow-up"): {"family", "elder"},
    # The test's inspection was drawn for another inspector.
    ("POST", "/api/v1/inspections/{inspection}/result"): {"inspector"},
}


def route_to(path: str, district, canteen, user, elder) -> str:
    card = factories.create_card(elder)
    meal = factories.create_meal(canteen, elder) if "{meal}" in path or "{today}" in path else None
    terminal = factories.create_terminal(canteen) if "{terminal}" in path else None
    order = factories.create_order(canteen, elder) if "{order}" in path else None
    menu = factories.create_menu(canteen, district.local_today() + timedelta(days=1), "dinner") if "{menu}" in path else None  # fmt: skip
    standing = factories.create_standing_order(canteen, elder) if "{standing}" in path else None
    run = factories.create_volunteer_run(canteen, elder) if "{run}" in path else None
    alert = (
        factories.create_alert(canteen, elder) if "{alert}" in path or "{failed}" in path else None
    )
    claim = factories.create_claim(canteen) if "{claim}" in path else None
    sample = factories.create_sample(canteen, elder) if "{sample}" in path else None
    blacklisted = factories.create_blacklist_entry(canteen) if "{blacklist}" in path else None
    inspection = factories.create_inspection(district) if "{inspection}" in path else None
    rejected = factories.create_claim(canteen, rejected=True) if "{rejected}" in path else None
    inactive = factories.create_user("cashier", canteen=canteen) if "{inactive}" in path else None
    refused = factories.create_refused_scan(canteen) if "{refused}" in path else None
    if inactive is not None:
        inactive.active = False
        db.session.commit()
    return path.format(
        inactive=inactive.id if inactive else None,
        refused=refused.id if refused else None,
        claim=claim.id if claim else None,
        sample=sample.id if sample else None,
        blacklist=blacklisted.id if blacklisted else None,
        inspection=inspection.id if inspection else None,
        rejected=rejected.id if rejected else None,
        run=run.id if run else None,
        alert=alert.id if alert else None,
        failed=alert.order_id if alert else None,
        standing=standing.id if standing else None,
        hold=standing.holds[0].id if standing else None,
        menu=menu.id if menu else None,
        order=order.id if order else None,
        terminal=terminal.id if terminal else None,
        meal=meal.id if meal else None,
        today=district.local_today().isoformat(),
        card=card.id,
        district=district.code,
        canteen=canteen.id,
        user=user.id,
        community=canteen.community.code,
        elder=elder.id,
    )


def call(client, method: str, url: str):
    """The operation with a token and, for writes, an empty body."""
    return client.client.open(
        url,
        method=method,
        json={} if method != "GET" else None,
        headers={"Authorization": f"Bearer {client.token}"},
    )


@contextmanager
def undone_afterwards(database):
    """A block whose writes are rolled back as it ends (a savepoint of the test's own
    connection around the session's): one role's call leaves nothing that the next
    role's call on the same objects would meet."""
    connection = database.session.get_bind()
    database.session.commit()
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        database.session.rollback()
        savepoint.rollback()
        database.session.expire_all()


# One world an operation, made once and called by every role in turn (each call undone
# afterwards), where a world a role cost eight times the setup for the same answers.
@pytest.mark.parametrize(
    ("method", "path", "allowed"), TABLE, ids=[f"{m} {p}" for m, p, _ in TABLE]
)
def test_each_role_gets_exactly_what_the_table_grants(
    db, login_as, district, canteen, elder, subtests, method, path, allowed
):
    staff = factories.create_user("cashier", canteen=canteen)
    factories.create_holiday(date(2026, 10, 1), "国庆节")
    url = route_to(path, district, canteen, staff, elder)
    for role in [r.value for r in Role]:
        with subtests.test(role=role), undone_afterwards(db):
            response = call(login_as(role), method, url)
            if role in OUT_OF_REACH.get((method, path), ()):
                assert_error(response, 404, "not_found")
            elif role in allowed:
                # Reads succeed; writes with an empty body succeed or name the missing fields.
                expected = {200} if method == "GET" else {200, 201, 422}
                assert response.status_code in expected, (role, method, url, response.get_json())
            else:
                assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path", "allowed"), TABLE, ids=[f"{m} {p}" for m, p, _ in TABLE]
)
def test_every_guarded_operation_refuses_callers_without_a_token(
    anonymous, district, canteen, method, path, allowed
):
    url = path.format(
        district=district.code,
        canteen=canteen.id,
        user=1,
        inactive=1,
        community="c",
        elder=1,
        card="0" * 16,
        meal=1,
        terminal=1,
        order=1,
        menu=1,
        standing=1,
        hold=1,
        run=1,
        alert=1,
        failed=1,
        claim=1,
        rejected=1,
        sample=1,
        blacklist=1,
        inspection=1,
        refused=1,
        today="2026-10-01",
    )
    assert_error(anonymous.client.open(url, method=method, json={}), 401, "unauthorized")


def test_the_table_covers_every_guarded_operation_of_the_openapi_document(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    guarded = {
        (
            method.upper(),
            path.replace("{code}", "{district}")
            .replace("{canteen_id}", "{canteen}")
            .replace("{user_id}", "{user}")
            .replace("{community_code}", "{community}")
            .replace("{elder_id}", "{elder}")
            .replace("{day}", "2026-10-01")
            .replace("{card_id}", "{card}")
            .replace("{meal_id}", "{meal}")
            .replace("{terminal_id}", "{terminal}")
            .replace("{order_id}", "{order}")
            .replace("{menu_id}", "{menu}")
            .replace("{standing_order_id}", "{standing}")
            .replace("{hold_id}", "{hold}")
            .replace("{run_id}", "{run}")
            .replace("{alert_id}", "{alert}")
            .replace("{claim_id}", "{claim}")
            .replace("{sample_id}", "{sample}")
            .replace("{entry_id}", "{blacklist}")
            .replace("{inspection_id}", "{inspection}")
            .replace("{refused_scan_id}", "{refused}")
            .replace("/claims/{claim}/resubmit", "/claims/{rejected}/resubmit")
            .replace("/orders/{order}/redispatch", "/orders/{failed}/redispatch")
            .replace("/users/{user}/reactivate", "/users/{inactive}/reactivate"),
        )
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if "x-permission" in op
    }
    assert guarded == {(m, p.partition("?")[0]) for m, p, _ in TABLE}


def test_every_action_in_code_is_used_by_some_operation(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    used = {
        op["x-permission"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "x-permission" in op
    }
    assert used == set(PERMISSIONS)


# Objects in another district, or another canteen, are "not found" for everyone but the
# admin, whether or not the role could act on them at home.
OBJECT_ROUTES = [(m, p) for m, p, _ in TABLE if "{" in p]
# Holidays are national: they belong to no district.


@pytest.mark.parametrize(
    ("method", "path"), OBJECT_ROUTES, ids=[f"{m} {p}" for m, p in OBJECT_ROUTES]
)
def test_objects_of_another_district_are_not_found(login_as, subtests, method, path):
    elsewhere = factories.create_district()
    far_canteen = factories.create_canteen(elsewhere)
    far_user = factories.create_user("cashier", canteen=far_canteen)
    far_elder = factories.create_elder(elsewhere, far_canteen.community)
    url = route_to(path, elsewhere, far_canteen, far_user, far_elder)
    # A refusal changes nothing, so the roles share the far district's objects.
    for role in [r.value for r in Role if r not in ("admin", "family", "elder")]:
        with subtests.test(role=role):
            assert_error(call(login_as(role), method, url), 404, "not_found")


@pytest.mark.parametrize("role", ["manager", "cashier"])
def test_another_canteen_of_the_same_district_is_not_found_for_its_staff(login_as, district, role):
    other = factories.create_canteen(district)
    client = login_as(role)
    assert_error(client.get(f"/api/v1/canteens/{other.id}"), 404, "not_found")
    assert_error(
        client.patch(f"/api/v1/canteens/{other.id}", json={"phone": "1"}), 404, "not_found"
    )


def test_family_may_read_any_canteen_but_editing_is_forbidden(login_as, canteen):
    family = login_as("family")
    assert family.get(f"/api/v1/canteens/{canteen.id}").status_code == 200
    assert_error(
        family.patch(f"/api/v1/canteens/{canteen.id}", json={"phone": "1"}), 403, "forbidden"
    )
