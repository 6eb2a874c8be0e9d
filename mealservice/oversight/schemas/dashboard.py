import marshmallow as ma

from mealservice.claims.schemas import Month
from mealservice.core.schemas import InputSchema

FRACTION = {"description": "a fraction from 0 to 1", "example": 0.42}


class DashboardQuery(InputSchema):
    # Left out: the district's current month.
    month = Month()


class DashboardTargetsOut(ma.Schema):
    coverage_2022 = ma.fields.Float(metadata={"description": "communities covered, 2022 goal"})
    coverage_2025 = ma.fields.Float(metadata={"description": "communities covered, 2025 goal"})


class DashboardEldersWithinOut(ma.Schema):
    count = ma.fields.Integer(
        metadata={
            "description": "active elders with a meal place within the district's walking "
            "circle (`walking_radius_m`; the name keeps the old 1 km)"
        }
    )
    located = ma.fields.Integer(metadata={"description": "active elders with a location"})
    share = ma.fields.Float(metadata=FRACTION)


class DashboardCommunityOut(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    street = ma.fields.String()


class DashboardDayOut(ma.Schema):
    date = ma.fields.Date()
    meals = ma.fields.Integer()


class DashboardCanteenSubsidyOut(ma.Schema):
    canteen_id = ma.fields.Integer()
    name = ma.fields.String()
    subsidy_fen = ma.fields.Integer()
    meals = ma.fields.Integer()


class DashboardCanteenUtilisationOut(ma.Schema):
    canteen_id = ma.fields.Integer()
    name = ma.fields.String()
    menus = ma.fields.Integer(metadata={"description": "published menus counted"})
    seats = ma.fields.Integer()
    served = ma.fields.Integer(metadata={"description": "dine-in meals served"})
    utilisation = ma.fields.Float(metadata=FRACTION)
    failing = ma.fields.Boolean(
        metadata={"description": "seats were offered and utilisation is under the threshold"}
    )


class DashboardOut(ma.Schema):
    district_code = ma.fields.String()
    district_name = ma.fields.String()
    month = ma.fields.String()
    through = ma.fields.Date(
        allow_none=True,
        metadata={
            "description": "the last date whose menus count (today in the month under "
            "way); null for a month still to come"
        },
    )
    canteen_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "a manager's canteen the figures are for"}
    )
    walking_radius_m = ma.fields.Integer(
        metadata={"description": "the district's walking circle, in metres"}
    )
    communities = ma.fields.Integer()
    communities_with_meal_place = ma.fields.Integer()
    coverage_rate = ma.fields.Float(metadata=FRACTION)
    targets = ma.fields.Nested(DashboardTargetsOut)
    elders_within_1km = ma.fields.Nested(DashboardEldersWithinOut)
    uncovered_communities = ma.fields.List(
        ma.fields.Nested(DashboardCommunityOut),
        metadata={"description": "communities with no meal place within `walking_radius_m`"},
    )
    canteens = ma.fields.Integer()
    meals = ma.fields.Integer(metadata={"description": "meals not voided dated in the month"})
    subsidy_fen = ma.fields.Integer(metadata={"description": "meal and delivery subsidy"})
    seats = ma.fields.Integer()
    served = ma.fields.Integer(metadata={"description": "dine-in meals served"})
    utilisation = ma.fields.Float(metadata=FRACTION)
    anomalies = ma.fields.Integer(
        metadata={"description": "anomalies on claims awaiting a decision"}
    )
    anomalies_by_code = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    alerts = ma.fields.Integer(metadata={"description": "welfare alerts not followed up"})
    meals_per_day = ma.fields.List(ma.fields.Nested(DashboardDayOut))
    subsidy_by_canteen = ma.fields.List(ma.fields.Nested(DashboardCanteenSubsidyOut))
    utilisation_by_canteen = ma.fields.List(ma.fields.Nested(DashboardCanteenUtilisationOut))
    failing_canteens = ma.fields.List(ma.fields.Integer())
    failing_threshold = ma.fields.Float(metadata=FRACTION)
