import marshmallow as ma

from mealservice.claims.models import ClaimStatus, Decision
from mealservice.core.periods import MONTH_PATTERN
from mealservice.core.schemas import MAX_ID, Id, InputSchema, PageQuery, UtcDateTime

MONTH = ma.validate.Regexp(f"^{MONTH_PATTERN}$", error="Give the month as YYYY-MM.")


def Month(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=MONTH, metadata={"example": "2026-10"}, **kwargs)


class ClaimIn(InputSchema):
    month = Month(required=True)


class MonthQuery(InputSchema):
    month = Month(required=True)


class ClaimQuery(PageQuery):
    district = ma.fields.String(validate=ma.validate.Length(max=12))
    month = Month()
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in ClaimStatus]))


class TotalsOut(ma.Schema):
    meals = ma.fields.Integer()
    subsidized_meals = ma.fields.Integer()
    meal_subsidy_fen = ma.fields.Integer()
    delivery_subsidy_fen = ma.fields.Integer()
    operating_subsidy_fen = ma.fields.Integer(
        metadata={"description": "the canteen's operating (or meal point's management) subsidy"}
    )
    total_fen = ma.fields.Integer()


class AnomalyOut(ma.Schema):
    code = ma.fields.String()
    meal_ids = ma.fields.List(ma.fields.Integer())
    elder_id = ma.fields.Integer(allow_none=True)
    detail = ma.fields.Dict()


class ReviewOut(ma.Schema):
    decision = ma.fields.String()
    status = ma.fields.String()
    reason = ma.fields.String()
    approved_fen = ma.fields.Integer()
    rejected_meals = ma.fields.Integer()
    decided_by = ma.fields.String()
    decided_at = UtcDateTime()


class ClaimOut(ma.Schema):
    id = ma.fields.Integer(allow_none=True, metadata={"description": "null for a preview"})
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    month = ma.fields.String()
    revision = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(
        metadata={"description": "submitted, approved, partially_approved, rejected; preview"}
    )
    totals = ma.fields.Nested(TotalsOut)
    approved_fen = ma.fields.Integer(allow_none=True)
    made_by = ma.fields.String()
    made_at = UtcDateTime()
    checked_at = UtcDateTime()
    anomalies = ma.fields.List(ma.fields.Nested(AnomalyOut))
    reviews = ma.fields.List(ma.fields.Nested(ReviewOut))


class ClaimList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ClaimOut))
    next = ma.fields.Integer(allow_none=True)


class LineOut(ma.Schema):
    meal_id = ma.fields.Integer()
    date = ma.fields.Date()
    slot = ma.fields.String()
    channel = ma.fields.String()
    source = ma.fields.String()
    served_at = UtcDateTime()
    elder_id = ma.fields.Integer()
    elder = ma.fields.String(metadata={"description": "the elder's name, masked"})
    tier = ma.fields.String(allow_none=True)
    reason = ma.fields.String()
    price_fen = ma.fields.Integer()
    delivery_fee_fen = ma.fields.Integer()
    subsidy_fen = ma.fields.Integer()
    delivery_subsidy_fen = ma.fields.Integer()
    elder_pays_fen = ma.fields.Integer()
    conflict = ma.fields.String(allow_none=True)
    anomalies = ma.fields.List(ma.fields.String())
    rejected = ma.fields.Boolean()
    rejected_reason = ma.fields.String(allow_none=True)


class LineList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LineOut))
    next = ma.fields.Integer(allow_none=True)


class LineQuery(PageQuery):
    per_page = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class ReviewIn(InputSchema):
    decision = ma.fields.String(
        required=True, validate=ma.validate.OneOf([d.value for d in Decision])
    )
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    rejected_meal_ids = ma.fields.List(Id(), validate=ma.validate.Length(max=100_000))
    line_reasons = ma.fields.Dict(
        keys=ma.fields.Integer(strict=False, validate=ma.validate.Range(min=1, max=MAX_ID)),
        values=ma.fields.String(validate=ma.validate.Length(min=1, max=500)),
        metadata={"description": "a reason per rejected meal id, where it differs from `reason`"},
    )

    @ma.validates("reason")
    def not_blank(self, value, **kwargs):
        if not value.strip():
            raise ma.ValidationError("Give the reason for the decision.")


# The capacity report


class CapacityQuery(InputSchema):
    # `from` is a Python keyword: the fields are named start and end, sent as from and to.
    start = ma.fields.Date(
        data_key="from",
        metadata={"description": "the first local date; default 6 days before `to`"},
    )
    end = ma.fields.Date(
        data_key="to",
        metadata={"description": "the last local date, included; default today"},
    )


class CapacityItem(ma.Schema):
    date = ma.fields.Date()
    slot = ma.fields.String()
    seats = ma.fields.Integer()
    booked = ma.fields.Integer(
        metadata={"description": "dine-in orders confirmed, consumed or no-show"}
    )
    served = ma.fields.Integer(metadata={"description": "dine-in meals not voided"})
    delivered = ma.fields.Integer(metadata={"description": "delivery orders delivered"})
    utilisation = ma.fields.Float(metadata={"description": "served / seats, 4 places"})


class CapacityReportOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CapacityItem))


# A district's month of claims


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
