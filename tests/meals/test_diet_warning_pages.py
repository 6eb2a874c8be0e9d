"""Where a meal is chosen (the menu list, the home, the confirmation, the phone order), an
option that clashes with the elder's allergies or diet needs says so, dish by dish, before
it is ordered; an option that suits the elder says nothing."""

import re
from datetime import timedelta

import pytest

from tests import factories
from tests.core.test_pages import log_in
from tests.pages import browser_as, html_of

PASSWORD = "millet-congee-42"
EGG_ALLERGY = "肉末蒸蛋含鸡蛋（过敏）"
NOT_LOW_SALT = "软食套餐：不是少盐餐（需少盐）"


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def lunch(canteen, district):
    """Tomorrow's lunch, open for ordering whatever the hour the tests run."""
    return factories.create_menu(
        canteen,
        district.local_today() + timedelta(days=1),
        "lunch",
        options=[
            {
                "name": "营养套餐",
                "price_fen": 1800,
                "delivery_fee_fen": 500,
                "dishes": ["清蒸鲈鱼", "炒青菜", "米饭"],
                "tags": ["low_salt"],
            },
            {"name": "软食套餐", "price_fen": 1500, "dishes": ["肉末蒸蛋"], "tags": ["soft"]},
        ],
    )


@pytest.fixture
def careful_elder(district, canteen):
    return factories.create_elder(
        district, canteen.community, allergies=["鸡蛋"], diet_needs=["low_salt"]
    )


@pytest.fixture
def relative(app, db, careful_elder):
    user = factories.create_user("family", elders=[careful_elder], password=PASSWORD)
    client = app.test_client()
    log_in(client, user.username, PASSWORD)  # in Chinese, as relatives read it
    return client


def block_of(html: str, testid: str, end: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index(end, start)]


def warnings_in(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", w).strip() for w in re.findall(r'"diet-warning">(.*?)</li>', html)]


def test_the_menu_list_warns_under_the_option_that_clashes_and_not_the_other(
    relative, careful_elder, lunch, policy
):
    html = html_of(relative.get("/order"))
    nutritious, soft = lunch.options
    soft_block = block_of(html, f"option-{soft.id}", 'class="choices"')
    assert f"不适合{careful_elder.name}：" in soft_block
    assert warnings_in(soft_block) == [EGG_ALLERGY, NOT_LOW_SALT]
    nutritious_block = block_of(html, f"option-{nutritious.id}", 'class="choices"')
    assert "清蒸鲈鱼" in nutritious_block and "diet-warnings" not in nutritious_block


def test_the_confirmation_warns_before_the_order_is_confirmed(
    relative, careful_elder, lunch, policy
):
    nutritious, soft = lunch.options
    page = f"/order/confirm?elder={careful_elder.id}&channel=delivery&option="
    html = html_of(relative.get(page + str(soft.id)))
    assert warnings_in(html) == [EGG_ALLERGY, NOT_LOW_SALT]
    assert html.index('data-testid="diet-warnings"') < html.index('data-testid="confirm-order"')
    assert 'role="alert" data-testid="diet-warnings"' in html
    assert 'data-testid="diet-warnings"' not in html_of(relative.get(page + str(nutritious.id)))


def test_the_home_warns_beside_the_option_that_clashes(app, db, district, canteen, policy):
    factories.create_menu(
        canteen,
        district.local_today() + timedelta(days=1),
        "lunch",
        options=[{"name": "海鲜套餐", "price_fen": 1800, "dishes": ["油焖大虾"]}],
    )
    shrimp_allergic = factories.create_elder(district, canteen.community, allergies=["海鲜"])
    user = factories.create_user("elder", elders=[shrimp_allergic], password=PASSWORD)
    client = app.test_client()
    log_in(client, user.username, PASSWORD)
    html = html_of(client.get("/what-to-eat"))
    assert warnings_in(html) == ["油焖大虾含海鲜（过敏）"]


def test_the_phone_order_warns_the_manager_beside_the_option(
    app, canteen, careful_elder, lunch, policy
):
    manager = browser_as(app, "manager", canteen=canteen)
    html = html_of(manager.get(f"/phone-order?elder={careful_elder.id}"))
    nutritious, soft = lunch.options
    soft_form = block_of(html, f"option-{soft.id}", "</form>")
    assert f"Does not suit {careful_elder.name}:" in soft_form
    assert warnings_in(soft_form) == [
        "肉末蒸蛋 contains 鸡蛋 (allergy)",
        "软食套餐: not Low salt (needed)",
    ]
    assert 'data-testid="diet-warnings"' not in block_of(html, f"option-{nutritious.id}", "</form>")
