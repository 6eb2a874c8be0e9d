"""Random inspections (双随机、一公开): the draw, the inspector's record, the published
results; the services, the API and the pages."""

import re

import pytest

from mealservice.accounts.models import User
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.oversight.models import CHECKLIST, Inspection
from mealservice.oversight.services import inspections
from tests import factories
from tests.core.test_errors import assert_error
from tests.pages import browser_as, html_of, post_form

ALL_MET = dict.fromkeys(CHECKLIST, True)


@pytest.fixture
def places(db, district, canteen):
    """The district's five meal places: the test canteen and four more."""
    return [canteen] + [factories.create_canteen(district) for _ in range(4)]


@pytest.fixture
def inspectors(db, district):
    return [factories.create_user("inspector", district=district) for _ in range(2)]


@pytest.fixture
def official(db, district):
    return factories.create_user("official", district=district)


def test_draw_picks_distinct_places_and_inspectors_of_the_district(
    db, district, places, inspectors, official
):
    elsewhere = factories.create_district()
    factories.create_canteen(elsewhere)
    far_inspector = factories.create_user("inspector", district=elsewhere)
    retired = factories.create_user("inspector", district=district)
    retired.active = False
    drawn = inspections.draw_inspections(official, district, 4, seed=7)
    assert len(drawn) == 4
    assert len({i.canteen_id for i in drawn}) == 4
    assert {i.canteen_id for i in drawn} <= {p.id for p in places}
    assert {i.inspector_id for i in drawn} <= {u.id for u in inspectors}
    assert far_inspector.id not in {i.inspector_id for i in drawn}
    assert len({i.draw_id for i in drawn}) == 1 and len(drawn[0].draw_id) == 32
    assert {i.drawn_by for i in drawn} == {official.username}
    assert all(i.result is None and i.district_code == district.code for i in drawn)


def test_a_seed_repeats_the_draw(db, district, places, inspectors):
    first = inspections.draw_inspections(None, district, 3, seed=42)
    second = inspections.draw_inspections(None, district, 3, seed=42)
    assert [(i.canteen_id, i.inspector_id) for i in first] == [
        (i.canteen_id, i.inspector_id) for i in second
    ]
    assert first[0].draw_id != second[0].draw_id


def test_every_place_may_be_drawn_at_once(db, district, places, inspectors):
    drawn = inspections.draw_inspections(None, district, len(places))
    assert {i.canteen_id for i in drawn} == {p.id for p in places}


@pytest.mark.parametrize("count", [0, 6, -1, None, True, "2"])
def test_count_outside_the_districts_places_is_refused(db, district, places, inspectors, count):
    with pytest.raises(ValidationFailed) as refused:
        inspections.draw_inspections(None, district, count)
    assert set(refused.value.fields) == {"count"}
    assert db.session.query(Inspection).count() == 0


def test_no_active_inspector_is_a_conflict(db, district, places):
    retired = factories.create_user("inspector", district=district)
    retired.active = False
    with pytest.raises(Conflict) as refused:
        inspections.draw_inspections(None, district, 1)
    assert refused.value.code == "no_inspectors"


def _one_drawn(district):
    return inspections.draw_inspections(None, district, 1, seed=1)[0]


def test_drawn_inspector_records_once(db, district, places, inspectors):
    inspection = _one_drawn(district)
    inspector = db.session.get(User, inspection.inspector_id)
    checklist = {**ALL_MET, "fire_safety": False, "prices_displayed": False}
    inspections.record_result(inspector, inspection, "rectify", checklist, " 灭火器过期 ")
    assert inspection.result == "rectify" and inspection.findings == "灭火器过期"
    assert inspection.recorded_at is not None
    assert inspections.items_not_met(inspection) == ["prices_displayed", "fire_safety"]
    with pytest.raises(Conflict) as refused:
        inspections.record_result(inspector, inspection, "passed", ALL_MET, None)
    assert refused.value.code == "already_recorded"
    assert inspection.result == "rectify"


def test_another_inspector_does_not_see_it_but_an_admin_may_record(
    db, district, places, inspectors
):
    inspection = _one_drawn(district)
    other = next(u for u in inspectors if u.id != inspection.inspector_id)
    with pytest.raises(NotFound):
        inspections.record_result(other, inspection, "passed", ALL_MET, None)
    with pytest.raises(NotFound):
        inspections.get_inspection(other, inspection.id)
    admin = factories.create_user("admin")
    inspections.record_result(admin, inspection, "passed", ALL_MET, None)
    assert inspection.result == "passed"


