import re
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import delete, func, select

from mealservice import demo
from mealservice.accounts.models import User
from mealservice.balances.services import owed_to_families
from mealservice.core.idnumber import age_on, birth_date_of, normalise_id_number
from mealservice.counter.models import RefusedScan
from mealservice.elders.models import AbilityLevel, Category, Elder, account_elders
from mealservice.elders.protection import decrypt_id_number, id_number_lookup_hash
from mealservice.elders.services import elders_query, linked_elder_ids
from mealservice.places.models import Canteen, Community, District
from tests.conftest import DEFAULT_INSTANT, ApiClient, instant_of, rolled_back
from tests.core.test_homes import nav_links
from tests.core.test_pages import log_in
from tests.pages import post_form


# A test here at DEFAULT_INSTANT starts from the demo as seeded once for the session
# (tests/conftest.py, DemoTemplate), so its own seed-demo runs again on a loaded district;
# one at another instant, or marked empty_database, starts from the empty schema. Either
# way in a transaction rolled back after it.
@pytest.fixture
def app(request, app):
    if instant_of(request.node) == DEFAULT_INSTANT and not request.node.get_closest_marker(
        "empty_database"
    ):
        return request.getfixturevalue("demo_app")
    return app


@pytest.fixture
def db(app):
    with rolled_back(app) as database:
        yield database


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


@pytest.mark.empty_database
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


# The elders of the demo and the family and elder logins linked to them.

REFERENCE_DATE = date(2026, 11, 24)


def demo_elders(db):
    return db.session.scalars(
        select(Elder).where(Elder.hukou_district == "330106").order_by(Elder.id)
    ).all()


def login(app, output: str, role: str) -> ApiClient:
    line = next(line for line in output.splitlines() if line.split()[:1] == [role])
    username, password = line.split()[1:3]
    client = ApiClient(app.test_client())
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200 and response.get_json()["role"] == role, response.json
    client.token = response.get_json()["token"]
    return client


def all_pages(client: ApiClient, path: str) -> tuple[list[dict], list[str]]:
    """Every item of a paged list, and the bodies of the responses."""
    items, bodies, page = [], [], 1
    while page:
        response = client.get(f"{path}?page={page}&per_page=200")
        assert response.status_code == 200, response.json
        bodies.append(response.get_data(as_text=True))
        items += response.get_json()["items"]
        page = response.get_json()["next"]
    return items, bodies


def test_the_demo_holds_about_300_realistic_elders(runner, db):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    elders = demo_elders(db)
    assert 280 <= len(elders) <= 320
    ages = [age_on(elder.birth_date, REFERENCE_DATE) for elder in elders]
    assert min(ages) >= 60 and max(ages) <= 98
    assert sum(65 <= age <= 85 for age in ages) > len(elders) / 2
    communities = db.session.scalars(
        select(Community.id).where(Community.district_code == "330106")
    ).all()
    assert {elder.community_id for elder in elders} == set(communities)
    categories = {category for elder in elders for category in elder.categories}
    assert len(categories) >= 5 and categories <= {c.value for c in Category}
    assert sum(len(elder.categories) <= 1 for elder in elders) > len(elders) * 0.7
    levels = Counter(elder.ability_level for elder in elders)
    assert set(levels) == {a.value for a in AbilityLevel}
    assert levels["intact"] + levels["mild"] > levels["moderate"] > levels["severe"]
    assert 0.15 < sum(elder.diet_notes is not None for elder in elders) / len(elders) < 0.45
    numbers = [decrypt_id_number(elder.id_number_encrypted) for elder in elders]
    assert len(set(numbers)) == len(numbers)
    for elder, number in zip(elders, numbers, strict=True):
        assert normalise_id_number(number) == number and number.startswith("330106")
        assert birth_date_of(number) == elder.birth_date
        assert elder.id_number_hash == id_number_lookup_hash(number)
        assert re.fullmatch(r"1[358]\d{9}", elder.phone), elder.phone
        community = elder.community
        assert elder.consent_given_at.year == 2026
        assert elder.consent_recorded_by.startswith(community.name + " ")
        assert community.street in elder.address
        # Within about 400 m of the community: 0.005° is some 550 m of latitude here.
        assert abs(elder.lat - community.lat) < 0.005 and abs(elder.lng - community.lng) < 0.005
    men = sum(int(number[16]) % 2 for number in numbers)
    assert 0.3 < men / len(numbers) < 0.7


