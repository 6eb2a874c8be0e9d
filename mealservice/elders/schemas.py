from datetime import UTC

import marshmallow as ma
from flask_smorest.fields import Upload
from werkzeug.datastructures import FileStorage

from mealservice.core.auth import ADMIN, CANTEEN_ROLES, MANAGER, current_user
from mealservice.core.clock import utcnow
from mealservice.core.schemas import Id, InputSchema, LocationSchema, PageQuery, collection_schema
from mealservice.elders.models import AbilityLevel, Category, DietNeed, ElderStatus, Hukou

PHONE = ma.validate.Regexp(
    r"^\+?[0-9][0-9 -]{5,18}[0-9]$", error="Use 7–20 digits, spaces or dashes."
)


class ConsentSchema(InputSchema):
    given_at = ma.fields.AwareDateTime(required=True)
    recorded_by = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))

    @ma.validates("given_at")
    def not_in_the_future(self, value, **kwargs):
        if value > utcnow():
            raise ma.ValidationError("Consent cannot be given in the future.")


class CardOrElderIn(InputSchema):
    """Who a counter acts for: the card scanned, or the elder found by the look-up when
    the card is not at hand. One of the two, never both."""

    openapi_rules = ({"oneOf": [{"required": ["qr_payload"]}, {"required": ["elder_id"]}]},)

    qr_payload = ma.fields.String(validate=ma.validate.Length(min=1, max=400))
    elder_id = Id()

    @ma.validates_schema
    def card_or_elder(self, data, **kwargs):
        if len([field for field in ("qr_payload", "elder_id") if field in data]) != 1:
            raise ma.ValidationError(
                "Send either the card's qr_payload or the elder_id found by the look-up.",
                "qr_payload",
            )


def _distinct(value):
    if len(set(value)) != len(value):
        raise ma.ValidationError("List each category once.")


def _distinct_items(value):
    if len(set(value)) != len(value):
        raise ma.ValidationError("List each item once.")


def Allergies(**kwargs) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=20)),
        validate=[ma.validate.Length(max=10), _distinct_items],
        metadata={
            "uniqueItems": True,
            "description": "what the elder must not eat, one food a word (花生, 海鲜), "
            "matched against the dishes' tags",
        },
        **kwargs,
    )


def DietNeeds(**kwargs) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([n.value for n in DietNeed])),
        validate=_distinct_items,
        metadata={
            "uniqueItems": True,
            "description": "soft, low_salt, low_sugar: named as the dishes' kitchen tags",
        },
        **kwargs,
    )


