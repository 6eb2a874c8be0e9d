import marshmallow as ma

from mealservice.core.auth import current_user, sees_public_view
from mealservice.core.schemas import (
    MAX_ID,
    Id,
    InputSchema,
    PageQuery,
    UtcDateTime,
    collection_schema,
    required_when,
)
from mealservice.elders.schemas import CardOrElderIn
from mealservice.meals.models import PAYMENTS, OrderPayment, OrderStatus, PaymentMethod
from mealservice.menus.diet import diet_clashes
from mealservice.menus.schemas import DietClashOut
from mealservice.places.models import Slot
from mealservice.policy.pricing import CHANNELS

SLOTS = [slot.value for slot in Slot]


class PaymentIn(InputSchema):
    openapi_rules = (required_when("method", PaymentMethod.E_PAYMENT.value, "reference"),)

    # No payment gateway: an e-payment is recorded by the reference typed or scanned.
    method = ma.fields.String(
        required=True, validate=ma.validate.OneOf([method.value for method in PaymentMethod])
    )
    reference = ma.fields.String(validate=ma.validate.Length(min=1, max=64))

    @ma.validates_schema
    def reference_for_e_payment(self, data, **kwargs):
        if data["method"] == PaymentMethod.E_PAYMENT and not data.get("reference"):
            raise ma.ValidationError("Type or scan the e-payment reference.", "reference")


class ScanIn(CardOrElderIn):
    slot = ma.fields.String(validate=ma.validate.OneOf(SLOTS))
    option_id = Id()
    scanned_at = ma.fields.AwareDateTime(
        metadata={"description": "set by a terminal that queued the scan while offline"}
    )
    payment = ma.fields.Nested(PaymentIn)
    no_card_reason = ma.fields.String(
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "with elder_id: why the card was not scanned (logged)"},
    )


class PriceOut(ma.Schema):
    """The priced snapshot, as `pricing.price_meal` returns it and every meal stores it."""

    policy_version = ma.fields.Integer(allow_none=True)
    price_fen = ma.fields.Integer()
    subsidy_fen = ma.fields.Integer()
    delivery_fee_fen = ma.fields.Integer()
    delivery_subsidy_fen = ma.fields.Integer()
    elder_pays_fen = ma.fields.Integer()
    tier = ma.fields.String(allow_none=True)
    reason = ma.fields.String()