def test_most_demo_elders_named_an_emergency_contact_and_some_have_diet_needs(runner, db):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    elders = demo_elders(db)
    contacts = [elder.emergency_contact for elder in elders if elder.emergency_contact]
    assert 0.5 < len(contacts) / len(elders) < 0.9
    assert all(re.fullmatch(r"1[358]\d{9}", contact["phone"]) for contact in contacts)
    needs = Counter(need for elder in elders for need in elder.diet_needs)
    assert set(needs) == {"soft", "low_salt", "low_sugar"}
    assert {"花生", "海鲜"} <= {a for elder in elders for a in elder.allergies}
    # The structured needs say what the free-text note says, never more.
    assert all(elder.diet_notes for elder in elders if elder.diet_needs or elder.allergies)


def test_no_elder_response_nor_the_cli_output_shows_a_full_id_number(runner, db, app):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    numbers = {decrypt_id_number(elder.id_number_encrypted) for elder in demo_elders(db)}
    official = login(app, result.output, "official")
    items, bodies = all_pages(official, "/api/v1/elders")
    assert len(items) == len(numbers)
    bodies += [
        official.get(f"/api/v1/elders/{item['id']}").get_data(as_text=True) for item in items[:20]
    ]
    bodies += all_pages(login(app, result.output, "family"), "/api/v1/elders")[1]
    bodies += all_pages(login(app, result.output, "elder"), "/api/v1/elders")[1]
    for text in [result.output, *bodies]:
        assert not any(number in text for number in numbers)
    masked = {item["id_number_masked"] for item in items}
    assert masked == {"*" * 14 + number[-4:] for number in numbers}
    assert not {"birth_date", "hukou_district"} & {key for item in items for key in item}


def test_seed_demo_twice_keeps_the_elders_and_their_logins(runner, db):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = count(db, Elder), db.session.execute(select(account_elders)).all()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert (count(db, Elder), db.session.execute(select(account_elders)).all()) == before


def test_the_family_login_sees_its_two_elders_and_the_elder_login_one(runner, db, app):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    family, _ = all_pages(login(app, result.output, "family"), "/api/v1/elders")
    assert len(family) == 2
    # A couple of 保俶塔社区: one home, a man and a woman.
    assert {item["community"] for item in family} == {"330106001001"}
    assert family[0]["address"] == family[1]["address"]
    genders = {int(elder_number(db, item["id"])[16]) % 2 for item in family}
    assert genders == {0, 1}
    elder_client = login(app, result.output, "elder")
    own, _ = all_pages(elder_client, "/api/v1/elders")
    assert len(own) == 1 and own[0]["id"] in {item["id"] for item in family}
    other = next(elder for elder in demo_elders(db) if elder.id not in {i["id"] for i in family})
    assert elder_client.get(f"/api/v1/elders/{other.id}").status_code == 404


def test_seed_demo_relinks_the_family_login_and_the_elders_are_the_same_every_run(runner, db):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    family = db.session.scalar(select(User).where(User.username == "family"))
    linked = linked_elder_ids(family)
    db.session.execute(delete(account_elders).where(account_elders.c.user_id == family.id))
    db.session.commit()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert linked_elder_ids(family) == linked
    first = demo.demo_elders()
    assert first == demo.demo_elders() and len(first) == demo.ELDER_COUNT


