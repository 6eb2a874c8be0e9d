import marshmallow as ma

from mealservice.claims.models import SampleOutcome
from mealservice.claims.sampling import DEFAULT_SIZE, MAX_SIZE, NOTE_MAX, RECORDED_OUTCOMES
from mealservice.claims.schemas import MONTH
from mealservice.core.schemas import InputSchema, UtcDateTime


class RiskQuery(InputSchema):
    month = ma.fields.String(
        validate=MONTH,
        metadata={
            "example": "2026-10",
            "description": "the last of the three months; default: last month",
        },
    )


class CodeFiguresOut(ma.Schema):
    anomalies = ma.fields.Integer()
    meals = ma.fields.Integer(
        metadata={"description": "meals the anomalies name (at least 1 each)"}
    )
    weighted = ma.fields.Integer(metadata={"description": "meals × the code's weight"})


class RiskItemOut(ma.Schema):
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    months_covered = ma.fields.List(
        ma.fields.String(), metadata={"description": "the months of the window with a claim"}
    )
    subsidized_meals = ma.fields.Integer()
    weighted_anomalies = ma.fields.Integer()
    anomalies_by_code = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(CodeFiguresOut)
    )
    risk = ma.fields.Float(
        metadata={"description": "100 × weighted anomalies / subsidized meals, 2 decimals"}
    )


class DistrictRiskOut(ma.Schema):
    district_code = ma.fields.String()
    month = ma.fields.String()
    months = ma.fields.List(
        ma.fields.String(), metadata={"description": "the window, oldest first"}
    )
    weights = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    items = ma.fields.List(ma.fields.Nested(RiskItemOut))


class SampleIn(InputSchema):
    size = ma.fields.Integer(
        strict=True,
        load_default=DEFAULT_SIZE,
        validate=ma.validate.Range(min=1, max=MAX_SIZE),
        metadata={"description": f"lines to draw, 1 to {MAX_SIZE}"},
    )


class OutcomeIn(InputSchema):
    outcome = ma.fields.String(
        required=True, validate=ma.validate.OneOf([o.value for o in RECORDED_OUTCOMES])
    )
    note = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=NOTE_MAX)
    )


class SampleOut(ma.Schema):
    id = ma.fields.Integer()
    claim_id = ma.fields.Integer()
    meal_id = ma.fields.Integer()
    date = ma.fields.Date()
    slot = ma.fields.String()
    canteen_id = ma.fields.Integer()
    canteen = ma.fields.String(metadata={"description": "the canteen's name"})
    elder_id = ma.fields.Integer()
    elder = ma.fields.String(metadata={"description": "the elder's name, masked"})
    phone_masked = ma.fields.String(
        allow_none=True, metadata={"description": "the full number is in the elder registry"}
    )
    drawn_by = ma.fields.String()
    drawn_at = UtcDateTime()
    outcome = ma.fields.String(metadata={"description": ", ".join(o.value for o in SampleOutcome)})
    note = ma.fields.String(allow_none=True)
    checked_by = ma.fields.String(allow_none=True)
    checked_at = UtcDateTime(allow_none=True)


class SampleList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SampleOut))
