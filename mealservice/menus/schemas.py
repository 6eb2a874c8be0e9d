import marshmallow as ma

from mealservice.core.schemas import Fen, Id, InputSchema, PageQuery, UtcDateTime, collection_schema
from mealservice.menus.models import MenuStatus
from mealservice.places.models import Slot
from mealservice.places.schemas import NearQuery

SHORT_TEXT = ma.validate.Length(min=1, max=30)


class OptionIn(InputSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    price_fen = Fen(required=True)
    delivery_fee_fen = Fen(load_default=0)
    dishes = ma.fields.List(
        ma.fields.String(validate=SHORT_TEXT),
        load_default=list,
        validate=ma.validate.Length(max=20),
    )
    tags = ma.fields.List(
        ma.fields.String(validate=SHORT_TEXT),
        load_default=list,
        validate=ma.validate.Length(max=10),
    )


class MenuIn(InputSchema):
    date = ma.fields.Date(required=True)
    slot = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in Slot]))
    seats = ma.fields.Integer(
        strict=True, required=True, validate=ma.validate.Range(min=0, max=10_000)
    )
    order_cutoff = ma.fields.AwareDateTime(required=True)
    delivery_capacity = ma.fields.Integer(
        strict=True, allow_none=True, validate=ma.validate.Range(min=0, max=10_000)
    )
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in MenuStatus]))
    options = ma.fields.List(
        ma.fields.Nested(OptionIn),
        required=True,
        validate=ma.validate.Length(min=1, max=10, error="Give between 1 and 10 options."),
    )


class OptionOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    price_fen = ma.fields.Integer()
    delivery_fee_fen = ma.fields.Integer()
    dishes = ma.fields.List(ma.fields.String())
    tags = ma.fields.List(ma.fields.String())


class DietClashOut(ma.Schema):
    """A clash of the elder's allergies or diet needs with an option (menus.diet)."""

    option_id = ma.fields.Integer()
    option_name = ma.fields.String()
    dish = ma.fields.String(
        allow_none=True, metadata={"description": "null: the option as a whole clashes"}
    )
    reason = ma.fields.String(metadata={"description": "allergy or diet_need"})
    allergy = ma.fields.String(
        allow_none=True, metadata={"description": "the food, when the reason is allergy"}
    )
    diet_need = ma.fields.String(
        allow_none=True,
        metadata={"description": "soft, low_salt or low_sugar, when the reason is diet_need"},
    )


class MenuOut(ma.Schema):
    id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String(attribute="canteen.name")
    date = ma.fields.Date()
    slot = ma.fields.String()
    seats = ma.fields.Integer()
    seats_used = ma.fields.Integer()
    seats_left = ma.fields.Integer()
    order_cutoff = UtcDateTime()
    delivery_capacity = ma.fields.Integer(allow_none=True)
    delivery_used = ma.fields.Integer()
    status = ma.fields.String()
    ordering_closed_at = UtcDateTime(allow_none=True)
    options = ma.fields.List(ma.fields.Nested(OptionOut))
    distance_m = ma.fields.Integer(metadata={"description": "present when `near` is given"})


class CanteenMenuQuery(PageQuery):
    date = ma.fields.Date()


class OpenMenuQuery(NearQuery):
    date = ma.fields.Date()


class OptionPatchIn(InputSchema):
    """An option of a changed menu: with `id`, an option it has (fields left out keep
    their value); without, a new option. Options left out of the list are removed."""

    openapi_rules = ({"anyOf": [{"required": ["id"]}, {"required": ["name", "price_fen"]}]},)

    id = Id()
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=60))
    price_fen = Fen()
    delivery_fee_fen = Fen()
    dishes = ma.fields.List(
        ma.fields.String(validate=SHORT_TEXT), validate=ma.validate.Length(max=20)
    )
    tags = ma.fields.List(
        ma.fields.String(validate=SHORT_TEXT), validate=ma.validate.Length(max=10)
    )

    @ma.validates_schema
    def new_options_are_complete(self, data, **kwargs):
        if data.get("id") is None:
            missing = {
                field: ["Missing data for required field."]
                for field in ("name", "price_fen")
                if field not in data
            }
            if missing:
                raise ma.ValidationError(missing)


class MenuPatchIn(InputSchema):
    """Like the creation body, every field optional; `date` and `slot` may only repeat
    the menu's own."""

    date = ma.fields.Date()
    slot = ma.fields.String(validate=ma.validate.OneOf([s.value for s in Slot]))
    seats = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=10_000))
    order_cutoff = ma.fields.AwareDateTime()
    delivery_capacity = ma.fields.Integer(
        strict=True, allow_none=True, validate=ma.validate.Range(min=0, max=10_000)
    )
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in MenuStatus]))
    options = ma.fields.List(
        ma.fields.Nested(OptionPatchIn),
        validate=ma.validate.Length(min=1, max=10, error="Give between 1 and 10 options."),
    )


class CopyWeekIn(InputSchema):
    from_week = ma.fields.Date(required=True, metadata={"description": "a Monday"})
    to_week = ma.fields.Date(required=True, metadata={"description": "a Monday"})


class SkippedMenuOut(ma.Schema):
    date = ma.fields.Date()
    slot = ma.fields.String()
    reason = ma.fields.String(metadata={"description": "exists, past or no_window"})


class CopyWeekOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MenuOut), metadata={"description": "menus made"})
    skipped = ma.fields.List(ma.fields.Nested(SkippedMenuOut))


menu_out = MenuOut()
MenuList = collection_schema(MenuOut, "MenuList")