def test_the_demo_has_a_former_cashier_deactivated_whose_login_says_so(runner, db, app):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    former = db.session.scalar(select(User).where(User.username == "former.cashier"))
    assert former.role == "cashier" and not former.active
    # Someone reactivated it while exploring: the next load deactivates it again.
    former.active = True
    db.session.commit()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "former.cashier" not in result.output
    db.session.refresh(former)
    assert not former.active
    response = ApiClient(app.test_client()).post(
        "/api/v1/auth/token", json={"username": "former.cashier", "password": "demo-former-2026"}
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "account_deactivated"
    manager = login(app, result.output, "manager")
    listed = manager.get("/api/v1/users?active=false").get_json()["items"]
    assert [u["username"] for u in listed] == ["former.cashier"]


def elder_number(db, elder_id: int) -> str:
    return decrypt_id_number(db.session.get(Elder, elder_id).id_number_encrypted)


def test_the_demo_district_has_a_policy_with_real_tiers_and_the_2026_holidays(runner, db):
    from datetime import date

    from mealservice.policy import pricing
    from mealservice.policy.models import Holiday, SubsidyPolicy
    from mealservice.policy.services import pricing_policies

    runner.invoke(args=["seed-demo"])
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    # The version in force and next year's raise, added ahead of its day.
    versions = db.session.scalars(
        select(SubsidyPolicy)
        .where(SubsidyPolicy.district_code == "330106")
        .order_by(SubsidyPolicy.effective_from)
    ).all()
    assert [version.effective_from for version in versions] == [date(2026, 1, 1), date(2027, 1, 1)]
    amounts = [{tier.name: tier.amount_fen for tier in v.tiers} for v in versions]
    assert amounts[1] == amounts[0] | {"80岁以上": 1000, "60岁以上": 300}
    assert count(db, Holiday, Holiday.day.between(date(2026, 1, 1), date(2026, 12, 31))) == 13
    policies = pricing_policies("330106")
    elder = pricing.ElderFacts("330106", date(1944, 3, 8), frozenset())
    lunch = pricing.MealFacts("330106", date(2026, 11, 24), "lunch", "dine_in", 1800)
    assert pricing.price_meal(policies, elder, lunch).tier == "80岁以上"
    national_day = pricing.MealFacts(
        "330106", date(2026, 10, 1), "lunch", "dine_in", 1800, is_holiday=True
    )
    assert pricing.price_meal(policies, elder, national_day).subsidy_fen == 0


def test_the_demo_has_this_weeks_menus_at_every_place(runner, db):
    from mealservice.demo import this_week
    from mealservice.menus.models import Menu

    runner.invoke(args=["seed-demo"])
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    week = this_week()
    # 9 places x 7 days of lunch, and dinner at the 3 canteens.
    assert count(db, Menu, Menu.date.between(week[0], week[-1])) == 9 * 7 + 3 * 7
    lunch = db.session.scalar(select(Menu).where(Menu.date == week[0], Menu.slot == "lunch"))
    assert lunch.seats == lunch.canteen.seats_per_meal and len(lunch.options) == 2
    assert all(option.price_fen > 0 for option in lunch.options)


def test_every_demo_elder_has_one_working_card(runner, db):
    from mealservice.elders.models import Card, Elder

    runner.invoke(args=["seed-demo"])
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    elders = count(db, Elder, Elder.hukou_district == "330106")
    # One elder lost a card last month and had it replaced.
    assert count(db, Card, Card.revoked_at.is_(None)) == elders
    assert count(db, Card) == elders + 1


def test_the_demo_week_is_eaten_at_the_counters_and_priced_by_the_policy(runner, db):
    from datetime import datetime, time, timedelta

    from mealservice.meals.models import Meal, Order
    from mealservice.menus.models import Menu
    from mealservice.policy.models import SubsidyPolicy

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    week = demo.this_week()
    canteens = list(db.session.scalars(select(Canteen).where(Canteen.district_code == "330106")))
    sunday_night = datetime.combine(week[-1], time(22, 0), demo.ZONE)
    demo.seed_meals(canteens, week, sunday_night)
    again = count(db, Meal)
    demo.seed_meals(canteens, week, sunday_night)
    assert count(db, Meal) == again, "loading the week twice adds nothing"

    # The version in force: next year's raise prices nothing the demo seeds.
    policy = db.session.scalar(
        select(SubsidyPolicy).where(
            SubsidyPolicy.district_code == "330106",
            SubsidyPolicy.effective_from == demo.POLICY["effective_from"],
        )
    )
    for day in week:
        lunches = count(db, Meal, Meal.date == day, Meal.slot == "lunch")
        # A third of the elders, and the absent regular's planted lunches.
        assert 80 <= lunches <= 110, (day, lunches)
        assert count(db, Meal, Meal.date == day, Meal.slot == "dinner") > 0
    meals = db.session.scalars(select(Meal).where(Meal.date >= week[0])).all()
    assert {meal.policy_version for meal in meals} == {policy.id}
    assert {meal.reason for meal in meals} <= {"tier", "no_tier"}
    assert {meal.subsidy_fen for meal in meals} <= {0} | {t.amount_fen for t in policy.tiers}
    assert sum(meal.subsidy_fen for meal in meals) > 0
    # Every seat counted once: the menus' counters match the meals eaten there (delivered
    # ones take no seat) and the dine-in bookings still waiting for their elder.
    for menu in db.session.scalars(select(Menu).where(Menu.seats_used > 0)):
        waiting = count(
            db, Order, Order.menu_id == menu.id, Order.channel == "dine_in", Order.holds_seat
        )
        eaten_there = count(db, Meal, Meal.menu_id == menu.id, Meal.channel == "dine_in")
        assert menu.seats_used == eaten_there + waiting
    assert all(
        meal.served_at <= sunday_night and meal.served_at.astimezone(demo.ZONE).date() == meal.date
        for meal in meals
    )
    assert timedelta(0) < sunday_night - min(m.served_at for m in meals) < timedelta(days=7)


def test_the_demo_has_meal_balances_paid_from_at_the_counter_and_a_terminal_per_place(runner, db):
    from datetime import datetime, time

    from mealservice.balances.models import Balance, BalanceMovement
    from mealservice.counter.models import Terminal

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = (count(db, BalanceMovement), count(db, Terminal))
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert (count(db, BalanceMovement), count(db, Terminal)) == before, "twice adds nothing"
    places = count(db, Canteen, Canteen.district_code == "330106")
    assert count(db, Terminal, Terminal.revoked_at.is_(None)) == places
    top_ups = count(db, BalanceMovement, BalanceMovement.kind == "top_up")
    assert top_ups >= demo.ELDER_COUNT // 4
    # The whole week eaten (whatever the day today): meals were paid from the balances,
    # and every balance stays true to its movements.
    canteens = list(db.session.scalars(select(Canteen).where(Canteen.district_code == "330106")))
    week = demo.this_week()
    demo.seed_meals(canteens, week, datetime.combine(week[-1], time(22, 0), demo.ZONE))
    assert count(db, BalanceMovement, BalanceMovement.kind == "meal") > 0
    for balance in db.session.scalars(select(Balance)):
        moved = db.session.scalar(
            select(func.sum(BalanceMovement.amount_fen)).where(
                BalanceMovement.elder_id == balance.elder_id
            )
        )
        assert balance.balance_fen == moved >= 0
    family = db.session.scalar(select(User).where(User.username == "family"))
    for elder_id in linked_elder_ids(family):
        assert count(db, BalanceMovement, BalanceMovement.elder_id == elder_id) > 0
    # The elder who died last month left ¥120 owed to the family, for a counter to pay out.
    manager = db.session.scalar(select(User).where(User.role == "manager"))
    owed = owed_to_families(elders_query(manager))
    assert [fen for _elder, fen in owed] == [12000]


def test_the_demo_has_orders_standing_orders_ratings_and_a_second_family(runner, db, app):
    from mealservice.meals.models import Order, Rating, StandingOrder

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = [count(db, model) for model in (Order, StandingOrder, Rating)]
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert [count(db, model) for model in (Order, StandingOrder, Rating)] == before
    assert count(db, Order, Order.channel == "delivery") > 5
    assert count(db, Order, Order.channel == "dine_in") > 5
    for login in ("family", "daughter"):
        user = db.session.scalar(select(User).where(User.username == login))
        linked = linked_elder_ids(user)
        assert count(db, Order, Order.elder_id.in_(linked)) > 0, login
    held = db.session.scalars(select(StandingOrder)).all()
    assert len(held) == 4 and all(so.weekdays == "1111100" for so in held)
    assert sum(len(so.holds) for so in held) == 1
    scores = db.session.scalars(select(Rating.score)).all()
    assert len(scores) > 30 and min(scores) == 1 and max(scores) == 5


def test_the_demo_family_sees_a_dinner_the_canteen_took_by_phone(runner, db, app):
    from mealservice.meals.models import Order

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    family = db.session.scalar(select(User).where(User.username == "family"))
    [phoned] = db.session.scalars(select(Order).where(Order.placed_by == "manager")).all()
    assert phoned.elder_id in linked_elder_ids(family)
    assert phoned.slot == "dinner" and phoned.channel == "dine_in"
    assert phoned.date == date(2026, 11, 26) and phoned.canteen.name == "北山街道老年食堂"
    client = app.test_client()
    log_in(client, "family", "demo-family-2026")
    history = client.get(f"/orders?elder={phoned.elder_id}").get_data(as_text=True)
    assert f'data-testid="order-{phoned.id}"' in history
    assert 'data-testid="placed-by-canteen"' in history and "由食堂代订" in history


def test_the_policies_page_shows_the_version_in_force_and_next_years_raise(runner, db, app):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    client = app.test_client()
    log_in(client, "official", "demo-official-2026")
    page = client.get("/policies").get_data(as_text=True)
    assert page.count('data-testid="version-') == 2
    assert "自 2027-01-01 起" in page and "自 2026-01-01 起" in page
    assert page.count('data-testid="in-force"') == 1 and "待生效" in page
    # Previewing the raise again as a new version reprices the demo's recent meals: the
    # 60+ and 80+ elders who ate get more, nobody less.
    client.get("/lang/en")
    raised = demo.raised_policy(date(2026, 11, 25))
    form = {
        "effective_from": "2027-02-01",
        "max_meals_per_slot": "1",
        "max_subsidized_per_day": "2",
        "delivery_subsidy": "3.00",
        "no_subsidy_on_holidays": "1",
        "refuse_beyond_limit": "1",
        "action": "preview",
    }
    for row, tier in enumerate(raised["tiers"]):
        form |= {
            f"tier-{row}-name": tier["name"],
            f"tier-{row}-min_age": str(tier.get("min_age") or ""),
            f"tier-{row}-channel": tier["channel"],
            f"tier-{row}-amount": f"{tier['amount_fen'] / 100:.2f}",
            f"tier-{row}-categories": tier.get("categories", []),
        }
    shown = post_form(client, "/policies/new", form, "/policies/new").get_data(as_text=True)
    assert 'data-testid="policy-preview"' in shown
    assert int(re.search(r"More subsidy: (\d+) elders", shown).group(1)) > 10
    assert "Less subsidy: 0 elders" in shown


def test_the_demo_standing_orders_place_next_weeks_lunches_around_the_hold(runner, db):
    from datetime import datetime, time, timedelta

    from mealservice.meals.models import Order, StandingOrder
    from mealservice.meals.standing import place_standing_orders

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    monday = demo.next_week()[0]
    # The scheduler's runs of next week, early each morning before the cutoff.
    for n in range(7):
        place_standing_orders(datetime.combine(monday + timedelta(days=n), time(6), demo.ZONE))
    for standing in db.session.scalars(select(StandingOrder)):
        dates = set(
            db.session.scalars(
                select(Order.date).where(
                    Order.standing_order_id == standing.id, Order.date >= monday
                )
            )
        )
        expected = {monday + timedelta(days=n) for n in range(5)}
        if standing.holds:  # in hospital Tuesday to Thursday
            expected -= {monday + timedelta(days=n) for n in (1, 2, 3)}
        assert dates == expected, (standing.id, sorted(dates))


def test_the_demo_has_deliveries_in_motion_and_a_welfare_alert(runner, db):
    from mealservice.delivery.models import DeliveryJob, DeliveryRun
    from mealservice.elders.models import WelfareAlert
    from mealservice.meals.models import Order

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = [count(db, model) for model in (DeliveryRun, DeliveryJob, WelfareAlert)]
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert [count(db, model) for model in (DeliveryRun, DeliveryJob, WelfareAlert)] == before
    # Before noon the welfare alert comes from yesterday's volunteer round.
    platforms = set(db.session.scalars(select(DeliveryRun.platform)))
    assert platforms == {"simulator", "volunteer"}
    # The simulator's run waits in the outbox for the scheduler to send it.
    simulator_run = db.session.scalar(
        select(DeliveryRun).where(DeliveryRun.platform == "simulator")
    )
    jobs = count(db, DeliveryJob, DeliveryJob.run_id == simulator_run.id)
    assert jobs == count(db, Order, Order.run_id == simulator_run.id) > 0
    [alert] = db.session.scalars(select(WelfareAlert).where(WelfareAlert.kind == "no_answer"))
    assert alert.followed_up_at is None
    assert db.session.get(Order, alert.order_id).status == "failed"


def test_the_demo_has_last_months_claims_submitted_with_their_anomalies(runner, db):
    from mealservice.claims.models import Claim, ClaimAnomaly
    from mealservice.core.periods import month_bounds
    from mealservice.meals.models import Meal

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    month = demo.claimable_month(db.session.get(District, "330106"))
    claims = db.session.scalars(select(Claim).where(Claim.month == month)).all()
    places = count(db, Canteen, Canteen.district_code == "330106")
    assert len(claims) == places and {c.status for c in claims} == {"submitted"}
    for claim in claims:
        meals = count(db, Meal, Meal.canteen_id == claim.canteen_id, Meal.voided_at.is_(None),
                      Meal.date.between(*month_bounds(month)))  # fmt: skip
        assert claim.meals == meals > 0
        assert claim.total_fen == (
            claim.meal_subsidy_fen + claim.delivery_subsidy_fen + claim.operating_subsidy_fen
        )
    codes = set(db.session.scalars(select(ClaimAnomaly.code)))
    assert codes == {
        "offline_conflict", "duplicate_in_slot", "two_places", "card_not_valid", "elder_inactive"
    }  # fmt: skip
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert count(db, Claim) == places


def test_the_demo_has_oversight_to_show_an_official(runner, db, app):
    from mealservice.elders.models import WelfareAlert
    from mealservice.oversight.models import Inspection

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    places = db.session.scalars(select(Canteen).where(Canteen.district_code == "330106")).all()
    assert {place.filing_status for place in places} == {"filed"}
    assert all(place.grade for place in places if place.kind == "canteen")
    # At least the planted regular (early in a month last month's meals may make more).
    absent = db.session.scalars(select(WelfareAlert).where(WelfareAlert.kind == "absent")).all()
    assert absent and all(a.followed_up_at is None and "天未就餐" in a.detail for a in absent)
    inspections = db.session.scalars(select(Inspection)).all()
    assert len(inspections) == 2 and sorted(str(i.result) for i in inspections) == [
        "None", "rectify"
    ]  # fmt: skip
    official = ApiClient(app.test_client())
    token = official.post(
        "/api/v1/auth/token", json={"username": "official", "password": "demo-official-2026"}
    ).get_json()["token"]
    official.token = token
    dashboard = official.get("/api/v1/districts/330106/dashboard").get_json()
    assert dashboard["alerts"] >= 2 and dashboard["anomalies"] > 0
    assert 0 < dashboard["coverage_rate"] <= 1 and dashboard["meals"] > 0


def test_the_demo_publishes_its_places_menus_and_subsidy_to_everyone(runner, db, app):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    district = db.session.get(District, "330106")
    assert district.walking_radius_m == 1000
    stranger = app.test_client()
    html = stranger.get("/public").get_data(as_text=True)
    places = db.session.scalars(select(Canteen).where(Canteen.district_code == "330106")).all()
    assert all(f'data-testid="public-place-{place.id}"' in html for place in places)
    assert "60岁以上老人：堂食每餐补贴 ¥2.00" in html
    assert "tel:0571-87981234" in html
    main = next(place for place in places if place.name == "北山街道老年食堂")
    page = stranger.get(f"/public/places/{main.id}").get_data(as_text=True)
    assert page.count('data-testid="public-menu-') >= 5
    names = db.session.scalars(select(Elder.name)).all()
    assert not [name for name in names if name in html or name in page]
    assert "daughter" not in html + page


def test_every_demo_login_lands_on_its_home_and_its_navigation_opens(db, app):
    """The homes on the demo's realistic data: each login's home and every link of its
    navigation answer 200 (the elder's home prices the demo's menus by the demo's policy)."""
    for account in demo.LOGINS:
        client = app.test_client()
        log_in(client, account["username"], account["password"])
        landing = client.get("/")
        assert landing.status_code == 302, account["username"]
        home = client.get(landing.headers["Location"])
        assert home.status_code == 200, (account["username"], landing.headers["Location"])
        for link in nav_links(home.get_data(as_text=True)):
            answer = client.get(link, follow_redirects=True)
            assert answer.status_code == 200, (account["username"], link, answer.status_code)


def test_the_demo_elder_and_family_are_warned_of_the_meal_that_does_not_suit_the_elder(db, app):
    """The elder login's elder (a relative of the family login too) is diabetic and
    allergic to peanuts: the set meal that is not low in sugar says so, the soft one not."""
    husband = demo_elders(db)[0]
    assert (husband.diet_needs, husband.allergies) == (["low_sugar"], ["花生"])
    not_low_sugar = "营养套餐：不是少糖餐（需少糖）"
    for username, page in (("elder", "/what-to-eat"), ("family", f"/order?elder={husband.id}")):
        account = next(login for login in demo.LOGINS if login["username"] == username)
        client = app.test_client()
        log_in(client, account["username"], account["password"])
        html = client.get(page).get_data(as_text=True)
        assert f"不适合{husband.name}：" in html, username
        warnings = re.findall(r'"diet-warning">(.*?)</li>', html)
        assert not_low_sugar in warnings, (username, warnings)
        assert not any(w.startswith("软食套餐") for w in warnings), warnings


def test_the_demo_manager_sees_an_offline_scan_to_resolve_and_one_was_dismissed(runner, db, app):
    scans = db.session.scalars(select(RefusedScan).order_by(RefusedScan.key)).all()
    assert [(s.resolution, s.error_code, s.canteen.name) for s in scans] == [
        (None, "card_invalid", "北山街道老年食堂"),
        ("dismissed", "card_invalid", "北山街道老年食堂"),
    ]
    assert (scans[0].reported_by, scans[1].resolved_by) == ("cashier", "manager")
    client = app.test_client()
    log_in(client, "manager", "demo-manager-2026")
    client.get("/lang/zh")
    today = client.get(client.get("/").headers["Location"]).get_data(as_text=True)
    assert "需要处理的离线扫码" in today and f"refused-scan-{scans[0].id}" in today
    assert f"refused-scan-{scans[1].id}" not in today
    # Seeding again adds none.
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert count(db, RefusedScan) == 2
