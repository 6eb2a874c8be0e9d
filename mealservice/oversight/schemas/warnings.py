import marshmallow as ma

from mealservice.claims.schemas import Month
from mealservice.core.schemas import (
    MAX_ID,
    InputSchema,
    PageQuery,
    UtcDateTime,
    collection_schema,
)
from mealservice.elders.models import Access


class SatisfactionQuery(InputSchema):
    month = Month(required=True)


class SatisfactionCommentOut(ma.Schema):
    rating_id = ma.fields.Integer()
    elder_id = ma.fields.Integer()
    elder_name = ma.fields.String(metadata={"description": "masked: 王*英"})
    date = ma.fields.Date(metadata={"description": "the day of the meal rated"})
    rated_at = UtcDateTime()
    score = ma.fields.Integer()
    comment = ma.fields.String()


class CanteenSatisfactionOut(ma.Schema):
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    ratings = ma.fields.Integer()
    average = ma.fields.Float(
        allow_none=True, metadata={"description": "to one decimal; null: no rating"}
    )
    distribution = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": 'ratings per score, "1" to "5"'},
    )
    comment_count = ma.fields.Integer(metadata={"description": "ratings with a comment"})
    comments = ma.fields.List(
        ma.fields.Nested(SatisfactionCommentOut),
        metadata={"description": "worst first, newest first among equals; at most 100"},
    )


class SatisfactionOut(ma.Schema):
    district_code = ma.fields.String()
    month = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(CanteenSatisfactionOut))


class AccessLogQuery(PageQuery):
    username = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    # Query strings carry text, so not strict; the range keeps ids in an id column.
    elder_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID))


class AccessLogEntryOut(ma.Schema):
    id = ma.fields.Integer()
    at = UtcDateTime()
    username = ma.fields.String()
    role = ma.fields.String()
    action = ma.fields.String(metadata={"enum": [a.value for a in Access]})
    district_code = ma.fields.String()
    canteen_id = ma.fields.Integer(allow_none=True)
    elder_id = ma.fields.Integer(allow_none=True)
    elder_name = ma.fields.String(
        allow_none=True, metadata={"description": "masked; null for a search that found nobody"}
    )
    reason = ma.fields.String()


AccessLogList = collection_schema(AccessLogEntryOut, "AccessLogList")
