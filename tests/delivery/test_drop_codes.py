"""Drop codes cannot be guessed: wrong codes are counted per order and per account in the
limiter's store, and past either limit no code is taken, right or wrong (429), through the
API and on the volunteer's page alike. The store's keys name no order and no account."""

from types import SimpleNamespace

import pytest

from config import TestingConfig
from mealservice import create_app
from mealservice.core.db import db
from mealservice.delivery.models import DeliveryRun
from mealservice.extensions import limiter
from mealservice.meals.models import OrderStatus
from tests import conftest, factories

# Flask-Limiter keeps the first key prefix it is given for the life of the process, so the
# login limits' tests and these share theirs (its Redis test counts on it).
from tests.accounts.test_login_limits import PREFIX
from tests.conftest import ApiClient
from tests.core.test_errors import assert_error
from tests.delivery.test_delivery_pages import volunteer_run
from tests.pages import browser_as, html_of, post_form


@pytest.fixture
def limited(database_url, db):
    app = create_app(
        TestingConfig,
        DATABASE_URL=database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=PREFIX,
    )
    app.test_client_class = conftest.TestClient
    # Its requests share this context, as the suite's share the `db` fixture's: a context
    # of their own would end the test's session with each request.
    with app.app_context():
        yield app


@pytest.fixture(autouse=True)
def limiter_off_afterwards(app):
    """The limiter is one object for the process: hand it back to the suite's app, whose
    settings switch it off."""
    yield
    limiter.init_app(app)


@pytest.fixture
def volunteer(limited, canteen):
    return factories.create_user("volunteer", canteen=canteen)


@pytest.fixture
def orders(limited, district, canteen, elder):
    factories.create_policy(district)
    others = [factories.create_elder(district, canteen.community) for _ in range(2)]
    return [factories.create_order(canteen, someone) for someone in (elder, *others)]


@pytest.fixture
def run(canteen, orders, volunteer) -> DeliveryRun:
    run = volunteer_run(canteen, orders[0], SimpleNamespace(user=volunteer), today=True)
    for order in orders:
        db.session.refresh(order)
    return run


def wrong_for(order) -> str:
    return "000000" if order.delivery_code != "000000" else "111111"


def drop(client, order, code):
    return client.post(f"/api/v1/orders/{order.id}/drop", json={"code": code})


@pytest.fixture
def api(limited, volunteer):
    return ApiClient(limited.test_client(), factories.token_for(volunteer), volunteer)


def test_five_wrong_codes_lock_the_order_even_for_the_right_code(api, run, orders):
    order = orders[0]
    for _ in range(5):
        assert_error(drop(api, order, wrong_for(order)), 409, "wrong_code")
    locked = drop(api, order, order.delivery_code)
    error = assert_error(locked, 429, "rate_limited")
    assert "wrong codes for this order" in error["message"]
    assert error["detail"]["per"] == "order"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert order.status == OrderStatus.DISPATCHED


def test_a_locked_order_leaves_the_others_of_the_run_alone(api, run, orders):
    for _ in range(5):
        drop(api, orders[0], wrong_for(orders[0]))
    response = drop(api, orders[1], orders[1].delivery_code)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "delivered"


def test_ten_wrong_codes_across_orders_lock_the_account(api, run, orders):
    for order, tries in zip(orders, (4, 4, 2), strict=True):
        for _ in range(tries):
            assert_error(drop(api, order, wrong_for(order)), 409, "wrong_code")
    error = assert_error(drop(api, orders[2], orders[2].delivery_code), 429, "rate_limited")
    assert error["detail"]["per"] == "account"
    assert "wrong codes for this account" in error["message"]


def test_the_volunteers_page_says_why_the_code_is_no_longer_taken(limited, run, orders, canteen):
    order = orders[0]
    page = browser_as(limited, "volunteer", canteen=canteen)
    run.volunteer_id = page.user.id
    db.session.commit()
    path = f"/delivery-runs/{run.id}/drops/{order.id}/delivered"
    for _ in range(5):
        assert post_form(page, path, {"code": wrong_for(order)}, "/my-drops").status_code == 409
    locked = post_form(page, path, {"code": order.delivery_code}, "/my-drops")
    assert locked.status_code == 429
    html = html_of(locked)
    assert f'data-testid="drop-error-{order.id}"' in html
    assert "Too many wrong codes were typed. Wait 15 minutes" in html


def test_the_limiter_keys_name_no_order_and_no_account(api, run, orders, volunteer):
    drop(api, orders[0], wrong_for(orders[0]))
    keys = [key for key in limiter.storage.storage if "drop-code" in key]
    assert len(keys) == 2
    for key in keys:
        assert f"order:{orders[0].id}" not in key and f"user:{volunteer.id}" not in key
        assert key.split("/")[3] not in (str(orders[0].id), str(volunteer.id))
