import marshmallow as ma

from mealservice.core.idempotency import KEY_PATTERN
from mealservice.core.schemas import InputSchema, PageQuery, UtcDateTime, collection_schema
from mealservice.counter.models import REFUSED_SCAN_STATUSES, Resolution
from mealservice.meals.schemas import SLOTS, MealOut, ScanIn


class TerminalIn(InputSchema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "what the staff call it, e.g. 'counter 1'"},
    )


class TerminalOut(ma.Schema):
    id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    name = ma.fields.String()
    username = ma.fields.String(attribute="user.username")
    registered_by = ma.fields.String()
    registered_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)
    revoked_by = ma.fields.String(allow_none=True)
    token_expires_at = ma.fields.Method("dump_token_expiry", allow_none=True)

    def dump_token_expiry(self, terminal):
        live = [token.expires_at for token in terminal.user.tokens if token.revoked_at is None]
        return UtcDateTime()._serialize(max(live), None, None) if live else None


class TerminalCreatedOut(TerminalOut):
    token = ma.fields.String(metadata={"description": "the bearer token, shown this once"})


class CardEntry(ma.Schema):
    card_id = ma.fields.String()
    generation = ma.fields.Integer()


class CardListOut(ma.Schema):
    as_of = UtcDateTime()
    revoked = ma.fields.List(ma.fields.Nested(CardEntry))
    superseded = ma.fields.List(ma.fields.Nested(CardEntry))
    inactive = ma.fields.List(
        ma.fields.Nested(CardEntry),
        metadata={"description": "cards of elders deceased or moved away as of today"},
    )


class RosterKey(ma.Schema):
    key_id = ma.fields.Integer()
    public_key = ma.fields.String(
        metadata={"description": "the Ed25519 public key's raw 32 bytes, base64url, unpadded"}
    )


class RosterMenu(ma.Schema):
    menu_id = ma.fields.Integer()
    option_id = ma.fields.Integer()
    option_name = ma.fields.String()
    price_fen = ma.fields.Integer()


class RosterElder(ma.Schema):
    card_id = ma.fields.String()
    generation = ma.fields.Integer()
    elder_id = ma.fields.Integer()
    name = ma.fields.String()
    pays_fen = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(SLOTS)),
        values=ma.fields.Integer(),
        metadata={
            "description": "by slot of today's menus: what the elder pays for its first"
            " option as the slot's first meal (provisional: no limits counted)"
        },
    )


class RosterMeal(ma.Schema):
    elder_id = ma.fields.Integer()
    slot = ma.fields.String()
    served_at = UtcDateTime()


class OfflineRosterOut(ma.Schema):
    as_of = UtcDateTime()
    date = ma.fields.Date(metadata={"description": "the district's local today"})
    keys = ma.fields.List(ma.fields.Nested(RosterKey))
    menus = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(SLOTS)),
        values=ma.fields.Nested(RosterMenu),
        metadata={"description": "today's published menus here, by slot, with the first option"},
    )
    elders = ma.fields.List(
        ma.fields.Nested(RosterElder),
        metadata={"description": "every working card of the district's active elders"},
    )
    served = ma.fields.List(
        ma.fields.Nested(RosterMeal), metadata={"description": "today's meals here, not voided"}
    )


class ShiftReportQuery(InputSchema):
    date = ma.fields.Date(metadata={"description": "the local date; default today"})
    slot = ma.fields.String(validate=ma.validate.OneOf(SLOTS))
    cashier = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "a username; a cashier always gets their own"},
    )


def _figures(schema_name: str, *names: str) -> type[ma.Schema]:
    return ma.Schema.from_dict({name: ma.fields.Integer() for name in names}, name=schema_name)


class CashierRow(ma.Schema):
    cashier = ma.fields.String()
    meals = ma.fields.Integer()
    subsidy_fen = ma.fields.Integer()
    cash_fen = ma.fields.Integer()
    e_payment_fen = ma.fields.Integer()
    balance_fen = ma.fields.Integer()
    top_ups_fen = ma.fields.Integer()
    voids = ma.fields.Integer()


class NotAtCounterRow(CashierRow):
    """No one cashier: the names the meals and money were recorded under instead."""

    class Meta:
        exclude = ("cashier",)

    recorded_by = ma.fields.List(ma.fields.String())


