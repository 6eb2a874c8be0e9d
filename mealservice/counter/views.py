import marshmallow as ma
from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.core.db import reads_first, start_writing
from mealservice.core.errors import ValidationFailed, flatten_messages
from mealservice.core.schemas import page_of_query
from mealservice.counter import services
from mealservice.counter.schemas import (
    CardListOut,
    DismissIn,
    OfflineRosterOut,
    RefusedScanIn,
    RefusedScanList,
    RefusedScanOut,
    RefusedScanQuery,
    RetriedScanOut,
    RetryIn,
    ShiftReportOut,
    ShiftReportQuery,
    TerminalCreatedOut,
    TerminalIn,
    TerminalOut,
    queued_scan_in,
)
from mealservice.places.services import get_canteen

blp = Blueprint(
    "counter",
    __name__,
    url_prefix="/api/v1",
    description="Counter terminals, the card list for offline checks, refused offline scans,"
    " end-of-shift reports",
)


@blp.route("/canteens/<id:canteen_id>/terminals")
class Terminals(MethodView):
    @blp.requires("terminals.read", scope=get_canteen)
    @blp.response(200, TerminalOut(many=True))
    def get(self, canteen_id):
        """The canteen's counter terminals, revoked ones included."""
        return services.canteen_terminals(get_canteen(current_user(), canteen_id))

    @blp.requires("terminals.manage", 409, 422, scope=get_canteen)
    @blp.arguments(TerminalIn)
    @blp.response(201, TerminalCreatedOut)
    def post(self, data, canteen_id):
        """Register a counter terminal; its token is in this answer and nowhere else."""
        user = current_user()
        terminal, token = services.register_terminal(
            user, get_canteen(user, canteen_id), data["name"]
        )
        # Carried to the answer only; the service keeps nothing but the token's hash.
        terminal.token = token
        return terminal


@blp.post("/terminals/<id:terminal_id>/revoke")
@blp.requires("terminals.manage", 409, scope=services.get_terminal)
@blp.response(200, TerminalOut)
def revoke_terminal(terminal_id):
    """Switch a lost or retired terminal off: its token and its sessions stop at once."""
    user = current_user()
    return services.revoke_terminal(user, services.get_terminal(user, terminal_id))


@blp.get("/canteens/<id:canteen_id>/card-list")
@blp.requires("cards.list", scope=get_canteen)
@blp.response(200, CardListOut)
def card_list(canteen_id):
    """Cards of the district's elders that no longer work (revoked, superseded, or their
    elder gone), for a terminal to refuse while offline: card ids and generations only."""
    return services.card_list(get_canteen(current_user(), canteen_id))


@blp.get("/canteens/<id:canteen_id>/offline-roster")
@blp.requires("cards.list", scope=get_canteen)
@blp.response(200, OfflineRosterOut)
def offline_roster(canteen_id):
    """What a terminal answers from while offline: the card-verifying public keys, today's
    menus here, the district's working cards with each elder's name and what they would
    pay (provisional), and today's meals here for the double-scan warning. Nothing
    personal beyond the name."""
    return services.offline_roster(get_canteen(current_user(), canteen_id))


@blp.route("/canteens/<id:canteen_id>/refused-scans")
class RefusedScans(MethodView):
    @blp.requires("meals.scan", 422, scope=get_canteen)
    @blp.arguments(RefusedScanIn)
    @blp.response(201, RefusedScanOut)
    @blp.alt_response(200, schema=RefusedScanOut, description="the same key reported again")
    def post(self, data, canteen_id):
        """Keep a scan this terminal queued offline that the service refused when it was
        sent, for a person to retry or dismiss. `scan` is the queued body exactly as it
        was sent (`scanned_at` required). The same `key` again answers 200 with the row
        already kept, unchanged."""
        user = current_user()
        refused, new = services.report_refused_scan(user, get_canteen(user, canteen_id), data)
        return refused, 201 if new else 200

    @blp.requires("meals.scan", 422, scope=get_canteen)
    @blp.arguments(RefusedScanQuery, location="query")
    @blp.response(200, RefusedScanList)
    def get(self, query, canteen_id):
        """The canteen's refused offline scans, newest scan first: `open` (default),
        `resolved` or `all`."""
        canteen = get_canteen(current_user(), canteen_id)
        found = services.refused_scans_query(canteen, query["status"])
        return page_of_query(found, query["page"], query["per_page"])


@blp.route("/refused-scans/<id:refused_scan_id>/retry")
class RetryRefusedScan(MethodView):
    @reads_first
    @blp.requires("meals.scan", 409, 422, scope=services.get_refused_scan)
    @blp.arguments(RetryIn)
    @blp.response(201, RetriedScanOut)
    def post(self, data, refused_scan_id):
        """Record a refused scan after all, as POST .../scans records it, with `slot` if
        given (else the slot it was queued with), as the caller; it is then closed as
        `retried` with its meal. Refused again: that refusal (status and code), and the
        scan stays open. Already resolved: 409 `scan_resolved`."""
        user = current_user()
        refused = services.get_refused_scan(user, refused_scan_id)
        try:
            # Read again as the scan endpoint reads a body.
            scan = queued_scan_in.load(refused.scan)
        except ma.ValidationError as error:
            raise ValidationFailed(flatten_messages(error.messages, "scan")) from None
        plan = services.plan_retry(user, refused, scan, data.get("slot"))
        # The reads are done: on SQLite the write lock is held only for the writes.
        start_writing()
        meal = services.record_retry(refused, plan)
        return {"refused_scan": refused, "meal": meal}


@blp.post("/refused-scans/<id:refused_scan_id>/dismiss")
@blp.requires("meals.scan", 409, 422, scope=services.get_refused_scan)
@blp.arguments(DismissIn)
@blp.response(200, RefusedScanOut)
def dismiss_refused_scan(data, refused_scan_id):
    """Close a refused scan with no meal recorded, saying why. Already resolved: 409
    `scan_resolved`."""
    user = current_user()
    refused = services.get_refused_scan(user, refused_scan_id)
    return services.dismiss_refused_scan(user, refused, data["reason"])


@blp.get("/canteens/<id:canteen_id>/shift-report")
@blp.requires("shift_reports.read", scope=get_canteen)
@blp.arguments(ShiftReportQuery, location="query")
@blp.response(200, ShiftReportOut)
def shift_report(query, canteen_id):
    """The end-of-shift report for a slot or a day, per cashier and for the canteen: meals,
    subsidies, money taken by payment method, top-ups, voids. A cashier gets their own."""
    user = current_user()
    canteen = get_canteen(user, canteen_id)
    day = query.get("date") or canteen.district.local_today()
    return services.shift_report(user, canteen, day, query.get("slot"), query.get("cashier"))
