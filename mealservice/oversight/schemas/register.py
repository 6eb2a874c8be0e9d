"""Filing, grading, the blacklist and random inspections: what the API takes and gives."""

import marshmallow as ma

from mealservice.core.schemas import (
    MAX_ID,
    Fen,
    InputSchema,
    PageQuery,
    UtcDateTime,
    collection_schema,
)
from mealservice.oversight.models import CHECKLIST, InspectionResult
from mealservice.places.models import FilingStatus

# Inputs. Rules that need the database or several fields at once are the services'.


class FilingIn(InputSchema):
    openapi_rules = (
        {
            "anyOf": [
                {"properties": {"status": {"not": {"enum": [FilingStatus.FILED.value]}}}},
                {
                    "required": ["filing_number", "filed_on"],
                    "properties": {
                        "filing_number": {"type": "string", "pattern": "\\S"},
                        "filed_on": {"type": "string"},
                    },
                },
            ]
        },
    )

    status = ma.fields.String(
        required=True, validate=ma.validate.OneOf([s.value for s in FilingStatus])
    )
    filing_number = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=40),
        metadata={"description": "required when `status` is `filed`"},
    )
    filed_on = ma.fields.Date(
        allow_none=True, metadata={"description": "required when `status` is `filed`"}
    )


class GradeIn(InputSchema):
    grade = ma.fields.Integer(
        strict=True,
        required=True,
        validate=ma.validate.Range(min=1, max=5),
        metadata={"description": "1 to 5", "example": 3},
    )
    graded_on = ma.fields.Date(required=True)
    operating_subsidy_fen = Fen(
        allow_none=True,
        metadata={"description": "the monthly operating subsidy the grade earns, if it changes"},
    )


class BlacklistIn(InputSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(
        allow_none=True, metadata={"description": "the last day; open-ended when omitted"}
    )


class DrawIn(InputSchema):
    count = ma.fields.Integer(
        strict=True,
        required=True,
        validate=ma.validate.Range(min=1, max=MAX_ID),
        metadata={"description": "how many places to draw"},
    )


class ResultIn(InputSchema):
    result = ma.fields.String(
        required=True, validate=ma.validate.OneOf([r.value for r in InspectionResult])
    )
    checklist = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(),
        required=True,
        metadata={
            "description": "every item, true (met) or false (not met): " + ", ".join(CHECKLIST),
            "properties": {item: {"type": "boolean"} for item in CHECKLIST},
            "required": list(CHECKLIST),
            "additionalProperties": False,
        },
    )
    findings = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=1000))


class InspectionQuery(PageQuery):
    district = ma.fields.String(validate=ma.validate.Length(max=12))
    draw_id = ma.fields.String(validate=ma.validate.Length(max=32))
    recorded = ma.fields.Boolean(
        metadata={"description": "true: recorded only; false: still open only"}
    )


class PublicQuery(PageQuery):
    district = ma.fields.String(validate=ma.validate.Length(max=12))


# Outputs


class BlacklistEntryOut(ma.Schema):
    id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    reason = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date(allow_none=True)
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    lifted_at = UtcDateTime(allow_none=True)
    lifted_by = ma.fields.String(allow_none=True)
    in_force = ma.fields.Boolean(metadata={"description": "on the blacklist today"})


class InspectionOut(ma.Schema):
    id = ma.fields.Integer()
    district_code = ma.fields.String()
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    inspector_id = ma.fields.Integer(metadata={"description": "not shown to the place"})
    inspector = ma.fields.String(metadata={"description": "username; not shown to the place"})
    draw_id = ma.fields.String()
    drawn_by = ma.fields.String(metadata={"description": "not shown to the place"})
    drawn_at = UtcDateTime()
    result = ma.fields.String(allow_none=True, metadata={"description": "null while open"})
    checklist = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean(), allow_none=True)
    items_not_met = ma.fields.List(ma.fields.String())
    findings = ma.fields.String(allow_none=True)
    recorded_at = UtcDateTime(allow_none=True)


class FilingOut(ma.Schema):
    status = ma.fields.String()
    filing_number = ma.fields.String(allow_none=True)
    filed_on = ma.fields.Date(allow_none=True)


class GradeOut(ma.Schema):
    grade = ma.fields.Integer(allow_none=True)
    graded_on = ma.fields.Date(allow_none=True)


class CanteenOversightOut(ma.Schema):
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    district_code = ma.fields.String()
    filing = ma.fields.Nested(FilingOut)
    grade = ma.fields.Nested(GradeOut)
    monthly_operating_subsidy_fen = ma.fields.Integer()
    blacklisted = ma.fields.Boolean(metadata={"description": "an entry is in force today"})
    blacklist = ma.fields.List(ma.fields.Nested(BlacklistEntryOut))
    inspections = ma.fields.List(
        ma.fields.Nested(InspectionOut),
        metadata={"description": "the place's own manager sees recorded ones only"},
    )


class DrawOut(ma.Schema):
    draw_id = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(InspectionOut))


class PublicInspectionOut(ma.Schema):
    id = ma.fields.Integer()
    district_code = ma.fields.String()
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    kind = ma.fields.String()
    address = ma.fields.String()
    recorded_on = ma.fields.Date(metadata={"description": "in the district's time zone"})
    result = ma.fields.String()
    items_not_met = ma.fields.List(ma.fields.String())


InspectionList = collection_schema(InspectionOut, "InspectionList")
PublicInspectionList = collection_schema(PublicInspectionOut, "PublicInspectionList")
