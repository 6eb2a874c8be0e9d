import pytest

from tests import factories
from tests.core.test_errors import assert_error


def test_an_admin_creates_a_district_with_the_default_windows_and_standards(login_as):
    response = login_as("admin").post(
        "/api/v1/districts", json={"code": "330106", "name": "西湖区"}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["timezone"] == "Asia/Shanghai"
    assert body["slot_windows"] == {
        "breakfast": ["06:00", "09:30"],
        "lunch": ["10:30", "13:30"],
        "dinner": ["16:30", "19:30"],
    }
    assert body["standards"]["canteen"] == {"min_seats": 50, "min_dining_area_m2": 50}
    assert body["standards"]["meal_point"] == {"min_seats": 10, "min_dining_area_m2": 20}
    assert body["walking_radius_m"] == 1000


def test_a_district_can_set_its_zone_windows_and_standards(login_as):
    body = {
        "code": "650102",
        "name": "天山区",
        "timezone": "Asia/Urumqi",
        "slot_windows": {"lunch": ["12:00", "15:00"]},
        "standards": {"meal_point": {"min_seats": 15, "min_dining_area_m2": 25}},
        "walking_radius_m": 1500,
    }
    created = login_as("admin").post("/api/v1/districts", json=body).get_json()
    assert created["timezone"] == "Asia/Urumqi"
    assert created["slot_windows"]["lunch"] == ["12:00", "15:00"]
    assert created["slot_windows"]["breakfast"] == ["06:00", "09:30"]
    assert created["standards"]["meal_point"] == {"min_seats": 15, "min_dining_area_m2": 25}
    assert created["standards"]["canteen"] == {"min_seats": 50, "min_dining_area_m2": 50}
    assert created["walking_radius_m"] == 1500


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "a"}, "code"),
        ({"name": ""}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"slot_windows": {"lunch": ["25:00", "26:00"]}}, "slot_windows.lunch.0"),
        ({"slot_windows": {"lunch": ["10:00"]}}, "slot_windows.lunch"),
        ({"slot_windows": {"lunch": ["13:00", "11:00"]}}, "slot_windows.lunch"),
        ({"slot_windows": {"dinner": ["12:00", "18:00"]}}, "slot_windows.dinner"),
        (
            {"standards": {"canteen": {"min_seats": -1, "min_dining_area_m2": 50}}},
            "standards.canteen.min_seats",
        ),
        ({"standards": {"tent": {"min_seats": 1, "min_dining_area_m2": 1}}}, "standards.tent"),
        ({"walking_radius_m": 50}, "walking_radius_m"),
        ({"walking_radius_m": 20_000}, "walking_radius_m"),
        ({"walking_radius_m": "500"}, "walking_radius_m"),
    ],
)
def test_bad_district_fields_are_named(login_as, change, field):
    body = {"code": "330108", "name": "滨江区", **change}
    error = assert_error(
        login_as("admin").post("/api/v1/districts", json=body), 422, "validation_error"
    )
    assert field in error["fields"], error["fields"]


def test_a_second_district_with_the_same_code_is_a_409(login_as, district):
    error = assert_error(
        login_as("admin").post("/api/v1/districts", json={"code": district.code, "name": "again"}),
        409,
        "duplicate_code",
    )
    assert district.code in error["message"]


def test_an_official_reads_only_their_own_district(login_as, district):
    other = factories.create_district()
    official = login_as("official")
    assert official.get(f"/api/v1/districts/{district.code}").status_code == 200
    assert_error(official.get(f"/api/v1/districts/{other.code}"), 404, "not_found")
    listed = [d["code"] for d in official.get("/api/v1/districts").get_json()["items"]]
    assert listed == [district.code]