@pytest.mark.parametrize(
    "checklist",
    [
        {},
        {k: v for k, v in ALL_MET.items() if k != "fire_safety"},
        {**ALL_MET, "smiles": True},
        {**ALL_MET, "fire_safety": "yes"},
        {**ALL_MET, "fire_safety": 1},
        list(CHECKLIST),
    ],
)
def test_checklist_must_hold_exactly_the_items_as_booleans(
    db, district, places, inspectors, checklist
):
    inspection = _one_drawn(district)
    admin = factories.create_user("admin")
    with pytest.raises(ValidationFailed) as refused:
        inspections.record_result(admin, inspection, "passed", checklist, None)
    assert set(refused.value.fields) == {"checklist"}
    assert inspection.result is None


def test_unknown_result_is_refused(db, district, places, inspectors):
    inspection = _one_drawn(district)
    admin = factories.create_user("admin")
    with pytest.raises(ValidationFailed) as refused:
        inspections.record_result(admin, inspection, "excellent", ALL_MET, None)
    assert set(refused.value.fields) == {"result"}


def test_public_results_carry_no_personal_data(db, district, places, inspectors):
    first, second = inspections.draw_inspections(None, district, 2, seed=3)
    admin = factories.create_user("admin")
    inspections.record_result(
        admin, first, "failed", {**ALL_MET, "kitchen_hygiene": False}, "张三在后厨吸烟"
    )
    results = inspections.public_results(district.code)
    assert [r["id"] for r in results] == [first.id]  # the open one is not published
    (result,) = results
    canteen = next(p for p in places if p.id == first.canteen_id)
    assert result == {
        "id": first.id,
        "district_code": district.code,
        "canteen_id": canteen.id,
        "canteen_name": canteen.name,
        "kind": canteen.kind,
        "address": canteen.address,
        "recorded_on": district.local(first.recorded_at).date(),
        "result": "failed",
        "items_not_met": ["kitchen_hygiene"],
    }
    inspections.record_result(admin, second, "passed", ALL_MET, None)
    assert [r["id"] for r in inspections.public_results()][:2] == [second.id, first.id]
    assert inspections.public_results(factories.create_district().code) == []


# The API


