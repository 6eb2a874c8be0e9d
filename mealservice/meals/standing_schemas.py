import marshmallow as ma

from mealservice.core.schemas import Id, InputSchema, PageQuery, UtcDateTime, collection_schema
from mealservice.meals.models import OrderPayment
from mealservice.meals.schemas import SLOTS, QueryId
from mealservice.policy.pricing import CHANNELS


class StandingOrderIn(InputSchema):
    elder_id = Id(required=True)
    canteen_id = Id(required=True)
    slot = ma.fields.String(required=True, validate=ma.validate.OneOf(SLOTS))
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANNELS))
    weekdays = ma.fields.String(
        required=True,
        validate=[
            ma.validate.Regexp(
                r"^[01]{7}$", error="Seven 0s and 1s, Monday first: 1111100 is every weekday."
            ),
            ma.validate.NoneOf(["0000000"], error="Choose at least one weekday."),
        ],
        metadata={"description": "seven 0s and 1s, Monday first: 1111100 is every weekday"},
    )
    preferred_tag = ma.fields.String(
        validate=ma.validate.Length(min=1, max=20),
        metadata={"description": "each day the first option with this tag, else the first"},
    )
    address = ma.fields.String(
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "for delivery; the elder's registered address by default"},
    )
    payment_method = ma.fields.String(
        validate=ma.validate.OneOf([method.value for method in OrderPayment]),
        metadata={"description": "default: on_delivery for delivery, at_counter for dine_in"},
    )

    @ma.validates_schema
    def address_only_for_delivery(self, data, **kwargs):
        if data.get("address") and data.get("channel") == "dine_in":
            raise ma.ValidationError("A dine-in booking has no delivery address.", "address")


class HoldIn(InputSchema):
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


class StandingOrderQuery(PageQuery):
    elder_id = QueryId()
    canteen_id = QueryId()


class HoldOut(ma.Schema):
    id = ma.fields.Integer()
    standing_order_id = ma.fields.Integer()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    reason = ma.fields.String()
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    cancelled_order_ids = ma.fields.List(
        ma.fields.Integer(),
        metadata={
            "description": "in the answer to adding it: the orders already placed for its dates, cancelled"
        },
    )


class StandingOrderOut(ma.Schema):
    id = ma.fields.Integer()
    elder_id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String(attribute="canteen.name")
    slot = ma.fields.String()
    channel = ma.fields.String()
    weekdays = ma.fields.String()
    preferred_tag = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    payment_method = ma.fields.String()
    active = ma.fields.Function(
        lambda so: so.stopped_at is None,
        metadata={"type": "boolean", "description": "false once stopped"},
    )
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    stopped_at = UtcDateTime(allow_none=True)
    stopped_by = ma.fields.String(allow_none=True)
    holds = ma.fields.List(ma.fields.Nested(HoldOut))
    cancelled_order_ids = ma.fields.List(
        ma.fields.Integer(),
        metadata={"description": "in the answer to a stop: the orders it had placed, cancelled"},
    )


StandingOrderList = collection_schema(StandingOrderOut, "StandingOrderList")
