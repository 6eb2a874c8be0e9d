from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.counter import services
from mealservice.counter.schemas import (
    CardListOut,
    ShiftReportOut,
    ShiftReportQuery,
    TerminalCreatedOut,
    TerminalIn,
    TerminalOut,
)
from mealservice.places.services import get_canteen

blp = Blueprint(
    "counter",
    __name__,
    url_prefix="/api/v1",
    description="Counter terminals, the card list for offline checks, end-of-shift reports",
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
