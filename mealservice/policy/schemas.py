import marshmallow as ma

from mealservice.core.schemas import Fen, InputSchema, PageQuery, collection_schema
from mealservice.elders.models import Category
from mealservice.policy.pricing import TIER_CHANNELS


class TierSchema(InputSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    min_age = ma.fields.Integer(
        strict=True, allow_none=True, validate=ma.validate.Range(min=0, max=130)
    )
    categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([c.value for c in Category])),
        allow_none=True,
        validate=ma.validate.Length(min=1, error="Leave categories out rather than empty."),
    )
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(TIER_CHANNELS))
    amount_fen = Fen(required=True)


class PolicyIn(InputSchema):
    effective_from = ma.fields.Date(required=True)
    no_subsidy_on_holidays = ma.fields.Boolean(load_default=True)
    max_meals_per_slot = ma.fields.Integer(
        strict=True, load_default=1, validate=ma.validate.Range(min=1, max=10)
    )
    max_subsidized_per_day = ma.fields.Integer(
        strict=True, allow_none=True, load_default=None, validate=ma.validate.Range(min=1, max=10)
    )
    refuse_beyond_limit = ma.fields.Boolean(load_default=True)
    delivery_subsidy_fen = Fen(load_default=0)
    tiers = ma.fields.List(
        ma.fields.Nested(TierSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=50, error="Give between 1 and 50 tiers."),
    )

    @ma.validates("tiers")
    def names_are_distinct(self, tiers, **kwargs):
        # A tier whose name failed its own check arrives without one; that error is named.
        names = [tier["name"] for tier in tiers if "name" in tier]
        if len(set(names)) != len(names):
            raise ma.ValidationError("Give each tier its own name.")


class TierOut(ma.Schema):
    name = ma.fields.String()
    min_age = ma.fields.Integer(allow_none=True)
    categories = ma.fields.List(ma.fields.String(), allow_none=True)
    channel = ma.fields.String()
    amount_fen = ma.fields.Integer()


class PolicyOut(ma.Schema):
    id = ma.fields.Integer()
    district = ma.fields.String(attribute="district_code")
    effective_from = ma.fields.Date()
    no_subsidy_on_holidays = ma.fields.Boolean()
    max_meals_per_slot = ma.fields.Integer()
    max_subsidized_per_day = ma.fields.Integer(allow_none=True)
    refuse_beyond_limit = ma.fields.Boolean()
    delivery_subsidy_fen = ma.fields.Integer()
    tiers = ma.fields.List(ma.fields.Nested(TierOut))
    created_by = ma.fields.String()
    created_at = ma.fields.AwareDateTime()


class HolidayIn(InputSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))


class HolidayOut(ma.Schema):
    date = ma.fields.Date(attribute="day")
    name = ma.fields.String()


class HolidayQuery(PageQuery):
    year = ma.fields.Integer(validate=ma.validate.Range(min=2000, max=2100))


PolicyList = collection_schema(PolicyOut, "PolicyList")
HolidayList = collection_schema(HolidayOut, "HolidayList")
