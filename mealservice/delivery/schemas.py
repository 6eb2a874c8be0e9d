import marshmallow as ma

from mealservice.core.schemas import (
    Id,
    InputSchema,
    UtcDateTime,
    collection_schema,
    required_when,
)
from mealservice.delivery.models import VOLUNTEER_PLATFORM
from mealservice.delivery.platforms.base import configured_platforms
from mealservice.places.models import Slot

SLOTS = [slot.value for slot in Slot]


def _platform_names() -> list[str]:
    return sorted(configured_platforms())


class RunIn(InputSchema):
    openapi_rules = (required_when("platform", VOLUNTEER_PLATFORM, "volunteer_id"),)

    date = ma.fields.Date(required=True)
    slot = ma.fields.String(required=True, validate=ma.validate.OneOf(SLOTS))
    platform = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=30),
        metadata={"description": "a configured platform", "openapi_enum": _platform_names},
    )
    volunteer_id = Id(metadata={"description": "volunteer platform only: who carries the run"})


class RedispatchIn(InputSchema):
    platform = ma.fields.String(
        validate=ma.validate.Length(min=1, max=30),
        metadata={
            "description": "default: the platform of the run that failed",
            "openapi_enum": _platform_names,
        },
    )


class DropIn(InputSchema):
    openapi_rules = (
        {
            "oneOf": [
                {"required": ["code"]},
                {"required": ["no_answer"], "properties": {"no_answer": {"enum": [True]}}},
                {"required": ["by_hand"]},
            ]
        },
    )

    code = ma.fields.String(
        validate=ma.validate.Regexp(r"^\d{6}$", error="Six digits."),
        metadata={"description": "the code the elder gives at the door"},
    )
    no_answer = ma.fields.Boolean(metadata={"description": "nobody came to the door"})
    by_hand = ma.fields.String(
        validate=ma.validate.OneOf(["delivered", "not_delivered"]),
        metadata={"description": "a manager settling a drop never confirmed at the door"},
    )

    @ma.validates_schema
    def one_way_to_settle(self, data, **kwargs):
        ways = ("code" in data) + bool(data.get("no_answer")) + ("by_hand" in data)
        if ways != 1:
            raise ma.ValidationError(
                "Send the code, no_answer: true, or (a manager) by_hand.", "code"
            )


class DeliveriesQuery(InputSchema):
    date = ma.fields.Date(metadata={"description": "the local date; default today"})
    slot = ma.fields.String(validate=ma.validate.OneOf(SLOTS))


class FollowUpIn(InputSchema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))


class RunOrderOut(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String()
    elder_id = ma.fields.Integer()
    address = ma.fields.String(allow_none=True)
    delivery_stage = ma.fields.String(allow_none=True)


class RunOut(ma.Schema):
    id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    date = ma.fields.Date()
    slot = ma.fields.String()
    status = ma.fields.String()
    platform = ma.fields.String()
    area = ma.fields.String(allow_none=True)
    volunteer_id = ma.fields.Integer(allow_none=True)
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    orders = ma.fields.List(ma.fields.Nested(RunOrderOut))


class DeliveryOut(ma.Schema):
    """One delivery order as the manager's live page shows it."""

    order_id = ma.fields.Integer(attribute="id")
    status = ma.fields.String()
    delivery_stage = ma.fields.String(allow_none=True)
    run_id = ma.fields.Integer(allow_none=True)
    platform = ma.fields.String(allow_none=True)
    slot = ma.fields.String()
    elder_id = ma.fields.Integer()
    elder_name = ma.fields.String(attribute="elder.name")
    address = ma.fields.String(allow_none=True)
    delivered_at = UtcDateTime(allow_none=True)
    failure_reason = ma.fields.String(allow_none=True)


class AlertOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    elder_id = ma.fields.Integer()
    community_code = ma.fields.String()
    district_code = ma.fields.String()
    canteen_id = ma.fields.Integer(allow_none=True)
    order_id = ma.fields.Integer(allow_none=True)
    raised_at = UtcDateTime()
    detail = ma.fields.String()
    followed_up_at = UtcDateTime(allow_none=True)
    followed_up_by = ma.fields.String(allow_none=True)
    follow_up = ma.fields.String(allow_none=True)


class WebhookOut(ma.Schema):
    applied = ma.fields.Boolean(metadata={"description": "false: a duplicate or a late report"})


RunList = ma.Schema.from_dict({"items": ma.fields.List(ma.fields.Nested(RunOut))}, name="RunList")
DeliveryList = collection_schema(DeliveryOut, "DeliveryList")
AlertList = collection_schema(AlertOut, "AlertList")
