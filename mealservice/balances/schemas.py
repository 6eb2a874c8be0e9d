import marshmallow as ma

from mealservice.balances.models import TopUpMethod
from mealservice.core.schemas import Fen, UtcDateTime, required_when
from mealservice.elders.schemas import CardOrElderIn

# The most one top-up may put in: a typo of two extra zeros is caught at the counter.
MAX_TOP_UP_FEN = 100_000


class CounterMoneyIn(CardOrElderIn):
    """Money paid in or out by hand at a counter, for the elder named by card or look-up."""

    openapi_rules = (
        *CardOrElderIn.openapi_rules,
        required_when("method", TopUpMethod.E_PAYMENT.value, "reference"),
    )

    method = ma.fields.String(
        required=True, validate=ma.validate.OneOf([method.value for method in TopUpMethod])
    )
    reference = ma.fields.String(validate=ma.validate.Length(min=1, max=64))

    @ma.validates_schema
    def reference_for_e_payment(self, data, **kwargs):
        if data.get("method") == TopUpMethod.E_PAYMENT and not data.get("reference"):
            raise ma.ValidationError("Type or scan the e-payment reference.", "reference")


class TopUpIn(CounterMoneyIn):
    amount_fen = Fen(
        required=True,
        validate=ma.validate.Range(
            min=1, max=MAX_TOP_UP_FEN, error="A top-up is between 1 fen and ¥1,000."
        ),
    )


class PayoutIn(CounterMoneyIn):
    """A deceased elder's whole balance paid out to the family: no amount to type."""


class MovementOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "top_up, meal, refund or payout"})
    amount_fen = ma.fields.Integer(metadata={"description": "negative when paid out"})
    balance_after_fen = ma.fields.Integer()
    method = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    meal_id = ma.fields.Integer(allow_none=True)
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String(attribute="canteen.name")
    at = UtcDateTime()
    recorded_by = ma.fields.String()


class TopUpOut(MovementOut):
    elder = ma.fields.Function(
        lambda movement: {"id": movement.elder_id, "name": movement.elder.name}
    )


class BalanceOut(ma.Schema):
    elder_id = ma.fields.Integer()
    balance_fen = ma.fields.Integer()
    movements = ma.fields.List(
        ma.fields.Nested(MovementOut), metadata={"description": "the latest 50, newest first"}
    )
