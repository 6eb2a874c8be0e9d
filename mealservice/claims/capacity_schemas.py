import marshmallow as ma

from mealservice.core.schemas import InputSchema


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