class ShiftReportOut(ma.Schema):
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    date = ma.fields.Date()
    slot = ma.fields.String(allow_none=True)
    cashier = ma.fields.String(allow_none=True)
    meals = ma.fields.Integer(metadata={"description": "meals not voided"})
    conflicts = ma.fields.Integer()
    price_fen = ma.fields.Integer()
    delivery_fee_fen = ma.fields.Integer()
    subsidy_fen = ma.fields.Integer()
    delivery_subsidy_fen = ma.fields.Integer()
    elder_pays_fen = ma.fields.Integer(
        metadata={"description": "price + delivery fee - subsidy - delivery subsidy"}
    )
    taken = ma.fields.Nested(_figures("TakenFigures", "cash", "e_payment", "balance"))
    top_ups = ma.fields.Nested(_figures("TopUpFigures", "count", "cash", "e_payment"))
    payouts = ma.fields.Nested(
        _figures("PayoutFigures", "count", "cash", "e_payment"),
        metadata={"description": "deceased elders' balances paid out to their families"},
    )
    voids = ma.fields.Nested(_figures("VoidFigures", "count", "elder_pays_fen"))
    till = ma.fields.Nested(
        _figures("TillFigures", "cash", "e_payment"),
        metadata={"description": "meals and top-ups less payouts, to count the till against"},
    )
    cashiers = ma.fields.List(
        ma.fields.Nested(CashierRow),
        metadata={"description": "the people who served at the counter (accounts)"},
    )
    not_at_counter = ma.fields.Nested(
        NotAtCounterRow,
        allow_none=True,
        metadata={
            "description": "meals delivered, and meals or money recorded by a system actor "
            "(a delivery platform, the demo loader, a scheduled job), added up in one row; "
            "with the cashiers' rows it makes the totals"
        },
    )


# Queued offline scans the service refused


class QueuedScanIn(ScanIn):
    """A scan a terminal queued while offline: the body of POST .../scans, `scanned_at`
    required."""

    scanned_at = ma.fields.AwareDateTime(
        required=True, metadata={"description": "when the terminal scanned it, offline"}
    )


class QueuedScan(ma.fields.Nested):
    """The queued body, checked as POST .../scans checks it and kept exactly as sent, to
    be sent again as it was when a person retries it."""

    def _deserialize(self, value, attr, data, **kwargs):
        super()._deserialize(value, attr, data, **kwargs)
        return value


class ScanErrorIn(InputSchema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "the refusal's error code, e.g. card_invalid, month_closed"},
    )
    message = ma.fields.String(validate=ma.validate.Length(max=500))


class RefusedScanIn(InputSchema):
    key = ma.fields.String(
        required=True,
        validate=[
            ma.validate.Length(max=64),
            ma.validate.Regexp(KEY_PATTERN, error="Use 1 to 64 visible ASCII characters."),
        ],
        metadata={"description": "the queued scan's Idempotency-Key; a second report is one"},
    )
    label = ma.fields.String(
        validate=ma.validate.Length(min=1, max=80),
        metadata={"description": "what the page showed for it: the elder's name, or the card"},
    )
    scan = QueuedScan(QueuedScanIn, required=True)
    error = ma.fields.Nested(ScanErrorIn, required=True)

    @ma.post_load
    def when_scanned(self, data, **kwargs):
        data["scanned_at"] = QueuedScanIn().load(data["scan"])["scanned_at"]
        return data


class RefusedScanQuery(PageQuery):
    status = ma.fields.String(
        load_default="open", validate=ma.validate.OneOf(REFUSED_SCAN_STATUSES)
    )


class RetryIn(InputSchema):
    slot = ma.fields.String(
        validate=ma.validate.OneOf(SLOTS),
        metadata={"description": "the meal it was; default the slot it was queued with"},
    )


class DismissIn(InputSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class RefusedScanOut(ma.Schema):
    id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    key = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    scanned_at = UtcDateTime()
    slot = ma.fields.String(allow_none=True, metadata={"description": "the queued scan's"})
    error_code = ma.fields.String()
    error_message = ma.fields.String(allow_none=True)
    reported_by = ma.fields.String()
    reported_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)
    resolved_by = ma.fields.String(allow_none=True)
    resolution = ma.fields.String(
        allow_none=True, validate=ma.validate.OneOf([r.value for r in Resolution])
    )
    resolution_reason = ma.fields.String(allow_none=True)
    meal_id = ma.fields.Integer(allow_none=True)


RefusedScanList = collection_schema(RefusedScanOut, "RefusedScanList")


class RetriedScanOut(ma.Schema):
    refused_scan = ma.fields.Nested(RefusedScanOut)
    meal = ma.fields.Nested(MealOut, metadata={"description": "as POST .../scans answers"})


queued_scan_in = QueuedScanIn()