def test_official_draws_and_the_drawn_inspector_records(login_as, district, places, inspectors):
    official = login_as("official")
    response = official.post(
        f"/api/v1/districts/{district.code}/inspections/draw", json={"count": 2}
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert len(body["items"]) == 2 and {i["draw_id"] for i in body["items"]} == {body["draw_id"]}
    listed = official.get("/api/v1/inspections").get_json()["items"]
    assert {i["id"] for i in listed} == {i["id"] for i in body["items"]}

    item = body["items"][0]
    inspector = next(u for u in inspectors if u.id == item["inspector_id"])
    headers = {"Authorization": f"Bearer {factories.token_for(inspector)}"}
    mine = official.client.get("/api/v1/inspections", headers=headers).get_json()["items"]
    assert {i["inspector_id"] for i in mine} == {inspector.id}
    url = f"/api/v1/inspections/{item['id']}/result"
    result = {"result": "passed", "checklist": ALL_MET, "findings": "良好"}
    response = official.client.post(url, json=result, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"] == "passed"
    assert_error(official.client.post(url, json=result, headers=headers), 409, "already_recorded")
    assert_error(official.post(url, json=result), 403, "forbidden")


def test_api_draw_refusals(login_as, district, canteen):
    official = login_as("official")
    url = f"/api/v1/districts/{district.code}/inspections/draw"
    assert_error(official.post(url, json={"count": 1}), 409, "no_inspectors")
    factories.create_user("inspector", district=district)
    error = assert_error(official.post(url, json={"count": 2}), 422, "validation_error")
    assert set(error["fields"]) == {"count"}
    elsewhere = factories.create_district()
    assert_error(
        official.post(f"/api/v1/districts/{elsewhere.code}/inspections/draw", json={"count": 1}),
        404,
        "not_found",
    )


def test_api_checklist_refusal_names_the_checklist(db, login_as, district, places, inspectors):
    inspection = _one_drawn(district)
    db.session.commit()
    admin = login_as("admin")
    error = assert_error(
        admin.post(
            f"/api/v1/inspections/{inspection.id}/result",
            json={"result": "passed", "checklist": {"fire_safety": True}},
        ),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {"checklist"}


def test_another_inspectors_inspection_is_not_found(db, login_as, district, places, inspectors):
    inspection = _one_drawn(district)
    db.session.commit()
    stranger = login_as("inspector")
    assert stranger.get("/api/v1/inspections").get_json()["items"] == []
    assert_error(
        stranger.post(
            f"/api/v1/inspections/{inspection.id}/result",
            json={"result": "passed", "checklist": ALL_MET},
        ),
        404,
        "not_found",
    )


def test_the_place_sees_only_recorded_inspections_without_the_inspector(
    db, login_as, district, canteen, places, inspectors
):
    drawn = inspections.draw_inspections(None, district, len(places))
    mine = next(i for i in drawn if i.canteen_id == canteen.id)
    db.session.commit()
    manager = login_as("manager")
    url = f"/api/v1/canteens/{canteen.id}/oversight"
    assert manager.get(url).get_json()["inspections"] == []
    official = login_as("official")
    (seen,) = official.get(url).get_json()["inspections"]
    assert seen["inspector_id"] == mine.inspector_id
    inspections.record_result(factories.create_user("admin"), mine, "passed", ALL_MET, None)
    db.session.commit()
    (seen,) = manager.get(url).get_json()["inspections"]
    assert seen["result"] == "passed"
    assert "inspector" not in seen and "inspector_id" not in seen and "drawn_by" not in seen


def test_public_results_need_no_login_and_are_documented(
    db, anonymous, district, places, inspectors
):
    inspection = _one_drawn(district)
    inspections.record_result(factories.create_user("admin"), inspection, "passed", ALL_MET, "x")
    db.session.commit()
    response = anonymous.get(f"/api/v1/public/inspections?district={district.code}")
    assert response.status_code == 200
    (item,) = response.get_json()["items"]
    assert set(item) == {
        "id",
        "district_code",
        "canteen_id",
        "canteen_name",
        "kind",
        "address",
        "recorded_on",
        "result",
        "items_not_met",
    }
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/public/inspections"]["get"]
    assert "x-permission" not in operation
    assert "200" in operation["responses"]


# The pages


def test_official_draws_on_the_page_and_sees_the_district(app, db, district, places, inspectors):
    browser = browser_as(app, "official", district=district)
    response = post_form(browser, "/inspections/draw", {"count": "9"}, "/inspections")
    assert response.status_code == 422
    assert 'data-testid="inspections-error"' in html_of(response)
    response = post_form(browser, "/inspections/draw", {"count": "3"}, "/inspections")
    assert response.status_code == 302
    html = html_of(browser.get("/inspections"))
    assert len(re.findall(r'data-testid="inspection-\d+"', html)) == 3 and "draw-form" in html
    assert 'data-testid="record-' not in html


def test_inspector_records_on_the_page(app, db, district, places):
    browser = browser_as(app, "inspector", district=district)
    inspection = _one_drawn(district)
    db.session.commit()
    html = html_of(browser.get("/inspections"))
    assert f'data-testid="record-{inspection.id}"' in html and "Kitchen hygiene" in html
    assert "draw-form" not in html
    path = f"/inspections/{inspection.id}/record"
    met = [item for item in CHECKLIST if item != "fire_safety"]
    response = post_form(browser, path, {"met": met, "findings": "x"}, "/inspections")
    assert response.status_code == 422 and "Result" in html_of(response)
    response = post_form(
        browser, path, {"met": met, "result": "rectify", "findings": "灭火器过期"}, "/inspections"
    )
    assert response.status_code == 302
    assert inspection.result == "rectify" and inspections.items_not_met(inspection) == [
        "fire_safety"
    ]
    assert f'data-testid="record-{inspection.id}"' not in html_of(browser.get("/inspections"))


def test_public_page_needs_no_login_and_names_nobody(app, db, district, places, inspectors):
    inspection = _one_drawn(district)
    inspector = db.session.get(User, inspection.inspector_id)
    inspections.record_result(
        inspector, inspection, "failed", {**ALL_MET, "fire_safety": False}, "李四 13800000000"
    )
    db.session.commit()
    client = app.test_client()
    client.get("/lang/en")
    response = client.get("/public/inspections")
    assert response.status_code == 200
    html = html_of(response)
    assert f'data-testid="public-result-{inspection.id}"' in html
    assert "Fire safety" in html and "Failed" in html
    assert inspector.username not in html and "李四" not in html and "13800000000" not in html


def test_inspections_page_is_refused_to_a_manager(app, db, canteen):
    manager = browser_as(app, "manager", canteen=canteen)
    assert manager.get("/inspections").status_code == 403
