"""NUL characters, which PostgreSQL cannot store and nobody types, are refused by field
wherever text comes in: query strings and lists of text as well as plain body fields."""

from tests.core.test_errors import assert_error


def test_a_nul_character_in_a_query_string_is_refused_by_field(login_as, canteen):
    response = login_as("admin").get(
        f"/api/v1/canteens/{canteen.id}/elder-lookup",
        query_string={"name": "王", "phone_last4": "1234", "reason": "忘带\x00卡"},
    )
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"reason": ["Text may not contain NUL characters."]}


def test_a_nul_character_in_a_list_of_text_is_refused_by_field(login_as, canteen):
    menu = {
        "date": f"{canteen.district.local_today():%Y-%m-%d}",
        "slot": "dinner",
        "seats": 10,
        "order_cutoff": "2099-01-01T00:00:00+08:00",
        "options": [{"name": "A套餐", "price_fen": 1500, "dishes": ["红烧肉", "青\x00菜"]}],
    }
    response = login_as("admin").post(f"/api/v1/canteens/{canteen.id}/menus", json=menu)
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"options.0.dishes": ["Text may not contain NUL characters."]}