def test_an_official_sets_their_districts_standards(login_as, district):
    official = login_as("official")
    response = official.put(
        f"/api/v1/districts/{district.code}/standards",
        json={"meal_point": {"min_seats": 12, "min_dining_area_m2": 24}},
    )
    assert response.status_code == 200
    standards = response.get_json()["standards"]
    assert standards["meal_point"] == {"min_seats": 12, "min_dining_area_m2": 24}
    assert standards["canteen"] == {"min_seats": 50, "min_dining_area_m2": 50}
    other = factories.create_district()
    assert_error(
        official.put(f"/api/v1/districts/{other.code}/standards", json={}), 404, "not_found"
    )


def test_an_admin_edits_a_districts_windows(login_as, district):
    admin = login_as("admin")
    response = admin.patch(
        f"/api/v1/districts/{district.code}", json={"slot_windows": {"dinner": ["17:00", "19:00"]}}
    )
    assert response.status_code == 200
    assert response.get_json()["slot_windows"]["dinner"] == ["17:00", "19:00"]
    error = assert_error(
        admin.patch(
            f"/api/v1/districts/{district.code}",
            json={"slot_windows": {"dinner": ["11:00", "19:00"]}},
        ),
        422,
        "validation_error",
    )
    assert "slot_windows.dinner" in error["fields"]


def test_an_admin_sets_a_districts_walking_circle(login_as, district, db):
    # Luoyang's plan: a meal place within 500 m, ten minutes' walk.
    admin = login_as("admin")
    response = admin.patch(f"/api/v1/districts/{district.code}", json={"walking_radius_m": 500})
    assert response.status_code == 200
    assert response.get_json()["walking_radius_m"] == 500
    assert admin.get(f"/api/v1/districts/{district.code}").get_json()["walking_radius_m"] == 500
    error = assert_error(
        admin.patch(f"/api/v1/districts/{district.code}", json={"walking_radius_m": 0}),
        422,
        "validation_error",
    )
    assert "100 to 5000" in error["fields"]["walking_radius_m"][0]
    db.session.refresh(district)
    assert district.walking_radius_m == 500


def test_the_database_refuses_a_walking_circle_out_of_range(db, district):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from mealservice.places.models import District

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            update(District).where(District.code == district.code).values(walking_radius_m=0)
        )


def test_communities_are_created_listed_and_unique_across_the_service(login_as, district):
    admin = login_as("admin")
    body = {
        "code": "330106001001",
        "name": "保俶塔社区",
        "street": "北山街道",
        "location": {"lat": 30.2665, "lng": 120.1482},
    }
    created = admin.post(f"/api/v1/districts/{district.code}/communities", json=body)
    assert created.status_code == 201
    assert created.get_json() | {"id": 0} == {**body, "id": 0, "district": district.code}
    listed = admin.get(f"/api/v1/districts/{district.code}/communities").get_json()["items"]
    assert "330106001001" in [c["code"] for c in listed]
    other = factories.create_district()
    assert_error(
        admin.post(f"/api/v1/districts/{other.code}/communities", json=body), 409, "duplicate_code"
    )


def test_a_community_needs_code_name_and_street(login_as, district):
    error = assert_error(
        login_as("admin").post(f"/api/v1/districts/{district.code}/communities", json={}),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"code", "name", "street"}


def test_communities_of_an_unknown_district_are_404(login_as):
    assert_error(login_as("admin").get("/api/v1/districts/000000/communities"), 404, "not_found")


def canteen_body(district, **fields) -> dict:
    data = factories.canteen_data(district, **fields)
    return data


