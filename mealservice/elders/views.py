import marshmallow as ma
from flask import Response, jsonify, request, url_for
from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.core.errors import ValidationFailed, flatten_messages
from mealservice.core.limits import body_limit
from mealservice.core.schemas import page_of_query
from mealservice.elders import cards, importing, services
from mealservice.elders.access import record_reads
from mealservice.elders.schemas import (
    CardOut,
    ElderImportIn,
    ElderImportOut,
    ElderIn,
    ElderList,
    ElderOut,
    ElderPatch,
    ElderQuery,
    RevokeIn,
    dump_elders,
)

blp = Blueprint("elders", __name__, url_prefix="/api/v1", description="The elder registry")


@blp.route("/elders")
class Elders(MethodView):
    @blp.requires("elders.read")
    @blp.arguments(ElderQuery, location="query")
    @blp.response(200, ElderList)
    def get(self, query):
        user = current_user()
        page = page_of_query(
            services.elders_query(
                user,
                community=query.get("community"),
                q=query.get("q"),
                phone_last4=query.get("phone_last4"),
            ),
            query["page"],
            query["per_page"],
        )
        record_reads(user, page["items"], "elder list (API)")
        return jsonify({"items": dump_elders(user, page["items"]), "next": page["next"]})

    @blp.requires("elders.write", 409)
    @blp.arguments(ElderIn)
    @blp.response(201, ElderOut)
    def post(self, data):
        user = current_user()
        return jsonify(dump_elders(user, [services.create_elder(user, data)])[0]), 201


@blp.post("/elders/import")
@blp.requires("elders.write")
@blp.doc(
    requestBody={"required": True, "content": {"multipart/form-data": {"schema": ElderImportIn}}}
)
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ElderImportOut)
@body_limit("IMPORT_MAX_REQUEST_BYTES")
def import_elders():
    """Register elders from an .xlsx workbook, each row on its own.

    A multipart form: `file`, the workbook, and `consent_confirmed=true`. The first sheet's
    first row names the columns, by the template's Chinese headers (姓名, 身份证号, 电话, 地址,
    社区编码, 类别, 能力等级, 户籍区划, 饮食/照护备注, 经度, 纬度) or by the field names of
    `POST /api/v1/elders`; categories are separated by commas, 、 or semicolons and may be
    written as codes or in Chinese (特困, 低保, 独居...), ability levels likewise (轻度失能...).

    **Consent.** The importer records each elder's consent as given at the time of the
    import and recorded by the importing user. By sending `consent_confirmed=true` the
    caller confirms that written consent was collected from every elder in the file;
    without it the request is refused (422 naming `consent_confirmed`) and nothing is read.

    Each row is checked exactly as `POST /api/v1/elders` checks a registration and is
    accepted or rejected on its own, in a savepoint of its own: a rejected row leaves
    nothing behind, accepted rows are kept. A number already registered, or repeated in
    the file, is rejected. The answer lists every row by its number in the sheet, with the
    masked ID number and, when rejected, the reasons per column; the full number is never
    shown. A file that cannot be imported at all (not an .xlsx, no sheet, missing columns,
    more than 5000 rows or 5 MB, unpacking to more than 20 MB) is a 422 naming `file`, and
    so is one whose import runs out of its time (20 s): then nothing is imported. A request
    larger than the file's limit is a 413 `payload_too_large`, before it is read. (The
    limits are the IMPORT_* settings; these are their defaults.)"""
    form = multipart_form(ElderImportIn())
    user = current_user()
    return importing.import_workbook(user, form["file"].stream, recorded_by=user.username)


def multipart_form(schema: ma.Schema) -> dict:
    """A form of fields and files together, which webargs reads only one at a time."""
    try:
        return schema.load({**request.form.to_dict(), **request.files.to_dict()})
    except ma.ValidationError as error:
        raise ValidationFailed(flatten_messages(error.messages)) from None


@blp.route("/elders/<id:elder_id>")
class ElderItem(MethodView):
    @blp.requires("elders.read", scope=services.get_elder)
    @blp.response(200, ElderOut)
    def get(self, elder_id):
        user = current_user()
        elder = services.get_elder(user, elder_id)
        record_reads(user, [elder], "elder record (API)")
        return jsonify(dump_elders(user, [elder])[0])

    @blp.requires("elders.write", scope=services.get_elder)
    @blp.arguments(ElderPatch)
    @blp.response(200, ElderOut)
    def patch(self, changes, elder_id):
        user = current_user()
        elder = services.update_elder(services.get_elder(user, elder_id), changes)
        return jsonify(dump_elders(user, [elder])[0])


def card_body(card) -> dict:
    return {
        "id": card.id,
        "generation": card.generation,
        "qr_payload": cards.payload_of(card),
        "qr_png_url": url_for("elders.card_qr_png", card_id=card.id),
        "expires_on": card.expires_on,
        "revoked_at": card.revoked_at,
        "revoke_reason": card.revoke_reason,
    }


@blp.route("/elders/<id:elder_id>/cards")
class ElderCards(MethodView):
    @blp.requires("cards.write", 409, scope=services.get_elder)
    @blp.response(201, CardOut)
    def post(self, elder_id):
        user = current_user()
        card = cards.issue_card(user.username, services.get_elder(user, elder_id))
        return card_body(card)


@blp.route("/cards/<card:card_id>/revoke")
class CardRevoke(MethodView):
    @blp.requires("cards.write", 409, scope=cards.get_card)
    @blp.arguments(RevokeIn)
    @blp.response(200, CardOut)
    def post(self, data, card_id):
        card = cards.revoke_card(cards.get_card(current_user(), card_id), data["reason"])
        return card_body(card)


@blp.get("/cards/<card:card_id>/qr.png")
@blp.requires("cards.read", scope=cards.get_card)
@blp.response(200, content_type="image/png", description="the card's QR code")
def card_qr_png(card_id):
    card = cards.get_card(current_user(), card_id)
    response = Response(cards.png_of(cards.payload_of(card)), mimetype="image/png")
    # A card image is personal: never kept by shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response
