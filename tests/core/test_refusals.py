"""The one table of refusal texts, and `explain`, the one place a page request undoes a
refused change before it says why."""

from datetime import date

from flask_babel import force_locale

from mealservice.core.errors import ApiError, Conflict, ValidationFailed
from mealservice.core.refusals import COUNTER, DELIVERY, ORDERING, explain, words, words_for
from mealservice.policy.models import Holiday
from tests import factories


def test_a_code_is_worded_for_its_audience_and_otherwise_for_everyone(app):
    with app.test_request_context(), force_locale("en"):
        assert words("capacity_full", COUNTER) == "Every seat of this meal is taken."
        assert words("capacity_full", ORDERING).startswith("This meal is full.")
        assert words("order_closed", DELIVERY) == "This delivery is already finished."
        # One sentence for everyone: every audience reads it.
        assert words("claim_decided", DELIVERY) == words("claim_decided")
        # A code worded for some audiences only has no sentence for the others.
        assert words("capacity_full") is None
        assert words("no_such_code", COUNTER) is None


def test_the_cashier_page_gets_its_sentences_in_the_readers_language(app):
    with app.test_request_context(), force_locale("zh"):
        table = words_for(COUNTER)
    assert table["card_revoked"] == "此卡已挂失作废。请按姓名查找老人。"
    assert "%(canteen)s" in table["already_served_at"]  # the page fills it
    assert "cutoff_passed" in table and "elder_inactive" in table


def test_placeholders_are_filled_from_the_refusals_detail(app, db):
    refusal = Conflict("seats_below_booked", "12 seats are used.", {"seats_used": 12})
    with app.test_request_context(), force_locale("en"):
        assert explain(refusal).startswith("12 seats are already booked or used")
        # A detail without the named value: the service's own sentence.
        assert explain(Conflict("seats_below_booked", "Seats are used.")) == "Seats are used."


def test_a_refusal_naming_fields_lists_their_reasons(app, db):
    refusal = ValidationFailed({"month": ["Give a month."], "canteen_id": ["Choose one."]})
    with app.test_request_context(), force_locale("en"):
        assert explain(refusal) == "Give a month.; Choose one."
        named = explain(refusal, field_names={"month": "Month"})
        assert named == "Month: Give a month. canteen_id: Choose one."
        # An audience that words validation errors as a whole says so instead.
        assert explain(refusal, ORDERING).startswith("Something in the form is not right.")
        # A code nobody words: the service's sentence.
        assert explain(ApiError(409, "month_closed", "October is closed.")) == (
            "October is closed."
        )


def test_explaining_a_refusal_undoes_what_the_request_wrote(app, db):
    kept = factories.create_holiday(date(2026, 10, 1), "国庆节")  # committed
    with app.test_request_context():
        db.session.add(Holiday(day=date(2026, 10, 2), name="half-written"))
        db.session.flush()
        explain(Conflict("capacity_full", "Every seat is taken."))
        assert db.session.get(Holiday, date(2026, 10, 2)) is None
        assert db.session.get(Holiday, kept.day) is not None