class DietWarnings(ma.fields.List):
    """The clashes of the meal's option with its elder's allergies and diet needs. Both
    are already loaded for the rest of the answer: judging them costs no query."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return diet_clashes(obj.elder, [obj.option]) if obj.option is not None else []


class MealOut(PriceOut):
    meal_id = ma.fields.Integer(attribute="id")
    canteen_id = ma.fields.Integer()
    elder = ma.fields.Method("dump_elder")
    date = ma.fields.Date()
    slot = ma.fields.String()
    channel = ma.fields.String()
    option_id = ma.fields.Integer(allow_none=True)
    option_name = ma.fields.String(attribute="option.name", allow_none=True)
    served_at = UtcDateTime()
    offline = ma.fields.Boolean()
    source = ma.fields.String()
    to_collect_fen = ma.fields.Integer()
    conflict = ma.fields.String(
        allow_none=True, metadata={"description": "the refusal an offline scan met, if any"}
    )
    payment_method = ma.fields.String(allow_none=True)
    payment_reference = ma.fields.String(allow_none=True)
    booking_id = ma.fields.Integer(
        attribute="order_id",
        allow_none=True,
        metadata={"description": "the booking this meal consumed (or the order delivered)"},
    )
    balance_after_fen = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "in a scan's answer: the meal balance left, when paid from it"},
    )
    diet_warnings = DietWarnings(
        ma.fields.Nested(DietClashOut),
        metadata={
            "description": "where the meal served clashes with the elder's allergies or"
            " diet needs: one item per dish (or the option as a whole) and reason"
        },
    )
    recorded_by = ma.fields.String()
    voided_at = UtcDateTime(allow_none=True)
    voided_by = ma.fields.String(allow_none=True)
    void_reason = ma.fields.String(allow_none=True)

    def dump_elder(self, meal) -> dict:
        elder = meal.elder
        return {
            "id": elder.id,
            "name": elder.name,
            # Today's age, as everywhere: ages of meals on different days would tell
            # the birthday that fell between them.
            "age": elder.age,
            "diet_notes": elder.diet_notes,
        }


class VoidIn(InputSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class MealQuery(PageQuery):
    date = ma.fields.Date()
    conflict = ma.fields.Boolean(
        metadata={"description": "true: only offline scans recorded as conflicts"}
    )


def QueryId(**kwargs) -> ma.fields.Integer:
    # Query strings carry text, so not strict; the range still keeps ids in an id column.
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


class QuoteQuery(InputSchema):
    canteen_id = QueryId(required=True)
    date = ma.fields.Date(required=True)
    slot = ma.fields.String(required=True, validate=ma.validate.OneOf(SLOTS))
    channel = ma.fields.String(load_default="dine_in", validate=ma.validate.OneOf(CHANNELS))
    option_id = QueryId()


class QuoteOut(PriceOut):
    refusal = ma.fields.String(
        allow_none=True,
        metadata={"description": "already_served / already_ordered when the slot is full"},
    )


class LookupQuery(InputSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    phone_last4 = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^\d{4}$", error="Give the last four digits of the phone."),
    )
    reason = ma.fields.String(
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "why the card is not at hand (logged)"},
    )


meal_out = MealOut()
MealList = collection_schema(MealOut, "MealList")


class OrderPaymentIn(InputSchema):
    method = ma.fields.String(
        required=True, validate=ma.validate.OneOf([method.value for method in OrderPayment])
    )


def paid_as_the_channel_allows(*path: str) -> dict:
    """PAYMENTS as a JSON Schema rule: the payment method at `path` (left out: the
    channel's default) is one the order's channel takes."""

    def paid_by(channel, methods) -> dict:
        rule = {"enum": [method.value for method in methods]}
        for name in reversed(path[1:]):
            rule = {"properties": {name: rule}}
        return {"properties": {"channel": {"enum": [channel]}, path[0]: rule}}

    return {
        "anyOf": [
            {"not": {"required": [path[0]]}},
            *(paid_by(channel, methods) for channel, methods in PAYMENTS.items()),
        ]
    }


class OrderIn(InputSchema):
    openapi_rules = (paid_as_the_channel_allows("payment", "method"),)

    elder_id = Id(required=True)
    menu_id = Id(required=True)
    option_id = Id(required=True)
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANNELS))
    address = ma.fields.String(
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "delivery only; default the elder's registered address"},
    )
    payment = ma.fields.Nested(OrderPaymentIn)


class OrderOut(PriceOut):
    id = ma.fields.Integer()
    status = ma.fields.String()
    elder_id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String(attribute="canteen.name")
    menu_id = ma.fields.Integer()
    option_id = ma.fields.Integer()
    option_name = ma.fields.String(attribute="option.name")
    date = ma.fields.Date()
    slot = ma.fields.String()
    channel = ma.fields.String()
    address = ma.fields.String(allow_none=True)
    payment_method = ma.fields.String()
    paid_fen = ma.fields.Integer(metadata={"description": "taken from the meal balance"})
    standing_order_id = ma.fields.Integer(allow_none=True)
    run_id = ma.fields.Integer(allow_none=True, metadata={"description": "the delivery run"})
    delivery_stage = ma.fields.String(
        allow_none=True, metadata={"description": "accepted or picked_up, as the platform said"}
    )
    delivered_at = UtcDateTime(allow_none=True)
    failure_reason = ma.fields.String(allow_none=True)
    delivery_code = ma.fields.Method(
        "dump_delivery_code",
        allow_none=True,
        metadata={"description": "to the elder and their family only: said at the door"},
    )
    placed_by = ma.fields.String()

    def dump_delivery_code(self, order):
        # The code proves the meal reached the elder, so only the elder's side sees it.
        return order.delivery_code if sees_public_view(current_user()) else None

    placed_at = UtcDateTime()
    status_changed_at = UtcDateTime()


class OrderQuery(PageQuery):
    elder_id = QueryId()
    canteen_id = QueryId()
    date = ma.fields.Date()
    status = ma.fields.String(validate=ma.validate.OneOf([status.value for status in OrderStatus]))


class RatingIn(InputSchema):
    score = ma.fields.Integer(strict=True, required=True, validate=ma.validate.Range(min=1, max=5))
    comment = ma.fields.String(validate=ma.validate.Length(max=300))


class RatingOut(ma.Schema):
    id = ma.fields.Integer()
    meal_id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    score = ma.fields.Integer()
    comment = ma.fields.String(allow_none=True)
    rated_by = ma.fields.String()
    rated_at = UtcDateTime()


OrderList = collection_schema(OrderOut, "OrderList")


# Kitchen counts


class KitchenCountsQuery(InputSchema):
    date = ma.fields.Date(metadata={"description": "the local date; today when left out"})
    slot = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in Slot]))


class PortionCounts(ma.Schema):
    dine_in = ma.fields.Integer(metadata={"description": "live dine-in bookings and eaten ones"})
    delivery = ma.fields.Integer(metadata={"description": "live and delivered delivery orders"})
    walk_in = ma.fields.Integer(metadata={"description": "dine-in meals served from no order"})
    ordered = ma.fields.Integer(metadata={"description": "dine_in + delivery"})
    total = ma.fields.Integer(metadata={"description": "ordered + walk_in"})


class KitchenOptionOut(PortionCounts):
    option_id = ma.fields.Integer(allow_none=True)
    name = ma.fields.String(allow_none=True)
    tags = ma.fields.List(ma.fields.String())


class KitchenCountsOut(ma.Schema):
    canteen_id = ma.fields.Integer()
    date = ma.fields.Date()
    slot = ma.fields.String()
    menu_id = ma.fields.Integer()
    status = ma.fields.String()
    order_cutoff = UtcDateTime()
    ordering_closed_at = UtcDateTime(allow_none=True)
    options = ma.fields.List(ma.fields.Nested(KitchenOptionOut))
    totals = ma.fields.Nested(PortionCounts)
    tags = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(PortionCounts),
        metadata={"description": "portions of soft, low_salt and low_sugar options"},
    )
    seats = ma.fields.Integer()
    seats_used = ma.fields.Integer()
    seats_free_for_walk_ins = ma.fields.Integer()
    delivery_capacity = ma.fields.Integer(allow_none=True)
    delivery_used = ma.fields.Integer()


# Standing orders


class StandingOrderIn(InputSchema):
    openapi_rules = (
        {
            "anyOf": [
                {"properties": {"channel": {"not": {"enum": ["dine_in"]}}}},
                {"not": {"required": ["address"]}},
            ]
        },
        paid_as_the_channel_allows("payment_method"),
    )

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
