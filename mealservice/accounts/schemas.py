import marshmallow as ma

from mealservice.core.auth import Role
from mealservice.core.schemas import Id, InputSchema, PageQuery, collection_schema
from mealservice.elders.services import linked_elder_ids

USERNAME = ma.validate.Regexp(
    r"^[A-Za-z0-9_.@-]{3,64}$", error="Use 3–64 letters, digits, or _ . @ -."
)


class TokenIn(InputSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=256), load_only=True
    )


class TokenOut(ma.Schema):
    token = ma.fields.String()
    role = ma.fields.String()
    expires_at = ma.fields.AwareDateTime()


class UserIn(InputSchema):
    username = ma.fields.String(required=True, validate=USERNAME)
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(min=8, max=256, error="Use at least 8 characters."),
    )
    role = ma.fields.String(required=True, validate=ma.validate.OneOf([r.value for r in Role]))
    district = ma.fields.String(load_default=None)
    canteen_id = Id(load_default=None)
    elder_ids = ma.fields.List(Id(), load_default=list, validate=ma.validate.Length(max=20))


class PasswordChangeIn(InputSchema):
    current_password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(min=1, max=256)
    )
    new_password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(min=1, max=256)
    )


class PasswordResetIn(InputSchema):
    password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(min=1, max=256)
    )


class UserQuery(PageQuery):
    q = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "part of the username, in any case"},
    )
    role = ma.fields.String(validate=ma.validate.OneOf([r.value for r in Role]))
    active = ma.fields.Boolean()


class RevokedOut(ma.Schema):
    revoked_tokens = ma.fields.Integer(
        metadata={"description": "tokens ended; browser sessions end as well"}
    )


class UserOut(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    role = ma.fields.String()
    district = ma.fields.String(attribute="district_code", allow_none=True)
    canteen_id = ma.fields.Integer(allow_none=True)
    elder_ids = ma.fields.Method("dump_elder_ids")
    active = ma.fields.Boolean()

    def dump_elder_ids(self, user) -> list[int]:
        return linked_elder_ids(user)


UserList = collection_schema(UserOut, "UserList")