def test_an_official_registers_a_canteen(login_as, district):
    body = canteen_body(district)
    response = login_as("official").post("/api/v1/canteens", json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert isinstance(created["id"], int)
    for field in (
        "name",
        "kind",
        "district",
        "community",
        "seats_per_meal",
        "functions",
        "operator_type",
        "address",
        "location",
        "monthly_operating_subsidy_fen",
    ):
        assert created[field] == body[field], field


@pytest.mark.parametrize(
    ("kind", "seats", "area", "fields"),
    [
        ("canteen", 49, 60, {"seats_per_meal"}),
        ("canteen", 60, 40, {"dining_area_m2"}),
        ("meal_point", 9, 20, {"seats_per_meal"}),
        ("meal_point", 10, 19.5, {"dining_area_m2"}),
    ],
)
def test_a_place_below_the_standard_for_its_kind_is_refused_naming_the_field(
    login_as, district, kind, seats, area, fields
):
    body = canteen_body(district, kind=kind, seats_per_meal=seats, dining_area_m2=area)
    error = assert_error(
        login_as("admin").post("/api/v1/canteens", json=body), 422, "validation_error"
    )
    assert set(error["fields"]) == fields


@pytest.mark.parametrize("kind", ["dining_table", "rural_point"])
def test_tables_and_rural_points_have_no_minimum(login_as, district, kind):
    body = canteen_body(
        district, kind=kind, seats_per_meal=4, dining_area_m2=8, functions=["dine_in"]
    )
    assert login_as("admin").post("/api/v1/canteens", json=body).status_code == 201


def test_functions_are_not_restricted_by_kind(login_as, district):
    body = canteen_body(
        district,
        kind="meal_point",
        seats_per_meal=12,
        dining_area_m2=25,
        functions=["cooking", "delivery"],
    )
    assert login_as("admin").post("/api/v1/canteens", json=body).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "restaurant"}, "kind"),
        ({"functions": []}, "functions"),
        ({"functions": ["dancing"]}, "functions.0"),
        ({"functions": ["cooking", "cooking"]}, "functions"),
        ({"operator_type": "state"}, "operator_type"),
        ({"seats_per_meal": 60.5}, "seats_per_meal"),
        ({"seats_per_meal": 0}, "seats_per_meal"),
        ({"monthly_operating_subsidy_fen": 12.5}, "monthly_operating_subsidy_fen"),
        ({"monthly_operating_subsidy_fen": -1}, "monthly_operating_subsidy_fen"),
        ({"location": {"lat": 30.1}}, "location.lng"),
        ({"address": ""}, "address"),
        ({"district": "000000"}, "district"),
        ({"community": "nowhere"}, "community"),
    ],
)
def test_bad_canteen_fields_are_named(login_as, district, change, field):
    body = {**canteen_body(district), **change}
    error = assert_error(
        login_as("admin").post("/api/v1/canteens", json=body), 422, "validation_error"
    )
    assert field in error["fields"], error["fields"]


def test_a_community_of_another_district_is_refused(login_as, district):
    other = factories.create_district()
    foreign = factories.create_community(other)
    body = canteen_body(district, community=foreign)
    error = assert_error(
        login_as("admin").post("/api/v1/canteens", json=body), 422, "validation_error"
    )
    assert error["fields"] == {"community": ["No such community in this district."]}


def test_an_official_cannot_register_in_another_district(login_as, district):
    other = factories.create_district()
    error = assert_error(
        login_as("official").post("/api/v1/canteens", json=canteen_body(other)),
        422,
        "validation_error",
    )
    assert "district" in error["fields"]


def test_nothing_is_half_written_when_a_canteen_is_refused(login_as, district, db):
    from sqlalchemy import func, select

    from mealservice.places.models import Canteen

    before = db.session.scalar(select(func.count()).select_from(Canteen))
    login_as("admin").post("/api/v1/canteens", json=canteen_body(district, seats_per_meal=10))
    assert db.session.scalar(select(func.count()).select_from(Canteen)) == before


def test_canteens_near_a_point_come_nearest_first_with_distances(login_as):
    district = factories.create_district()
    community = factories.create_community(district)
    places = {
        "near": (30.2741, 120.1551),
        "middle": (30.2800, 120.1551),
        "far": (30.3200, 120.1551),
    }
    for name, (lat, lng) in places.items():
        factories.create_canteen(district, community, name=name, location={"lat": lat, "lng": lng})
    admin = login_as("admin")
    items = admin.get(
        f"/api/v1/canteens?district={district.code}&near=30.2741,120.1551&radius_m=1000"
    ).get_json()["items"]
    names = [i["name"] for i in items]
    assert names[:2] == ["near", "middle"] and "far" not in names
    distances = [i["distance_m"] for i in items]
    assert distances == sorted(distances)
    assert distances[0] == 0 and 600 < distances[1] < 700
    everything = admin.get(
        f"/api/v1/canteens?district={district.code}&near=30.2741,120.1551"
    ).get_json()["items"]
    assert "far" in [i["name"] for i in everything]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("near=30.27", "near"),
        ("near=abc,def", "near"),
        ("near=95,120", "near"),
        ("radius_m=500", "radius_m"),
        ("near=30,120&radius_m=0", "radius_m"),
    ],
)
def test_bad_near_queries_are_named(login_as, query, field):
    error = assert_error(
        login_as("admin").get(f"/api/v1/canteens?{query}"), 422, "validation_error"
    )
    assert field in error["fields"]


