from sqlalchemy import func, select

from mealservice.accounts.models import User
from mealservice.places.models import Canteen, Community, District
from tests.conftest import ApiClient


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_demo_loads_a_realistic_district_and_prints_the_logins(runner, db, app):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    district = db.session.get(District, "330106")
    assert district.name == "杭州市西湖区" and district.timezone == "Asia/Shanghai"
    streets = db.session.scalars(
        select(Community.street).where(Community.district_code == "330106").distinct()
    ).all()
    assert len(streets) == 3
    assert count(db, Community, Community.district_code == "330106") == 12
    assert count(db, Canteen, Canteen.kind == "canteen", Canteen.district_code == "330106") == 3
    assert count(db, Canteen, Canteen.kind == "meal_point", Canteen.district_code == "330106") == 6
    for role in ("admin", "official", "manager", "cashier"):
        line = next(line for line in result.output.splitlines() if line.split()[:1] == [role])
        username, password = line.split()[1:3]
        response = ApiClient(app.test_client()).post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200 and response.get_json()["role"] == role


def test_seed_demo_twice_changes_nothing(runner, db):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = [count(db, model) for model in (District, Community, Canteen, User)]
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert [count(db, model) for model in (District, Community, Canteen, User)] == before


def test_the_demo_places_meet_their_standards_and_lie_in_the_district(runner, db):
    runner.invoke(args=["seed-demo"])
    for canteen in db.session.scalars(select(Canteen).where(Canteen.district_code == "330106")):
        assert 30.2 < canteen.lat < 30.35 and 120.05 < canteen.lng < 120.2, canteen.name
        assert canteen.community.district_code == "330106"


def test_seed_demo_refuses_to_run_in_production(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "never runs in production" in result.output
    assert db.session.get(District, "330106") is None


def test_seed_demo_after_a_manager_renamed_a_place_adds_nothing(runner, db):
    runner.invoke(args=["seed-demo"])
    canteen = db.session.scalar(select(Canteen).where(Canteen.name == "北山街道老年食堂"))
    canteen.name = "北山街道幸福食堂"
    db.session.commit()
    before = count(db, Canteen)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert count(db, Canteen) == before
