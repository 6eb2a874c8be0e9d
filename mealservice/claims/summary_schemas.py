import marshmallow as ma

from mealservice.claims.schemas import Month
from mealservice.core.schemas import InputSchema


class SummaryQuery(InputSchema):
    month = Month(required=True)


class SummaryItemOut(ma.Schema):
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    canteen_kind = ma.fields.String()
    claim_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "the latest revision; null: no claim yet"}
    )
    status = ma.fields.String(allow_none=True)
    revision = ma.fields.Integer(allow_none=True)
    meals = ma.fields.Integer(allow_none=True)
    subsidized_meals = ma.fields.Integer(allow_none=True)
    meal_subsidy_fen = ma.fields.Integer(allow_none=True)
    delivery_subsidy_fen = ma.fields.Integer(allow_none=True)
    operating_subsidy_fen = ma.fields.Integer(allow_none=True)
    total_fen = ma.fields.Integer(allow_none=True)
    approved_fen = ma.fields.Integer(allow_none=True, metadata={"description": "once decided"})
    anomalies = ma.fields.Integer(allow_none=True, metadata={"description": "anomalies found"})


class SummaryTotalsOut(ma.Schema):
    canteens = ma.fields.Integer()
    claims = ma.fields.Integer(metadata={"description": "canteens with a claim for the month"})
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    meals = ma.fields.Integer()
    subsidized_meals = ma.fields.Integer()
    meal_subsidy_fen = ma.fields.Integer()
    delivery_subsidy_fen = ma.fields.Integer()
    operating_subsidy_fen = ma.fields.Integer()
    total_fen = ma.fields.Integer()
    approved_fen = ma.fields.Integer(
        allow_none=True, metadata={"description": "of the decided claims; null while none is"}
    )
    anomalies = ma.fields.Integer()


class DistrictSummaryOut(ma.Schema):
    district_code = ma.fields.String()
    month = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(SummaryItemOut))
    totals = ma.fields.Nested(SummaryTotalsOut)