def test_canteens_filter_by_community(login_as, district):
    community = factories.create_community(district)
    factories.create_canteen(district, community, name="here")
    items = (
        login_as("admin").get(f"/api/v1/canteens?community={community.code}").get_json()["items"]
    )
    assert [i["name"] for i in items] == ["here"]


def test_family_sees_public_fields_of_every_districts_canteens(login_as, canteen):
    other_district = factories.create_district()
    elsewhere = factories.create_canteen(other_district)
    family = login_as("family")
    items = family.get("/api/v1/canteens?per_page=200").get_json()["items"]
    ids = {i["id"] for i in items}
    assert {canteen.id, elsewhere.id} <= ids
    one = family.get(f"/api/v1/canteens/{elsewhere.id}").get_json()
    assert one["name"] == elsewhere.name
    assert "monthly_operating_subsidy_fen" not in one
    assert "operator_type" not in one


def test_canteen_staff_see_only_their_own_canteen(login_as, district, canteen):
    other = factories.create_canteen(district)
    for role in ("manager", "cashier"):
        client = login_as(role)
        assert [i["id"] for i in client.get("/api/v1/canteens").get_json()["items"]] == [canteen.id]
        assert (
            client.get(f"/api/v1/canteens/{canteen.id}").get_json()["monthly_operating_subsidy_fen"]
            == 1_000_000
        )
        assert_error(client.get(f"/api/v1/canteens/{other.id}"), 404, "not_found")


def test_an_official_sees_the_canteens_of_their_district_only(login_as, canteen):
    elsewhere = factories.create_canteen(factories.create_district())
    official = login_as("official")
    ids = {i["id"] for i in official.get("/api/v1/canteens?per_page=200").get_json()["items"]}
    assert canteen.id in ids and elsewhere.id not in ids
    assert_error(official.get(f"/api/v1/canteens/{elsewhere.id}"), 404, "not_found")


def test_a_manager_edits_their_own_canteens_details(login_as, canteen):
    manager = login_as("manager")
    response = manager.patch(
        f"/api/v1/canteens/{canteen.id}",
        json={"phone": "0571-8888", "opening_hours": "10:30–13:30"},
    )
    assert response.status_code == 200
    assert response.get_json()["phone"] == "0571-8888"


def test_a_manager_cannot_change_what_the_district_registered(login_as, canteen):
    error = assert_error(
        login_as("manager").patch(
            f"/api/v1/canteens/{canteen.id}",
            json={"seats_per_meal": 500, "monthly_operating_subsidy_fen": 9},
        ),
        403,
        "forbidden",
    )
    assert (
        "monthly_operating_subsidy_fen" in error["message"] and "seats_per_meal" in error["message"]
    )


def test_a_manager_cannot_edit_another_canteen(login_as, district):
    other = factories.create_canteen(district)
    assert_error(
        login_as("manager").patch(f"/api/v1/canteens/{other.id}", json={"phone": "1"}),
        404,
        "not_found",
    )


def test_an_official_edit_is_held_to_the_standard(login_as, canteen):
    official = login_as("official")
    assert (
        official.patch(f"/api/v1/canteens/{canteen.id}", json={"seats_per_meal": 60}).get_json()[
            "seats_per_meal"
        ]
        == 60
    )
    error = assert_error(
        official.patch(f"/api/v1/canteens/{canteen.id}", json={"seats_per_meal": 30}),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"seats_per_meal"}
    assert official.get(f"/api/v1/canteens/{canteen.id}").get_json()["seats_per_meal"] == 60


