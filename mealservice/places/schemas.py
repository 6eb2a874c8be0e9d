from zoneinfo import available_timezones

import marshmallow as ma

from mealservice.core.schemas import Fen, InputSchema, LocationSchema, PageQuery, collection_schema
from mealservice.places.models import (
    WALKING_RADIUS_RANGE_M,
    Function,
    OperatorType,
    PlaceKind,
    slot_window_errors,
)

CODE = ma.validate.Regexp(r"^[A-Za-z0-9_-]{2,20}$", error="Use 2–20 letters, digits, - or _.")
TIME_OF_DAY = ma.validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use HH:MM.")


# Said in the OpenAPI document as well as checked: the names zoneinfo knows.
TIMEZONE_NAMES = sorted(available_timezones())


def _known_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ma.ValidationError(f"Unknown time zone {value!r}; use an IANA name.")


class StandardSchema(InputSchema):
    min_seats = ma.fields.Integer(
        strict=True, required=True, validate=ma.validate.Range(min=0, max=10_000)
    )
    min_dining_area_m2 = ma.fields.Float(
        required=True, validate=ma.validate.Range(min=0, max=100_000)
    )


class StandardsSchema(InputSchema):
    """Minimum standards per kind of place; kinds left out keep their current figures."""

    canteen = ma.fields.Nested(StandardSchema)
    meal_point = ma.fields.Nested(StandardSchema)
    dining_table = ma.fields.Nested(StandardSchema)
    rural_point = ma.fields.Nested(StandardSchema)


class SlotWindowsSchema(InputSchema):
    breakfast = ma.fields.List(
        ma.fields.String(validate=TIME_OF_DAY), validate=ma.validate.Length(equal=2)
    )
    lunch = ma.fields.List(
        ma.fields.String(validate=TIME_OF_DAY), validate=ma.validate.Length(equal=2)
    )
    dinner = ma.fields.List(
        ma.fields.String(validate=TIME_OF_DAY), validate=ma.validate.Length(equal=2)
    )

    @ma.validates_schema
    def windows_are_ordered(self, data, **kwargs):
        errors = slot_window_errors(data)
        if errors:
            raise ma.ValidationError(errors)


def _walking_radius(**kwargs):
    low, high = WALKING_RADIUS_RANGE_M
    return ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(
            min=low, max=high, error="Give the walking circle's radius in metres, {min} to {max}."
        ),
        metadata={"description": "the walking circle's radius in metres (1000 unless set)"},
        **kwargs,
    )


class DistrictIn(InputSchema):
    code = ma.fields.String(required=True, validate=CODE)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    timezone = ma.fields.String(validate=_known_timezone, metadata={"enum": TIMEZONE_NAMES})
    slot_windows = ma.fields.Nested(SlotWindowsSchema)
    standards = ma.fields.Nested(StandardsSchema)
    walking_radius_m = _walking_radius()


class DistrictPatch(InputSchema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    timezone = ma.fields.String(validate=_known_timezone, metadata={"enum": TIMEZONE_NAMES})
    slot_windows = ma.fields.Nested(SlotWindowsSchema)
    walking_radius_m = _walking_radius()


class DistrictOut(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    timezone = ma.fields.String(attribute="effective_timezone")
    slot_windows = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String())
    )
    standards = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(StandardSchema))
    walking_radius_m = ma.fields.Integer(
        metadata={"description": "the walking circle's radius in metres"}
    )


class CommunityIn(InputSchema):
    code = ma.fields.String(required=True, validate=CODE)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    street = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    location = ma.fields.Nested(LocationSchema)


class CommunityOut(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    street = ma.fields.String()
    district = ma.fields.String(attribute="district_code")
    location = ma.fields.Method("dump_location", allow_none=True)

    def dump_location(self, community):
        if community.lat is None:
            return None
        return {"lat": community.lat, "lng": community.lng}


class CanteenIn(InputSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([k.value for k in PlaceKind]))
    district = ma.fields.String(required=True)
    community = ma.fields.String(required=True)
    seats_per_meal = ma.fields.Integer(
        strict=True, required=True, validate=ma.validate.Range(min=1, max=10_000)
    )
    dining_area_m2 = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=100_000))
    functions = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([f.value for f in Function])),
        required=True,
        validate=ma.validate.Length(min=1, error="Give at least one function."),
        metadata={"uniqueItems": True},
    )
    operator_type = ma.fields.String(
        required=True, validate=ma.validate.OneOf([o.value for o in OperatorType])
    )
    address = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    location = ma.fields.Nested(LocationSchema, required=True)
    monthly_operating_subsidy_fen = Fen(load_default=0)
    phone = ma.fields.String(validate=ma.validate.Length(max=32))
    opening_hours = ma.fields.String(validate=ma.validate.Length(max=100))

    @ma.validates("functions")
    def functions_are_distinct(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ma.ValidationError("List each function once.")


class CanteenPatch(CanteenIn):
    """The fields that may change after registration; district and community stay.

    Every field may be left out, but a location given is given whole (partial by name,
    so the nested location is not partial too)."""

    class Meta:
        exclude = ("district", "community")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.partial = tuple(self.fields)


class CanteenOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    district = ma.fields.String(attribute="district_code")
    community = ma.fields.String(attribute="community.code")
    street = ma.fields.String(attribute="community.street")
    seats_per_meal = ma.fields.Integer()
    dining_area_m2 = ma.fields.Float()
    functions = ma.fields.List(ma.fields.String())
    operator_type = ma.fields.String()
    address = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    opening_hours = ma.fields.String(allow_none=True)
    location = ma.fields.Nested(LocationSchema)
    monthly_operating_subsidy_fen = ma.fields.Integer()
    distance_m = ma.fields.Integer(metadata={"description": "present when `near` is given"})


# LAT,LNG in decimal degrees, each within its range.
NEAR_PATTERN = r"^-?(90(\.0+)?|[1-8]?\d(\.\d+)?),-?(180(\.0+)?|(1[0-7]\d|[1-9]?\d)(\.\d+)?)$"


class NearQuery(PageQuery):
    """`near=LAT,LNG` and `radius_m=`, for anything listed nearest first."""

    near = ma.fields.String(metadata={"description": "LAT,LNG", "pattern": NEAR_PATTERN})
    radius_m = ma.fields.Integer(validate=ma.validate.Range(min=1, max=100_000))

    @ma.post_load
    def parse_near(self, data, **kwargs):
        if "near" in data:
            try:
                lat, lng = (float(part) for part in data["near"].split(","))
            except ValueError:
                raise ma.ValidationError("Give near as LAT,LNG.", "near") from None
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise ma.ValidationError("Latitude or longitude out of range.", "near")
            data["near"] = (lat, lng)
        elif "radius_m" in data:
            raise ma.ValidationError("radius_m needs near.", "radius_m")
        return data


class CanteenQuery(NearQuery):
    district = ma.fields.String()
    community = ma.fields.String()


# Family and elders see what a notice board would show, not the public money.
PUBLIC_CANTEEN_FIELDS = (
    "id",
    "name",
    "kind",
    "district",
    "community",
    "street",
    "seats_per_meal",
    "functions",
    "address",
    "phone",
    "opening_hours",
    "location",
    "distance_m",
)

district_in = DistrictIn()
district_patch = DistrictPatch()
district_out = DistrictOut()
canteen_out = CanteenOut()
canteen_public_out = CanteenOut(only=PUBLIC_CANTEEN_FIELDS)
CanteenList = collection_schema(CanteenOut, "CanteenList")
CommunityList = collection_schema(CommunityOut, "CommunityList")
DistrictList = collection_schema(DistrictOut, "DistrictList")