class EmergencyContactIn(InputSchema):
    """Whom to call when the elder does not answer; given with the elder's (or the
    contact's) consent, recorded as the elder's own is."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    relation = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20))
    phone = ma.fields.String(required=True, validate=PHONE)
    consent = ma.fields.Nested(ConsentSchema, required=True)


class ElderIn(InputSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    id_number = ma.fields.String(
        required=True,
        load_only=True,
        metadata={
            "description": "GB 11643: 17 digits and a check character (its value is checked too)",
            "pattern": "^[0-9]{17}[0-9Xx]$",
        },
    )
    phone = ma.fields.String(required=True, validate=PHONE)
    address = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    community = ma.fields.String(required=True)
    hukou_district = ma.fields.String(required=True)
    location = ma.fields.Nested(LocationSchema)
    categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([c.value for c in Category])),
        load_default=list,
        validate=_distinct,
        metadata={"uniqueItems": True},
    )
    ability_level = ma.fields.String(
        required=True, validate=ma.validate.OneOf([a.value for a in AbilityLevel])
    )
    diet_notes = ma.fields.String(validate=ma.validate.Length(max=300), allow_none=True)
    allergies = Allergies(load_default=list)
    diet_needs = DietNeeds(load_default=list)
    emergency_contact = ma.fields.Nested(EmergencyContactIn, allow_none=True)
    consent = ma.fields.Nested(ConsentSchema, required=True)


class ElderImportIn(InputSchema):
    """The multipart form of `POST /api/v1/elders/import`."""

    file = Upload(required=True, metadata={"description": "the .xlsx workbook"})
    consent_confirmed = ma.fields.Boolean(
        required=True,
        validate=ma.validate.Equal(
            True, error="Confirm that written consent was collected from every elder in the file."
        ),
        metadata={"description": "true: written consent was collected from every elder"},
    )

    @ma.validates("file")
    def is_a_file(self, value, **kwargs):
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Send the workbook as a file part of a multipart form.")


MASK_DESCRIPTION = "the last four characters only: **************1234"


class ImportRowOut(ma.Schema):
    row = ma.fields.Integer(metadata={"description": "the row's number in the sheet"})
    status = ma.fields.String(metadata={"enum": ["accepted", "rejected"]})
    elder_id = ma.fields.Integer()
    id_number_masked = ma.fields.String(metadata={"description": MASK_DESCRIPTION})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "reasons per column (field name); _schema: the row as a whole"},
    )


class ElderImportOut(ma.Schema):
    accepted = ma.fields.Integer()
    rejected = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Nested(ImportRowOut))


class ElderPatch(InputSchema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=50))
    phone = ma.fields.String(validate=PHONE)
    address = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    community = ma.fields.String()
    location = ma.fields.Nested(LocationSchema, allow_none=True)
    categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([c.value for c in Category])),
        validate=_distinct,
        metadata={"uniqueItems": True},
    )
    ability_level = ma.fields.String(validate=ma.validate.OneOf([a.value for a in AbilityLevel]))
    diet_notes = ma.fields.String(validate=ma.validate.Length(max=300), allow_none=True)
    allergies = Allergies()
    diet_needs = DietNeeds()
    emergency_contact = ma.fields.Nested(
        EmergencyContactIn, allow_none=True, metadata={"description": "null removes it"}
    )
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in ElderStatus]))
    status_since = ma.fields.Date(allow_none=True)


class ElderQuery(PageQuery):
    community = ma.fields.String()
    q = ma.fields.String(validate=ma.validate.Length(min=1, max=50))
    phone_last4 = ma.fields.String(
        validate=ma.validate.Regexp(r"^[0-9]{4}$", error="Give the phone's last four digits.")
    )


class ConsentOut(ma.Schema):
    given_at = ma.fields.AwareDateTime()
    recorded_by = ma.fields.String()


class EmergencyContactOut(ma.Schema):
    name = ma.fields.String()
    relation = ma.fields.String()
    phone = ma.fields.String()
    consent = ma.fields.Nested(ConsentOut)


class ElderOut(ma.Schema):
    """An elder as the caller's role may see them: the age, never the birth date; the ID
    number's last four characters; the hukou district as local or elsewhere (its code,
    the number's first six characters, to admins only). See `elder_schema_for`."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    age = ma.fields.Integer(metadata={"description": "today, in the district's zone"})
    id_number_masked = ma.fields.String(metadata={"description": MASK_DESCRIPTION})
    phone = ma.fields.String()
    address = ma.fields.String()
    community = ma.fields.String(attribute="community.code")
    hukou = ma.fields.Method(
        "dump_hukou",
        metadata={
            "type": "string",
            "enum": [h.value for h in Hukou],
            "description": "local (本区) when the elder's hukou district is the caller's "
            "district (an official's, a canteen's staff's) and so its policy pays for the "
            "elder's meals; elsewhere (外区) otherwise; for callers without a district "
            "(admins, family, elders) the district the elder lives in",
        },
    )
    hukou_district = ma.fields.String(
        metadata={"description": "admins only: the code is the ID number's first six characters"}
    )
    location = ma.fields.Nested(LocationSchema, allow_none=True)
    categories = ma.fields.List(ma.fields.String())
    ability_level = ma.fields.String()
    diet_notes = ma.fields.String(allow_none=True)
    allergies = ma.fields.List(ma.fields.String())
    diet_needs = ma.fields.List(
        ma.fields.String(), metadata={"items": {"enum": [n.value for n in DietNeed]}}
    )
    emergency_contact = ma.fields.Nested(
        EmergencyContactOut,
        allow_none=True,
        metadata={
            "description": "to the roles that follow an elder up (admin, official, manager) "
            "and to the elder's own accounts; never to cashiers or volunteers"
        },
    )
    status = ma.fields.String()
    status_since = ma.fields.Date(allow_none=True)
    consent = ma.fields.Method("dump_consent")

    def dump_hukou(self, elder) -> str:
        viewer = current_user()
        return elder.hukou_seen_from(viewer.district_code if viewer else None).value

    def dump_consent(self, elder) -> dict:
        return {
            "given_at": elder.consent_given_at.astimezone(UTC).isoformat(),
            "recorded_by": elder.consent_recorded_by,
        }


# Canteen staff see who the elder is and what the kitchen must know, not how to reach them.
STAFF_ELDER_FIELDS = (
    "id",
    "name",
    "age",
    "id_number_masked",
    "community",
    "hukou",
    "categories",
    "ability_level",
    "diet_notes",
    "allergies",
    "diet_needs",
    "status",
    "status_since",
)
# A manager follows up the canteen's welfare alerts, so also sees whom to call; a cashier
# or a volunteer serves the meal and has no call to make.
MANAGER_ELDER_FIELDS = (*STAFF_ELDER_FIELDS, "emergency_contact")

elder_admin_out = ElderOut()
elder_out = ElderOut(exclude=("hukou_district",))
elder_manager_out = ElderOut(only=MANAGER_ELDER_FIELDS)
elder_staff_out = ElderOut(only=STAFF_ELDER_FIELDS)


def elder_schema_for(user) -> ElderOut:
    """The one choice of what a role sees of an elder (PIPL art. 6, least data per role)."""
    if user is not None and user.role == ADMIN:
        return elder_admin_out
    if user is not None and user.role == MANAGER:
        return elder_manager_out
    if user is not None and user.role in CANTEEN_ROLES:
        return elder_staff_out
    return elder_out


def dump_elders(user, elders) -> list[dict]:
    return elder_schema_for(user).dump(elders, many=True)


ElderList = collection_schema(ElderOut, "ElderList")


class CardOut(ma.Schema):
    card_id = ma.fields.String(attribute="id")
    version = ma.fields.Integer(attribute="generation")
    qr_payload = ma.fields.String()
    qr_png_url = ma.fields.String()
    expires_on = ma.fields.Date()
    revoked_at = ma.fields.AwareDateTime(allow_none=True)
    revoke_reason = ma.fields.String(allow_none=True)


class RevokeIn(InputSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