def test_district_and_community_are_not_edited_through_patch(login_as, canteen):
    error = assert_error(
        login_as("admin").patch(f"/api/v1/canteens/{canteen.id}", json={"district": "x"}),
        422,
        "validation_error",
    )
    assert error["fields"] == {"district": ["Unknown field."]}


def test_an_unknown_canteen_is_404(login_as):
    assert_error(login_as("admin").get("/api/v1/canteens/999999"), 404, "not_found")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": {"lat": 30.1}}, "location.lng"),
        ({"location": {"lat": 91, "lng": 120}}, "location.lat"),
        ({"functions": []}, "functions"),
        ({"functions": ["cooking", "cooking"]}, "functions"),
        ({"kind": "restaurant"}, "kind"),
        ({"operator_type": "state"}, "operator_type"),
        ({"dining_area_m2": -1}, "dining_area_m2"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_canteen_changes_are_named(login_as, canteen, change, field):
    error = assert_error(
        login_as("admin").patch(f"/api/v1/canteens/{canteen.id}", json=change),
        422,
        "validation_error",
    )
    assert field in error["fields"], error["fields"]


def test_an_official_moves_a_canteens_pin_and_kind(login_as, canteen):
    official = login_as("official")
    body = official.patch(
        f"/api/v1/canteens/{canteen.id}",
        json={"location": {"lat": 30.28, "lng": 120.16}, "kind": "meal_point"},
    ).get_json()
    assert body["location"] == {"lat": 30.28, "lng": 120.16}
    assert body["kind"] == "meal_point"


def test_a_raised_standard_does_not_lock_existing_places_out_of_small_edits(
    login_as, canteen, district
):
    official = login_as("official")
    official.put(
        f"/api/v1/districts/{district.code}/standards",
        json={"canteen": {"min_seats": 100, "min_dining_area_m2": 50}},
    )
    manager = login_as("manager")
    response = manager.patch(f"/api/v1/canteens/{canteen.id}", json={"phone": "0571-3333"})
    assert response.status_code == 200
    # A change to what the standard judges is held to the new figure.
    error = assert_error(
        official.patch(f"/api/v1/canteens/{canteen.id}", json={"seats_per_meal": 90}),
        422,
        "validation_error",
    )
    assert error["fields"] == {
        "seats_per_meal": ["A canteen must serve at least 100 people per meal."]
    }


def test_a_district_without_a_zone_follows_the_timezone_setting(login_as, app, monkeypatch):
    admin = login_as("admin")
    created = admin.post("/api/v1/districts", json={"code": "330110", "name": "余杭区"}).get_json()
    assert created["timezone"] == "Asia/Shanghai"
    monkeypatch.setitem(app.config, "TIMEZONE", "Asia/Urumqi")
    assert admin.get("/api/v1/districts/330110").get_json()["timezone"] == "Asia/Urumqi"


def test_a_community_is_found_by_its_code(login_as, canteen, district):
    community = canteen.community
    admin = login_as("admin")
    body = admin.get(f"/api/v1/districts/{district.code}/communities/{community.code}").get_json()
    assert body["code"] == community.code and body["district"] == district.code
    assert_error(admin.get(f"/api/v1/districts/{district.code}/communities/nope"), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/districts/%00", "/api/v1/districts/a%20b/communities"])
def test_malformed_codes_in_paths_are_not_found(login_as, path):
    assert_error(login_as("admin").get(path), 404, "not_found")


def test_family_get_the_public_projection_in_lists_too(login_as, canteen):
    items = login_as("family").get("/api/v1/canteens?per_page=200").get_json()["items"]
    assert items
    for item in items:
        assert "monthly_operating_subsidy_fen" not in item and "operator_type" not in item
        assert {"id", "name", "address", "location", "functions"} <= set(item)
